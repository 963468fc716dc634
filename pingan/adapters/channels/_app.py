"""What the WeCom app and DingTalk work-notice channels share: fetching an access token and
posting with it, refreshing it once when the vendor says it is invalid or expired.

Secrets (the app secret, the token) are masked out of every error text; no httpx exception
rides along as ``__context__`` (errors are raised outside the ``except`` blocks).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from pingan.adapters.channels import _http
from pingan.adapters.channels._token import TokenCache
from pingan.adapters.channels.base import DeliveryError, Message, Target
from pingan.adapters.secrets import SecretResolver, quiet_http_loggers


@dataclass(frozen=True)
class Reply:
    errcode: int
    errmsg: str
    data: dict[str, Any]


def get_json(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str],
    *,
    timeout: float,
    secrets: Sequence[str | None],
    what: str,
) -> Reply:
    """GET ``url``; transport failures and non-2xx become DeliveryError, like post_json."""
    error: DeliveryError | None = None
    try:
        response = client.get(url, params=params, timeout=timeout)
    except httpx.TimeoutException:
        error = DeliveryError(f"{what}：请求超时（{timeout:g} 秒）", True, "timeout")
    except httpx.TransportError as exc:
        error = DeliveryError(f"{what}：网络错误（{type(exc).__name__}）", True, "network")
    if error is not None:
        raise error
    status_error = _http.http_status_error(response, secrets=secrets, what=what)
    if status_error is not None:
        raise status_error
    return _reply(response, secrets, what)


def _reply(response: httpx.Response, secrets: Sequence[str | None], what: str) -> Reply:
    errcode, errmsg = _http.errcode_reply(response, secrets=secrets, what=what)
    data = response.json()
    return Reply(errcode, errmsg, data if isinstance(data, dict) else {})


def fetch_token(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str],
    *,
    timeout: float,
    secrets: Sequence[str | None],
    what: str,
    retryable: Collection[int],
) -> tuple[str, float]:
    """(access_token, expires_in) from a gettoken endpoint."""
    reply = get_json(client, url, params, timeout=timeout, secrets=secrets, what=what)
    token = reply.data.get("access_token")
    if reply.errcode != 0 or not isinstance(token, str) or not token:
        detail = f"{what}：获取 access_token 失败，errcode {reply.errcode}（{reply.errmsg}）"
        # A wrong corpid/appkey or secret is a configuration fault: permanent.
        raise DeliveryError(detail, reply.errcode in retryable, f"errcode:{reply.errcode}")
    expires = reply.data.get("expires_in")
    return token, float(expires) if isinstance(expires, int | float) and expires > 0 else 7200.0


def post_with_token(
    client: httpx.Client,
    url: str,
    payload: Mapping[str, Any],
    tokens: TokenCache,
    *,
    refresh: Collection[int],
    timeout: float,
    secrets: Sequence[str | None],
    what: str,
) -> Reply:
    """POST with the cached token; on a ``refresh`` errcode, fetch a new token and POST once
    more. The reply is returned whatever its errcode; the caller maps it."""
    reply: Reply | None = None
    for _ in range(2):
        token = tokens.get()
        masked = (*secrets, token)
        response = _http.post_json(
            client,
            url,
            payload,
            params={"access_token": token},
            timeout=timeout,
            secrets=masked,
            what=what,
        )
        reply = _reply(response, masked, what)
        if reply.errcode not in refresh:
            return reply
        tokens.invalidate(token)
    assert reply is not None
    return reply


class AppChannel:
    """What the app-message channels (WeCom app messages, DingTalk work notices) share: a
    send URL and a token URL under the vendor's base URL, an HTTP client they may own, a
    cached access token, and one message per send."""

    SEND_PATH: str
    TOKEN_PATH: str

    def __init__(
        self,
        resolver: SecretResolver,
        base_url: str,
        client: httpx.Client | None = None,
        timeout: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        quiet_http_loggers()
        self._resolver = resolver
        base = base_url.rstrip("/")
        self._send_url = base + self.SEND_PATH
        self._token_url = base + self.TOKEN_PATH
        self._timeout = timeout
        self._client, self._owns_client = _http.make_client(client, timeout)
        self.tokens = TokenCache(self._fetch_token, clock)

    def _fetch_token(self) -> tuple[str, float]:
        raise NotImplementedError

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def release(self) -> None:
        """End of a dispatch run: close our connection pool (a fresh one serves the next
        run); the cached token is kept."""
        if self._owns_client:
            self._client.close()
            self._client = httpx.Client(timeout=self._timeout, follow_redirects=False)

    def parts(self, target: Target, message: Message) -> int:
        return 1
