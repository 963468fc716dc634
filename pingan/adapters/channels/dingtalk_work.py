"""DingTalk (钉钉) work notices: ``topapi/message/corpconversation/asyncsend_v2`` to one
member's userid, as the internal app ``agent_id``.

- The access token comes from ``gettoken`` (appkey + appsecret, the secret by reference) and
  is cached until shortly before it expires; on 40014 / 42001 (invalid or expired token) it
  is fetched afresh and the notice posted once more.
- With a personal link the notice is an ``action_card``: title = subject, markdown = the
  message's markdown (already escaped by its author) or the body's lines escaped with
  pingan.core.markup, one button ``single_title`` = ``action_label`` or "立即报送" opening
  ``single_url`` = the link. Without one it is ``text``: subject, then body (plain, nothing
  renders).
- The send is asynchronous: errcode 0 with a ``task_id`` means DingTalk accepted it.
- Retryable: -1 (系统繁忙, "建议稍后再重试"), HTTP 5xx / 429 and network errors; other errcodes
  are permanent (e.g. 88 with a permission sub_code, 33001 invalid corp).
- Limits per member and app: 500 a day ("同一个微应用给同一个用户发送消息，企业内部开发方式一天
  不得超过500次"); DingTalk also drops the same content to the same member within a day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import httpx

from pingan.adapters.channels import _app, _http
from pingan.adapters.channels.base import ChannelName, DeliveryError, Message, Receipt, Target
from pingan.adapters.channels.limits import RateLimit, per_window
from pingan.adapters.channels.split import truncate_bytes
from pingan.adapters.secrets import SecretResolver
from pingan.core.campaign.channels import DingTalkWorkConfig
from pingan.core.markup import markdown as md_escape
from pingan.core.markup import plain

ACTION_LABEL: Final = "立即报送"
# "msg … 最长不超过2048个字节": keep the markdown well inside it.
MARKDOWN_LIMIT: Final = 1500
TOKEN_ERRCODES: Final = frozenset({40014, 42001})
RETRYABLE: Final[dict[int, float | None]] = {-1: None}
HINTS: Final[dict[int, str]] = {
    88: "鉴权异常或无接口权限",
    33001: "无效的企业 ID",
    40014: "access_token 无效",
    42001: "access_token 已过期",
    -1: "系统繁忙",
}


def card_markdown(message: Message) -> str:
    if message.markdown is not None:
        return truncate_bytes(message.markdown, MARKDOWN_LIMIT)
    lines = [md_escape(x) for x in message.body.splitlines() if plain(x)]
    return truncate_bytes("\n\n".join(lines), MARKDOWN_LIMIT)


def dingtalk_work_payload(message: Message, userid: str, agent_id: int) -> dict[str, Any]:
    """The JSON ``send`` posts (pure)."""
    if message.action_url:
        msg: dict[str, Any] = {
            "msgtype": "action_card",
            "action_card": {
                "title": truncate_bytes(plain(message.subject), 128),
                "markdown": card_markdown(message),
                "single_title": plain(message.action_label or ACTION_LABEL)[:20],
                "single_url": message.action_url,
            },
        }
    else:
        text = f"{plain(message.subject)}\n{message.body}"  # a text has no title
        msg = {"msgtype": "text", "text": {"content": truncate_bytes(text, 1800)}}
    return {"agent_id": agent_id, "userid_list": userid, "msg": msg}


class DingTalkWork(_app.AppChannel):
    name: ChannelName = "dingtalk-work"
    markups: tuple[str, ...] = ("markdown",)  # what it renders besides the plain body

    SEND_PATH = "/topapi/message/corpconversation/asyncsend_v2"
    TOKEN_PATH = "/gettoken"

    def __init__(
        self,
        resolver: SecretResolver,
        config: DingTalkWorkConfig,
        client: httpx.Client | None = None,
        timeout: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        super().__init__(resolver, config.base_url, client, timeout, clock)

    def __repr__(self) -> str:
        return f"DingTalkWork({self._send_url}, agent_id={self._config.agent_id})"

    def limits(self) -> tuple[RateLimit, ...]:
        return per_window(day=self._config.per_day)

    def endpoint(self, target: Target) -> str:
        identity = f"{self._config.appkey}/{self._config.agent_id}/{target.address.strip()}"
        return _http.endpoint_key(self.name, identity)

    def _fetch_token(self) -> tuple[str, float]:
        secret = _http.resolve(self._resolver, Target("dingtalk-work", self._config.appsecret))
        return _app.fetch_token(
            self._client,
            self._token_url,
            {"appkey": self._config.appkey, "appsecret": secret},
            timeout=self._timeout,
            secrets=(secret,),
            what="钉钉应用",
            retryable=RETRYABLE,
        )

    def send(self, target: Target, message: Message) -> Receipt:
        userid = target.address.strip()
        if not userid or len(userid) > 64 or "," in userid:
            raise DeliveryError("钉钉 userid 格式无效", False, "address")
        payload = dingtalk_work_payload(message, userid, self._config.agent_id)
        reply = _app.post_with_token(
            self._client,
            self._send_url,
            payload,
            self.tokens,
            refresh=TOKEN_ERRCODES,
            timeout=self._timeout,
            secrets=(),
            what="钉钉工作通知",
        )
        if reply.errcode != 0:
            raise errcode_error(reply.errcode, reply.errmsg)
        return Receipt(
            parts=1,
            info={
                "msgtype": str(payload["msg"]["msgtype"]),
                "task_id": str(reply.data.get("task_id", "")),
            },
        )


def errcode_error(errcode: int, errmsg: str) -> DeliveryError:
    hint = HINTS.get(errcode, "")
    detail = "钉钉工作通知：errcode " + str(errcode) + (f" {hint}" if hint else "")
    retryable = errcode in RETRYABLE or errcode in TOKEN_ERRCODES
    return DeliveryError(f"{detail}（{errmsg}）", retryable, f"errcode:{errcode}")
