"""SMS through the vendors' own SDKs: Alibaba Cloud 短信 (dysmsapi 2017-05-25, SendSms) and
Tencent Cloud SMS (2021-01-11, SendSms), chosen by the campaign's ``channels.sms.vendor``.

SMS text is never free-form. ``message.kind`` picks an approved template (code + sign name)
from ``channels.sms.templates``; the template's variables are filled from
``message.params`` by name, ``link`` from the personal link (minus the template's fixed
``link_prefix``: the vendors refuse variable links). A kind without a template, a variable the
message cannot fill, or a link that does not fit is a permanent failure with a Chinese reason.
Values longer than the vendor's per-variable limit (Alibaba 35, Tencent 6 characters unless
the template says ``max_chars``) are cut with "…". Plain text: nothing renders markup.

Errors are the vendors' codes: flow control and server faults are retryable (Alibaba
``isv.BUSINESS_LIMIT_CONTROL``, ``Throttling*``, ``isp.*``; Tencent ``LimitExceeded.*``,
``RequestLimitExceeded*``, ``InternalError*``, network errors), everything else permanent
(an illegal number, an unapproved template or sign, a bad key, no balance ...).
Limits per mobile: 1 a minute, 5 an hour, 10 a day by default (Alibaba's defaults).
"""

from __future__ import annotations

import re
from typing import Final, Protocol

from pingan.adapters.channels import _http
from pingan.adapters.channels.base import ChannelName, DeliveryError, Message, Receipt, Target
from pingan.adapters.channels.limits import RateLimit, per_window
from pingan.adapters.channels.sms_vendors import AliyunSms, SmsRequest, TencentSms
from pingan.adapters.secrets import SecretResolver
from pingan.core.campaign.channels import LINK_PARAM, SmsConfig, SmsTemplate
from pingan.core.markup import plain

_MOBILE: Final = re.compile(r"(?:\+?86|0086)?(1[3-9][0-9]{9})")
ELLIPSIS: Final = "…"


class SmsSender(Protocol):
    def send(self, request: SmsRequest) -> str:
        """The vendor's id of the accepted message, or raise DeliveryError."""
        ...


def mainland_mobile(address: str) -> str:
    match = _MOBILE.fullmatch(re.sub(r"[\s-]", "", address))
    if match is None:
        raise DeliveryError("手机号码格式无效（应为 11 位中国大陆手机号）", False, "address")
    return match.group(1)


def sms_request(config: SmsConfig, mobile: str, message: Message) -> SmsRequest:
    """The template and its filled variables for ``message`` (pure); DeliveryError
    (permanent) when the message cannot go by SMS."""
    kind = message.kind or ""
    template = config.templates.get(kind)
    if template is None:
        raise DeliveryError(
            f"短信未配置“{kind or '未分类'}”类消息的模板（channels.sms.templates），无法发送",
            False,
            "sms:no-template",
        )
    facts = dict(message.params)
    limit = config.param_max_chars(template)
    values = tuple(
        (name, _value(name, facts, message, template, limit)) for name in template.params
    )
    return SmsRequest(mobile, config.sign_name, template.code, values)


def _value(
    name: str, facts: dict[str, str], message: Message, template: SmsTemplate, limit: int
) -> str:
    if name == LINK_PARAM:
        return _link_tail(message, template, limit)
    value = plain(facts.get(name, ""))
    if not value:
        raise DeliveryError(f"短信模板变量 {name} 没有可填的内容，无法发送", False, "sms:param")
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def _link_tail(message: Message, template: SmsTemplate, limit: int) -> str:
    url, prefix = message.action_url, template.link_prefix
    if not url or prefix is None or not url.startswith(prefix):
        raise DeliveryError(
            "短信模板需要专用链接，但本消息没有与模板固定链接开头相符的链接，无法发送",
            False,
            "sms:link",
        )
    tail = url[len(prefix) :]
    if not tail or len(tail) > limit:
        raise DeliveryError(
            f"专用链接的可变部分长 {len(tail)} 个字符，超出模板变量上限 {limit}，无法发送",
            False,
            "sms:link",
        )
    return tail


class SmsChannel:
    name: ChannelName = "sms"
    markups: tuple[str, ...] = ()  # what it renders besides the plain body

    def __init__(
        self,
        resolver: SecretResolver,
        config: SmsConfig,
        timeout: float = 10,
        sender: SmsSender | None = None,
    ) -> None:
        self._resolver = resolver
        self._config = config
        self._timeout = timeout
        self._sender = sender

    def __repr__(self) -> str:
        return f"SmsChannel({self._config.vendor})"

    def limits(self) -> tuple[RateLimit, ...]:
        c = self._config
        return per_window(minute=c.per_minute, hour=c.per_hour, day=c.per_day)

    def parts(self, target: Target, message: Message) -> int:
        return 1

    def endpoint(self, target: Target) -> str:
        try:
            identity = mainland_mobile(target.address)
        except DeliveryError:
            identity = target.address
        # Per mobile and sign: the vendors count per number (and sign).
        return _http.endpoint_key(self.name, f"{self._config.sign_name}/{identity}")

    def send(self, target: Target, message: Message) -> Receipt:
        request = sms_request(self._config, mainland_mobile(target.address), message)
        biz_id = self._vendor().send(request)
        return Receipt(parts=1, info={"vendor": self._config.vendor, "id": biz_id})

    def _vendor(self) -> SmsSender:
        if self._sender is None:
            c = self._config
            key_id = _http.resolve(self._resolver, Target("sms", c.access_key_id))
            secret = _http.resolve(self._resolver, Target("sms", c.access_key_secret))
            if c.vendor == "aliyun":
                self._sender = AliyunSms(key_id, secret, c.region, c.endpoint, self._timeout)
            else:
                app_id = c.sdk_app_id or ""
                self._sender = TencentSms(
                    key_id, secret, app_id, c.region, c.endpoint, self._timeout
                )
        return self._sender
