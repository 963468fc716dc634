"""Fixtures: each vendor's stand-in on 127.0.0.1, started per test and stopped after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.standins.aliyun import AliyunSmsAPI
from tests.channels.standins.dingtalk import DingTalkAPI
from tests.channels.standins.smtp import SmtpStandIn
from tests.channels.standins.tencent import TencentSmsAPI
from tests.channels.standins.wecom import WeComAPI


@pytest.fixture
def wecom_api() -> Iterator[WeComAPI]:
    api = WeComAPI().start()
    yield api
    api.stop()


@pytest.fixture
def dingtalk_api() -> Iterator[DingTalkAPI]:
    api = DingTalkAPI().start()
    yield api
    api.stop()


@pytest.fixture
def aliyun_api() -> Iterator[AliyunSmsAPI]:
    api = AliyunSmsAPI().start()
    yield api
    api.stop()


@pytest.fixture
def tencent_api() -> Iterator[TencentSmsAPI]:
    api = TencentSmsAPI().start()
    yield api
    api.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpStandIn]:
    server = SmtpStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_auth_server() -> Iterator[SmtpStandIn]:
    server = SmtpStandIn(auth=True).start()
    yield server
    server.stop()
