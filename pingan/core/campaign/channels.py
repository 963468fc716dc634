"""The campaign's personal channels (``channels:`` in the YAML; docs/channels.md).

Each section configures one vendor account: SMS (Alibaba Cloud or Tencent Cloud), a WeCom
self-built app (应用消息) and a DingTalk internal app (工作通知). Secrets are references
(``secret:name`` / ``env:NAME``), checked by rules.channels and resolved only at send time.
The SMTP server is not here: it is the deployment's, in the PINGAN_SMTP_* settings.

Rate limits default to the vendors' documented per-recipient limits and may be lowered
(or raised, where the vendor console allows it) here.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

SmsVendor = Literal["aliyun", "tencent"]
# The longest value one template variable may carry, by vendor (characters, a Chinese
# character counts one). Alibaba Cloud: "单个变量的长度限制为1~35个字符". Tencent Cloud:
# "非验证码短信：每个变量取值最多支持6个字符" (longer variables need the template approved
# with them: set ``max_chars`` on the template then).
SMS_PARAM_MAX_CHARS: Final[dict[str, int]] = {"aliyun": 35, "tencent": 6}
# The template variable filled with the recipient's personal link (Message.action_url).
LINK_PARAM: Final = "link"

Reference = Annotated[str, Field(min_length=1, max_length=120)]
ParamName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,24}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SmsTemplate(_Model):
    """One approved template: what a message kind becomes on SMS."""

    code: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="approved template code (Alibaba SMS_123456, Tencent numeric id)"
    )
    params: list[ParamName] = Field(
        default=[],
        description="the template's variables in order (Tencent fills them by position)",
    )
    max_chars: int | None = Field(
        default=None, ge=1, le=500, description="longest variable value; vendor default if unset"
    )
    link_prefix: Annotated[str, Field(min_length=8, max_length=200)] | None = Field(
        default=None,
        description="the fixed link text in the approved template; `link` carries the rest",
    )


class SmsConfig(_Model):
    vendor: SmsVendor
    sign_name: Annotated[str, Field(min_length=2, max_length=20)]
    access_key_id: Reference
    access_key_secret: Reference
    sdk_app_id: Annotated[str, Field(pattern=r"^[0-9]{6,20}$")] | None = Field(
        default=None, description="Tencent only: the SmsSdkAppId"
    )
    region: str | None = Field(default=None, description="aliyun cn-hangzhou, tencent ap-guangzhou")
    endpoint: str | None = Field(
        default=None, description="override (host:port or http(s)://host:port), e.g. a stand-in"
    )
    templates: dict[Annotated[str, Field(min_length=1, max_length=16)], SmsTemplate] = Field(
        default={}, description="message kind (reminder, escalation, ...) → approved template"
    )
    # Per mobile. Alibaba's defaults (1/min, 5/hour, 10/day per number and sign); Tencent's
    # console defaults are looser (30 s, 10/hour), so these suit both.
    per_minute: int = Field(default=1, ge=1, le=100)
    per_hour: int = Field(default=5, ge=1, le=1000)
    per_day: int = Field(default=10, ge=1, le=10000)

    def param_max_chars(self, template: SmsTemplate) -> int:
        return template.max_chars or SMS_PARAM_MAX_CHARS[self.vendor]


class WeComAppConfig(_Model):
    """A WeCom self-built app: message/send to userids with its agentid."""

    corpid: Annotated[str, Field(min_length=1, max_length=64)]
    corpsecret: Reference
    agentid: int = Field(ge=1)
    base_url: str = "https://qyapi.weixin.qq.com"
    # "每应用对同一个成员不可超过30次/分钟，1000次/小时，超过部分会被丢弃不下发".
    per_minute: int = Field(default=30, ge=1, le=30)
    per_hour: int = Field(default=1000, ge=1, le=1000)


class DingTalkWorkConfig(_Model):
    """A DingTalk internal app: work notices (asyncsend_v2) to userids with its agent_id."""

    appkey: Annotated[str, Field(min_length=1, max_length=64)]
    appsecret: Reference
    agent_id: int = Field(ge=1)
    base_url: str = "https://oapi.dingtalk.com"
    # "同一个微应用给同一个用户发送消息，企业内部开发方式一天不得超过500次".
    per_day: int = Field(default=500, ge=1, le=500)


class ChannelsConfig(_Model):
    sms: SmsConfig | None = None
    wecom_app: WeComAppConfig | None = None
    dingtalk_work: DingTalkWorkConfig | None = None
