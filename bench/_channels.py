"""The personal channels in bench/dispatch.py: each new channel sends N messages through the
outbox dispatcher to its vendor stand-in on 127.0.0.1 (tests/channels/standins), against a
bare vendor call (the official SDK, or httpx / smtplib) to the same stand-in, same run.

Until the roster's persons address deliveries (issue 13's other half), every notification is
forced onto the channel (``channel_override``, as the demo does) and re-addressed to one
recipient; the message kind and SMS facts the persons' renderer will add are filled in the
same way. Rate limits are off (one recipient would otherwise get 1 SMS a minute).
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any

import httpx

from pingan.adapters.channels.base import Channel, ChannelName, Message, Receipt, Target
from pingan.adapters.channels.dingtalk_work import DingTalkWork
from pingan.adapters.channels.email import EmailChannel
from pingan.adapters.channels.sms import SmsChannel
from pingan.adapters.channels.smtp_settings import SmtpSettings
from pingan.adapters.channels.wecom_app import WeComApp
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign.channels import (
    DingTalkWorkConfig,
    SmsConfig,
    SmsTemplate,
    WeComAppConfig,
)
from tests.channels.standins import aliyun, dingtalk, smtp, tencent, wecom

MOBILE = "13800138000"
USERID = "ZhangSan"
MAIL_TO = "school-01@xucheng.example.org"
SECRETS = {
    "secret:ali-id": aliyun.KEY_ID,
    "secret:ali-key": aliyun.KEY_SECRET,
    "secret:tc-id": tencent.SECRET_ID,
    "secret:tc-key": tencent.SECRET_KEY,
    "secret:wecom": wecom.CORPSECRET,
    "secret:dingtalk": dingtalk.APPSECRET,
}
PARAMS = (("title", "工作通报"),)


@dataclass
class Readdressed:
    """The channel, with every delivery sent to one recipient as one message kind."""

    inner: Any
    address: str
    name: ChannelName

    def endpoint(self, target: Target) -> str:
        return str(self.inner.endpoint(Target(self.name, self.address)))

    def release(self) -> None:
        closer = getattr(self.inner, "release", None)
        if callable(closer):
            closer()

    def send(self, target: Target, message: Message) -> Receipt:
        message = replace(message, kind="bulletin", params=PARAMS)
        receipt: Receipt = self.inner.send(Target(self.name, self.address), message)
        return receipt


@dataclass
class Case:
    """One channel: its stand-in, the channel to dispatch on, and the bare loop."""

    label: str
    name: ChannelName
    stop: Callable[[], None]
    channel: Callable[[], Channel]
    bare: Callable[[list[Message]], float]
    received: Callable[[], int]


def _sms_config(vendor: str, endpoint: str) -> SmsConfig:
    ali = vendor == "aliyun"
    return SmsConfig(
        vendor="aliyun" if ali else "tencent",
        sign_name="徐城平安办",
        access_key_id="secret:ali-id" if ali else "secret:tc-id",
        access_key_secret="secret:ali-key" if ali else "secret:tc-key",
        sdk_app_id=None if ali else tencent.APP_ID,
        endpoint=endpoint,
        templates={"bulletin": SmsTemplate(code="SMS_1" if ali else "1", params=["title"])},
    )


def aliyun_case() -> Case:
    api = aliyun.AliyunSmsAPI().start()
    config = _sms_config("aliyun", api.endpoint)

    def bare(messages: list[Message]) -> float:
        from alibabacloud_dysmsapi20170525 import models
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as open_api
        from alibabacloud_tea_util import models as util

        host = api.endpoint.removeprefix("http://")
        client = Client(
            open_api.Config(
                access_key_id=aliyun.KEY_ID,
                access_key_secret=aliyun.KEY_SECRET,
                endpoint=host,
                protocol="http",
                region_id="cn-hangzhou",
            )
        )
        runtime = util.RuntimeOptions(autoretry=False)
        start = time.perf_counter()
        for _ in messages:
            request = models.SendSmsRequest(
                phone_numbers=MOBILE,
                sign_name="徐城平安办",
                template_code="SMS_1",
                template_param=json.dumps({"title": "工作通报"}, ensure_ascii=False),
            )
            assert client.send_sms_with_options(request, runtime).body.code == "OK"
        return time.perf_counter() - start

    def channel() -> Channel:
        sms = SmsChannel(MappingSecretResolver(SECRETS), config)
        return Readdressed(sms, MOBILE, "sms")

    return Case("sms-aliyun", "sms", api.stop, channel, bare, lambda: len(api.sent))


def tencent_case() -> Case:
    api = tencent.TencentSmsAPI().start()
    config = _sms_config("tencent", api.endpoint)

    def bare(messages: list[Message]) -> float:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import models, sms_client

        profile = HttpProfile(endpoint=api.endpoint.removeprefix("http://"), protocol="http")
        profile.keepAlive = True
        client = sms_client.SmsClient(
            credential.Credential(tencent.SECRET_ID, tencent.SECRET_KEY),
            "ap-guangzhou",
            ClientProfile(httpProfile=profile),
        )
        start = time.perf_counter()
        for _ in messages:
            request = models.SendSmsRequest()
            request.PhoneNumberSet = ["+86" + MOBILE]
            request.SmsSdkAppId = tencent.APP_ID
            request.SignName = "徐城平安办"
            request.TemplateId = "1"
            request.TemplateParamSet = ["工作通报"]
            assert client.SendSms(request).SendStatusSet[0].Code == "Ok"
        return time.perf_counter() - start

    def channel() -> Channel:
        return Readdressed(SmsChannel(MappingSecretResolver(SECRETS), config), MOBILE, "sms")

    return Case("sms-tencent", "sms", api.stop, channel, bare, lambda: len(api.sent))


def _bare_app(
    token_url: str,
    params: dict[str, str],
    send_url: str,
    payload: Callable[[Message], dict[str, Any]],
) -> Callable[[list[Message]], float]:
    def bare(messages: list[Message]) -> float:
        with httpx.Client(timeout=10, follow_redirects=False) as c:
            start = time.perf_counter()
            token = c.get(token_url, params=params).json()["access_token"]
            for m in messages:
                body = json.dumps(payload(m), ensure_ascii=False).encode("utf-8")
                reply = c.post(
                    send_url,
                    params={"access_token": token},
                    content=body,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
                assert reply.json()["errcode"] == 0
            return time.perf_counter() - start

    return bare


def wecom_case() -> Case:
    api = wecom.WeComAPI().start()
    config = WeComAppConfig(
        corpid=wecom.CORPID, corpsecret="secret:wecom", agentid=1000002, base_url=api.base_url
    )
    bare = _bare_app(
        api.base_url + "/cgi-bin/gettoken",
        {"corpid": wecom.CORPID, "corpsecret": wecom.CORPSECRET},
        api.base_url + "/cgi-bin/message/send",
        lambda m: {
            "touser": USERID,
            "agentid": 1000002,
            "msgtype": "text",
            "text": {"content": m.body},
        },
    )

    def channel() -> Channel:
        return Readdressed(WeComApp(MappingSecretResolver(SECRETS), config), USERID, "wecom-app")

    return Case("wecom-app", "wecom-app", api.stop, channel, bare, lambda: len(api.messages))


def dingtalk_case() -> Case:
    api = dingtalk.DingTalkAPI().start()
    config = DingTalkWorkConfig(
        appkey=dingtalk.APPKEY, appsecret="secret:dingtalk", agent_id=2233, base_url=api.base_url
    )
    bare = _bare_app(
        api.base_url + "/gettoken",
        {"appkey": dingtalk.APPKEY, "appsecret": dingtalk.APPSECRET},
        api.base_url + dingtalk.SEND_PATH,
        lambda m: {
            "agent_id": 2233,
            "userid_list": USERID,
            "msg": {"msgtype": "text", "text": {"content": m.body}},
        },
    )

    def channel() -> Channel:
        work = DingTalkWork(MappingSecretResolver(SECRETS), config)
        return Readdressed(work, USERID, "dingtalk-work")

    return Case(
        "dingtalk-work", "dingtalk-work", api.stop, channel, bare, lambda: len(api.messages)
    )


def email_case() -> Case:
    server = smtp.SmtpStandIn().start()
    settings = SmtpSettings(
        host="127.0.0.1", port=server.port, security="none", from_address=smtp.SENDER
    )

    def bare(messages: list[Message]) -> float:
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as conn:
            for m in messages:
                mail = EmailMessage()
                mail["Subject"], mail["From"], mail["To"] = m.subject, smtp.SENDER, MAIL_TO
                mail.set_content(m.body)
                conn.send_message(mail)
        return time.perf_counter() - start

    def channel() -> Channel:
        return Readdressed(EmailChannel(MappingSecretResolver({}), settings), MAIL_TO, "email")

    return Case("email", "email", server.stop, channel, bare, lambda: len(server.envelopes))


CASES: tuple[Callable[[], Case], ...] = (
    aliyun_case,
    tencent_case,
    wecom_case,
    dingtalk_case,
    email_case,
)
