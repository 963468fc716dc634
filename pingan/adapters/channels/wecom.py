"""WeCom (企业微信) group robot, spoken to directly with httpx.

Not apprise's ``wecombot://``: it reports success on any HTTP 200 whatever the ``errcode``,
sends text only and ignores the size limits.

- The target address is a secret reference resolving to the robot key, or to the full
  webhook URL (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``) from which the
  key is taken; requests always go to ``base_url`` (a test server, or a forward proxy).
- ``message.markdown`` is sent as ``markdown`` (≤ 4096 bytes a part), else ``body`` as
  ``text`` (≤ 2048 bytes a part). Long texts go as numbered parts, one POST each.
- Mentions are by mobile and ping once per message, on the last POST, so the ping arrives
  when everything is in the group. Markdown cannot @ by mobile, so with mentions a short
  text message carrying ``mentioned_mobile_list`` follows the markdown parts.
- A failure on part k raises with the part in the detail; the outbox retries the whole
  message, so parts already delivered may appear once more. Parts count against the
  robot's 20-messages-a-minute budget: ``parts(message)`` tells the dispatcher up front.
"""

from __future__ import annotations

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
from pingan.adapters.channels.split import split_text, truncate_bytes
from pingan.adapters.secrets import SecretResolver, quiet_http_loggers

WECOM_BASE_URL: Final = "https://qyapi.weixin.qq.com"
TEXT_LIMIT: Final = 2048
MARKDOWN_LIMIT: Final = 4096
# errcode → seconds to wait. 45009: over 20 messages a minute; -1: "系统繁忙".
RETRYABLE_ERRCODES: Final[dict[int, float | None]] = {45009: 60.0, -1: None}
PERMANENT_HINTS: Final[dict[int, str]] = {
    93000: "机器人 key 无效或机器人已被移出群聊",
    40058: "消息内容过长",
    44004: "消息内容为空",
}


def wecom_payloads(message: Message) -> list[dict[str, Any]]:
    """The JSON bodies ``send`` would POST for ``message``, in order (pure)."""
    mobiles = list(message.mentions)
    if message.markdown is not None:
        payloads: list[dict[str, Any]] = [
            {"msgtype": "markdown", "markdown": {"content": part}}
            for part in split_text(message.markdown, MARKDOWN_LIMIT)
        ]
        if mobiles:
            notice = truncate_bytes(f"请查看上方消息：{message.subject}", TEXT_LIMIT)
            payloads.append(
                {"msgtype": "text", "text": {"content": notice, "mentioned_mobile_list": mobiles}}
            )
        return payloads
    parts = split_text(message.body, TEXT_LIMIT)
    payloads = [{"msgtype": "text", "text": {"content": part}} for part in parts]
    if mobiles:
        payloads[-1]["text"]["mentioned_mobile_list"] = mobiles
    return payloads


def parse_key(resolved: str) -> str:
    """The robot key from a bare key or a full webhook URL."""
    value = resolved.strip()
    if "://" in value:
        key = _http.query_param(value, "key")
        if not key:
            raise DeliveryError("企业微信机器人地址中没有 key 参数", False, "config")
        return key
    return value


class WeComRobot:
    name: ChannelName = "wecom"
    markups: tuple[str, ...] = ("markdown",)  # what it renders besides the plain body

    def __init__(
        self,
        resolver: SecretResolver,
        base_url: str = WECOM_BASE_URL,
        client: httpx.Client | None = None,
        timeout: float = 10,
    ) -> None:
        quiet_http_loggers()
        self._resolver = resolver
        self._url = base_url.rstrip("/") + "/cgi-bin/webhook/send"
        self._timeout = timeout
        self._client, self._owns_client = _http.make_client(client, timeout)

    def __repr__(self) -> str:
        return f"WeComRobot({self._url})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def parts(self, target: Target, message: Message) -> int:
        return len(wecom_payloads(message))

    def endpoint(self, target: Target) -> str:
        identity = _http.identity_or_address(
            lambda: parse_key(self._resolver.resolve(target.address)), target
        )
        return _http.endpoint_key(self.name, identity)

    def send(self, target: Target, message: Message) -> Receipt:
        resolved = _http.resolve(self._resolver, target)
        key = parse_key(resolved)
        secrets = (key, resolved)
        payloads = wecom_payloads(message)
        n = len(payloads)
        for k, payload in enumerate(payloads, 1):
            what = _http.part_label("企业微信", k, n)
            response = _http.post_json(
                self._client,
                self._url,
                payload,
                params={"key": key},
                timeout=self._timeout,
                secrets=secrets,
                what=what,
            )
            errcode, errmsg = _http.errcode_reply(response, secrets=secrets, what=what)
            if errcode != 0:
                raise _errcode_error(errcode, errmsg, what)
        return Receipt(parts=n, info={"msgtype": str(payloads[0]["msgtype"])})


def _errcode_error(errcode: int, errmsg: str, what: str) -> DeliveryError:
    hint = PERMANENT_HINTS.get(errcode, "")
    if errcode == 45009:
        hint = "发送过于频繁（每个机器人每分钟最多 20 条）"
    detail = f"{what}：errcode {errcode}" + (f" {hint}" if hint else "") + f"（{errmsg}）"
    retryable = errcode in RETRYABLE_ERRCODES
    return DeliveryError(
        detail,
        retryable,
        f"errcode:{errcode}",
        RETRYABLE_ERRCODES.get(errcode) if retryable else None,
    )
