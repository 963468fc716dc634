"""WeCom (企业微信) app messages: ``cgi-bin/message/send`` to one member's userid.

- The access token comes from ``cgi-bin/gettoken`` (corpid + corpsecret, the secret by
  reference) and is cached until shortly before it expires; on 40014 / 42001 / 40001 (invalid
  or expired token) it is fetched afresh and the message posted once more.
- With a personal link (``message.action_url``) the message is a ``textcard``: title =
  subject, description = the body's lines as escaped HTML (the card renders ``<div>``),
  url = the link, button = ``action_label`` or "立即报送". Without one it is ``text``, the
  subject and body escaped (text renders ``<a href>``).
- ``enable_duplicate_check`` drops a repeat of the same JSON within 30 minutes, so a retry
  after a lost reply does not reach the member twice.
- Retryable: 45009 (over the API quota), 45033 (too many concurrent calls), -1 (busy),
  HTTP 5xx / 429 and network errors. Everything else is permanent, e.g. 81013 (the userid
  is not a member or outside the app's visible range), 60111 (userid not found),
  40003 (invalid userid); a userid echoed in ``invaliduser`` / ``unlicenseduser`` too.
- Rate limits per member: 30 a minute and 1000 an hour ("每应用对同一个成员不可超过30次/分钟，
  1000次/小时，超过部分会被丢弃不下发").
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any, Final

import httpx

from pingan.adapters.channels import _app, _http
from pingan.adapters.channels.base import ChannelName, DeliveryError, Message, Receipt, Target
from pingan.adapters.channels.limits import RateLimit, per_window
from pingan.adapters.channels.split import truncate_bytes
from pingan.adapters.secrets import SecretResolver
from pingan.core.campaign.channels import WeComAppConfig
from pingan.core.markup import plain

ACTION_LABEL: Final = "立即报送"
TITLE_LIMIT: Final = 128  # bytes
DESCRIPTION_LIMIT: Final = 512
TEXT_LIMIT: Final = 2048
TOKEN_ERRCODES: Final = frozenset({40014, 42001, 40001})
RETRYABLE: Final[dict[int, float | None]] = {45009: 60.0, 45033: 5.0, -1: None}
HINTS: Final[dict[int, str]] = {
    81013: "成员不存在、不在应用可见范围内或无权限",
    60111: "成员 userid 不存在",
    40003: "成员 userid 无效",
    40056: "agentid 无效",
    45009: "接口调用超过频率限制",
    45033: "接口并发调用超过限制",
    -1: "系统繁忙",
}
# One member: never "@all" (every member of the app) nor a "|"-separated list.
_USERID: Final = re.compile(r"[A-Za-z0-9_.-][A-Za-z0-9_.@-]{0,63}")


def wecom_app_payload(message: Message, userid: str, agentid: int) -> dict[str, Any]:
    """The JSON ``send`` posts (pure)."""
    base: dict[str, Any] = {
        "touser": userid,
        "agentid": agentid,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 1800,
    }
    if message.action_url:
        card = {
            "title": truncate_bytes(plain(message.subject), TITLE_LIMIT),
            "description": card_description(message.body),
            "url": message.action_url,
            "btntxt": truncate_bytes(plain(message.action_label or ACTION_LABEL), 12),
        }
        return base | {"msgtype": "textcard", "textcard": card}
    # A text has no title: the subject leads, as a card's title would.
    text = f"{plain(message.subject)}\n{message.body}"
    content = truncate_bytes(html.escape(text, quote=False), TEXT_LIMIT)
    return base | {"msgtype": "text", "text": {"content": content}}


def card_description(body: str) -> str:
    """The body's lines as escaped ``<div>``s, whole lines only, within 512 bytes."""
    out = ""
    for line in filter(None, (plain(x) for x in body.splitlines())):
        div = f'<div class="normal">{html.escape(line, quote=False)}</div>'
        if len((out + div).encode("utf-8")) > DESCRIPTION_LIMIT:
            if not out:  # one very long line: cut it (unescaped, so no entity is split)
                cut = truncate_bytes(line, DESCRIPTION_LIMIT // 2)
                out = f'<div class="normal">{html.escape(cut, quote=False)}</div>'
            break
        out += div
    return out


class WeComApp(_app.AppChannel):
    name: ChannelName = "wecom-app"
    markups: tuple[str, ...] = ()  # what it renders besides the plain body

    SEND_PATH = "/cgi-bin/message/send"
    TOKEN_PATH = "/cgi-bin/gettoken"

    def __init__(
        self,
        resolver: SecretResolver,
        config: WeComAppConfig,
        client: httpx.Client | None = None,
        timeout: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        super().__init__(resolver, config.base_url, client, timeout, clock)

    def __repr__(self) -> str:
        return f"WeComApp({self._send_url}, agentid={self._config.agentid})"

    def limits(self) -> tuple[RateLimit, ...]:
        return per_window(minute=self._config.per_minute, hour=self._config.per_hour)

    def endpoint(self, target: Target) -> str:
        # Per member of this app: the vendor's limits are per app and member.
        identity = f"{self._config.corpid}/{self._config.agentid}/{target.address.strip().lower()}"
        return _http.endpoint_key(self.name, identity)

    def _secret(self) -> str:
        return _http.resolve(self._resolver, Target("wecom-app", self._config.corpsecret))

    def _fetch_token(self) -> tuple[str, float]:
        secret = self._secret()
        return _app.fetch_token(
            self._client,
            self._token_url,
            {"corpid": self._config.corpid, "corpsecret": secret},
            timeout=self._timeout,
            secrets=(secret,),
            what="企业微信应用",
            retryable=RETRYABLE,
        )

    def send(self, target: Target, message: Message) -> Receipt:
        userid = target.address.strip()
        if not _USERID.fullmatch(userid):
            raise DeliveryError("企业微信 userid 格式无效", False, "address")
        payload = wecom_app_payload(message, userid, self._config.agentid)
        reply = _app.post_with_token(
            self._client,
            self._send_url,
            payload,
            self.tokens,
            refresh=TOKEN_ERRCODES,
            timeout=self._timeout,
            secrets=(),
            what="企业微信应用消息",
        )
        if reply.errcode != 0:
            raise errcode_error(reply.errcode, reply.errmsg)
        refused = {
            u.lower()
            for key in ("invaliduser", "unlicenseduser")
            for u in str(reply.data.get(key) or "").split("|")
            if u
        }
        if userid.lower() in refused:
            raise DeliveryError(
                "企业微信应用消息：成员不存在或无权限（invaliduser）", False, "invaliduser"
            )
        return Receipt(parts=1, info={"msgtype": str(payload["msgtype"])})


def errcode_error(errcode: int, errmsg: str) -> DeliveryError:
    hint = HINTS.get(errcode, "")
    detail = "企业微信应用消息：errcode " + str(errcode) + (f" {hint}" if hint else "")
    # A token refused even after a fresh fetch: the next attempt fetches again.
    retryable = errcode in RETRYABLE or errcode in TOKEN_ERRCODES
    return DeliveryError(
        f"{detail}（{errmsg}）",
        retryable,
        f"errcode:{errcode}",
        RETRYABLE.get(errcode) if retryable else None,
    )
