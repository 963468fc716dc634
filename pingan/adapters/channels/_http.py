"""HTTP plumbing shared by the robot and webhook channels: one POST, mapped to DeliveryError.

Every error built here has its detail masked (``masked_snippet``: mask, then cut) and is
raised outside the ``except`` block, so no httpx exception (whose request carries the keyed
URL) rides along as ``__context__`` into a traceback.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from pingan.adapters.channels.base import DeliveryError, Target
from pingan.adapters.redaction import masked_snippet
from pingan.adapters.secrets import SecretResolver

# Characters of a receiver's reply kept in an error, counted after its secrets are masked.
SNIPPET_CHARS = 200


def endpoint_key(name: str, identity: str) -> str:
    """``name:`` + 16 hex digits of sha256: stable per robot, useless to an attacker."""
    return f"{name}:{hashlib.sha256(identity.encode('utf-8')).hexdigest()[:16]}"


def resolve(resolver: SecretResolver, target: Target) -> str:
    missing: str | None = None
    failure: str | None = None
    try:
        return resolver.resolve(target.address)
    except KeyError as exc:
        missing = str(exc.args[0]) if exc.args else f"未找到密钥引用 {target.address}"
    except Exception as exc:  # a remote store (Prefect Secret blocks) may be unreachable
        failure = type(exc).__name__
    if missing is not None:
        # Permanent: retrying cannot create a missing secret; an operator fixes the
        # environment and re-queues the dead rows.
        raise DeliveryError(missing, False, "secret:missing")
    raise DeliveryError(f"读取密钥引用 {target.address} 失败（{failure}）", True, "secret:error")


def identity_or_address(resolve_identity: Callable[[], str], target: Target) -> str:
    """What ``endpoint`` hashes: the robot's identity, or the reference if it won't resolve
    (the send itself will then fail and say why; the rate-limit key just has to be stable)."""
    try:
        return resolve_identity()
    except Exception:
        return target.address


def query_param(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


@lru_cache(maxsize=256)
def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a webhook URL that may be credentials, for ``redact``.

    Whole URL, password, every query value, and long path segments (Slack-style hooks put
    the token in the path). Short values are left out: redacting "1" would shred the text.
    Kept per URL, in this process's memory as the resolver keeps the URL itself: a
    dispatcher computes it for every send, between two posts.
    """
    parts = urlsplit(url)
    found = [url]
    if parts.password:
        found.append(parts.password)
    found += [v for values in parse_qs(parts.query).values() for v in values if len(v) >= 6]
    found += [seg for seg in parts.path.split("/") if len(seg) >= 16]
    return tuple(found)


def make_client(client: httpx.Client | None, timeout: float) -> tuple[httpx.Client, bool]:
    """(client, owned): a caller's client is shared and never closed by us."""
    if client is not None:
        return client, False
    return httpx.Client(timeout=timeout, follow_redirects=False), True


def post_json(
    client: httpx.Client,
    url: str,
    payload: Mapping[str, Any],
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    secrets: Sequence[str | None],
    what: str,
) -> httpx.Response:
    """POST ``payload`` as UTF-8 JSON; transport failures and non-2xx become DeliveryError.

    ``what`` prefixes every detail (e.g. "企业微信第 2/5 段") so a failure says where it was.
    """
    # ensure_ascii=False: the robots count bytes of the UTF-8 text, and \\u escapes would
    # triple the size of Chinese text on the wire for no gain.
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    send_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    error: DeliveryError | None = None
    try:
        response = client.post(
            url, content=body, params=params, headers=send_headers, timeout=timeout
        )
    except httpx.TimeoutException:
        error = DeliveryError(f"{what}：请求超时（{timeout:g} 秒）", True, "timeout")
    except httpx.TransportError as exc:
        # The class name says enough (ConnectError, RemoteProtocolError …); the message
        # may quote the URL.
        error = DeliveryError(f"{what}：网络错误（{type(exc).__name__}）", True, "network")
    if error is not None:
        raise error
    status_error = http_status_error(response, secrets=secrets, what=what)
    if status_error is not None:
        raise status_error
    return response


def http_status_error(
    response: httpx.Response, *, secrets: Sequence[str | None], what: str
) -> DeliveryError | None:
    status = response.status_code
    if 200 <= status < 300:
        return None
    snippet = masked_snippet(response.text, secrets, SNIPPET_CHARS)
    detail = f"{what}：HTTP {status}" + (f"（{snippet}）" if snippet else "")
    if status == 429:
        return DeliveryError(detail, True, "http:429", retry_after(response))
    if status >= 500:
        return DeliveryError(detail, True, f"http:{status}", retry_after(response))
    # 3xx too: we never follow redirects with a keyed URL, and a redirect means the base
    # URL is wrong — a configuration fault that retrying will not fix.
    return DeliveryError(detail, False, f"http:{status}")


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date = response.headers.get("Date")
    try:
        now = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        now = None
    if now is None:
        return None
    return max(0.0, (when - now).total_seconds())


def errcode_reply(
    response: httpx.Response, *, secrets: Sequence[str | None], what: str
) -> tuple[int, str]:
    """(errcode, errmsg) from a robot's JSON reply; DeliveryError if it is not one."""
    try:
        data = response.json()
    except ValueError:
        data = None
    reply: dict[str, Any] = data if isinstance(data, dict) else {}
    code = reply.get("errcode")
    if (
        isinstance(code, bool)
        or not isinstance(code, int | str)
        or not str(code).lstrip("-").isdigit()
    ):
        # A 200 without an errcode is a proxy or captive portal, not the robot: retry,
        # and let the outbox's attempt limit turn a persistent one into dead.
        snippet = masked_snippet(response.text, secrets, SNIPPET_CHARS)
        raise DeliveryError(f"{what}：应答不是机器人接口的 JSON（{snippet}）", True, "bad-reply")
    return int(code), masked_snippet(str(reply.get("errmsg", "")), secrets, SNIPPET_CHARS)


def part_label(channel: str, k: int, n: int) -> str:
    if n == 1:
        return channel
    label = f"{channel}第 {k}/{n} 段"
    if k > 1:
        label += f"（前 {k - 1} 段已送达，重试会重发全部 {n} 段）"
    return label
