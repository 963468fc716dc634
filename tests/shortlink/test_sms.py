"""A reminder by SMS through the Alibaba stand-in on 127.0.0.1: the template's fixed
prefix is ``<portal base>/k/`` and its ``link`` variable the 10-character code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from pingan.adapters.channels.base import Message, Target
from pingan.adapters.channels.sms import SmsChannel
from pingan.adapters.db.short_links import short_links
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign.channels import SmsConfig, SmsTemplate
from pingan.core.short_links import ShortLinkRequest, code_fingerprint
from tests.channels.standins import aliyun
from tests.channels.standins.aliyun import AliyunSmsAPI
from tests.factories import Loaded
from tests.portal.conftest import IN_SELF_CHECK
from tests.shortlink.conftest import BASE, cells, portal_settings

ALIYUN_VARIABLE_LIMIT = 35


@pytest.fixture
def aliyun_api() -> Iterator[AliyunSmsAPI]:
    api = AliyunSmsAPI().start()
    yield api
    api.stop()


def channel(api: AliyunSmsAPI) -> SmsChannel:
    config = SmsConfig(
        vendor="aliyun",
        sign_name="徐城平安办",
        access_key_id="secret:ali-id",
        access_key_secret="secret:ali-key",
        endpoint=api.endpoint,
        templates={
            "reminder": SmsTemplate(
                code="SMS_100001", params=["unit", "item", "link"], link_prefix=f"{BASE}k/"
            )
        },
    )
    secrets = {"secret:ali-id": aliyun.KEY_ID, "secret:ali-key": aliyun.KEY_SECRET}
    return SmsChannel(MappingSecretResolver(secrets), config, timeout=5)


def test_an_sms_link_variable_is_the_short_code_within_the_vendor_limit(
    seeded: Loaded, aliyun_api: AliyunSmsAPI
) -> None:
    unit = cells(seeded)[0]
    with Session(seeded.engine) as session, session.begin():
        url = short_links(
            session,
            seeded.handle.campaign,
            portal_settings(),
            {unit: ShortLinkRequest(unit, 1, IN_SELF_CHECK)},
        )[unit]
    assert url is not None
    message = Message(
        subject="催报",
        body="（短信不使用正文）",
        kind="reminder",
        params=(("unit", "徐城中学"), ("item", "自查报告")),
        action_url=url,
    )

    channel(aliyun_api).send(Target("sms", "13800138000"), message)

    [(_, _, template, params)] = aliyun_api.sent
    link = params["link"]
    assert template == "SMS_100001"
    assert len(link) == 10 <= ALIYUN_VARIABLE_LIMIT
    assert f"{BASE}k/{link}" == url
    [fp] = [r.fingerprint for r in seeded.rows("SELECT fingerprint FROM short_link")]
    assert fp == code_fingerprint(link)
