"""DingTalk (钉钉) custom group robot, spoken to directly with httpx.

Not apprise's ``dingtalk://``: it reports success on any HTTP 200 whatever the ``errcode``
and URL-encodes the signature twice, which DingTalk rejects.

- The target address is a secret reference resolving to ``TOKEN`` or, for a robot with
  "加签" security, ``TOKEN|SECRET``. A full webhook URL may stand in for ``TOKEN``
  (``https://oapi.dingtalk.com/robot/send?access_token=…`` or ``URL|SECRET``); only its
  ``access_token`` is used and requests always go to ``base_url``.
- Signing: ``timestamp`` is epoch milliseconds and ``sign`` is
  base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-encoded exactly once
  (by httpx, as a query parameter). Each POST is signed afresh: DingTalk refuses a
  timestamp more than an hour old.
- ``message.markdown`` is sent as ``markdown`` (title = subject), else ``body`` as ``text``;
  each part ≤ 4000 bytes (the documented limit is ~20000, but phones render long messages
  poorly). Mentions ping once, on the last part; in markdown the ``@mobile`` must also
  appear in the text, so it is appended there.
- A robot with "自定义关键词" security rejects (310000) a message without the keyword:
  put the keyword in the templates, not here.
- A failure on part k raises with the part in the detail; the outbox retries the whole
  message, so parts already delivered may appear once more. ``parts(message)`` tells the
  dispatcher how much of the 20-a-minute budget a message takes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, Final

import httpx

from pingan.adapters.channels import _http
from pingan.adapters.channels.base import (
    ChannelName,
    DeliveryError,
    Message,
    Receipt,
    Target,
)
from pingan.adapters.channels.split import split_text, utf8_len
from pingan.adapters.secrets import SecretResolver, quiet_http_loggers

DINGTALK_BASE_URL: Final = "https://oapi.dingtalk.com"
PART_LIMIT: Final = 4000
# errcode → seconds to wait. 130101: over 20 a minute, and DingTalk then throttles the
# robot for 10 minutes; -1: "系统繁忙".
RETRYABLE_ERRCODES: Final[dict[int, float | None]] = {130101: 600.0, -1: None}
HINTS: Final[dict[int, str]] = {
    130101: "发送过于频繁（每个机器人每分钟最多 20 条，超出后限流 10 分钟）",
    310000: "安全设置校验失败（关键词、加签或 IP 白名单）",
    300001: "access_token 无效",
    400013: "机器人不存在或已被移出群聊",
}


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature, base64 but not yet URL-encoded (httpx encodes it once)."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_credentials(resolved: str) -> tuple[str, str | None]:
    """(access_token, secret or None) from ``TOKEN``, ``TOKEN|SECRET``, ``URL``, ``URL|SECRET``."""
    value, _, secret = resolved.strip().partition("|")
    value, secret = value.strip(), secret.strip()
    if "://" in value:
        token = _http.query_param(value, "access_token")
        if not token:
            raise DeliveryError("钉钉机器人地址中没有 access_token 参数", False, "config")
        value = token
    if not value:
        raise DeliveryError("钉钉机器人 access_token 为空", False, "config")
    return value, secret or None


def dingtalk_payloads(message: Message) -> list[dict[str, Any]]:
    """The JSON bodies ``send`` would POST for ``message``, in order (pure)."""
    mobiles = list(message.mentions)
    if message.markdown is not None:
        suffix = ("\n\n" + " ".join(f"@{m}" for m in mobiles)) if mobiles else ""
        parts = split_text(message.markdown, PART_LIMIT - utf8_len(suffix))
        payloads: list[dict[str, Any]] = [
            {
                "msgtype": "markdown",
                "markdown": {"title": message.subject, "text": p},
                "at": _at([]),
            }
            for p in parts
        ]
        if mobiles:
            last = payloads[-1]
            last["markdown"]["text"] += suffix
            last["at"] = _at(mobiles)
        return payloads
    payloads = [
        {"msgtype": "text", "text": {"content": p}, "at": _at([])}
        for p in split_text(message.body, PART_LIMIT)
    ]
    if mobiles:
        payloads[-1]["at"] = _at(mobiles)
    return payloads


def _at(mobiles: list[str]) -> dict[str, Any]:
    return {"atMobiles": mobiles, "isAtAll": False}


class DingTalkRobot:
    name: ChannelName = "dingtalk"
    markups: tuple[str, ...] = ("markdown",)  # what it renders besides the plain body

    def __init__(
        self,
        resolver: SecretResolver,
        base_url: str = DINGTALK_BASE_URL,
        client: httpx.Client | None = None,
        timeout: float = 10,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        quiet_http_loggers()
        self._resolver = resolver
        self._url = base_url.rstrip("/") + "/robot/send"
        self._timeout = timeout
        self._clock_ms = clock_ms
        self._client, self._owns_client = _http.make_client(client, timeout)

    def __repr__(self) -> str:
        return f"DingTalkRobot({self._url})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def parts(self, target: Target, message: Message) -> int:
        return len(dingtalk_payloads(message))

    def endpoint(self, target: Target) -> str:
        # The token alone: the same robot with or without its signing secret is one
        # rate-limit bucket.
        identity = _http.identity_or_address(
            lambda: parse_credentials(self._resolver.resolve(target.address))[0], target
        )
        return _http.endpoint_key(self.name, identity)

    def send(self, target: Target, message: Message) -> Receipt:
        resolved = _http.resolve(self._resolver, target)
        token, secret = parse_credentials(resolved)
        payloads = dingtalk_payloads(message)
        n = len(payloads)
        for k, payload in enumerate(payloads, 1):
            what = _http.part_label("钉钉", k, n)
            params = {"access_token": token}
            signature = None
            if secret is not None:
                timestamp = self._clock_ms()
                signature = sign(secret, timestamp)
                params |= {"timestamp": str(timestamp), "sign": signature}
            secrets = (token, secret, signature, resolved)
            response = _http.post_json(
                self._client,
                self._url,
                payload,
                params=params,
                timeout=self._timeout,
                secrets=secrets,
                what=what,
            )
            errcode, errmsg = _http.errcode_reply(response, secrets=secrets, what=what)
            if errcode != 0:
                raise _errcode_error(errcode, errmsg, what)
        return Receipt(parts=n, info={"msgtype": str(payloads[0]["msgtype"])})


def _errcode_error(errcode: int, errmsg: str, what: str) -> DeliveryError:
    hint = HINTS.get(errcode, "")
    detail = f"{what}：errcode {errcode}" + (f" {hint}" if hint else "") + f"（{errmsg}）"
    retryable = errcode in RETRYABLE_ERRCODES
    return DeliveryError(
        detail,
        retryable,
        f"errcode:{errcode}",
        RETRYABLE_ERRCODES.get(errcode) if retryable else None,
    )
