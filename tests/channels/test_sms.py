"""SMS through the vendors' own SDKs, each against its stand-in on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest

from pingan.adapters.channels.base import DeliveryError, Message, Target
from pingan.adapters.channels.sms import SmsChannel, sms_request
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign.channels import SmsConfig, SmsTemplate
from tests.channels.hostile import HOSTILE_UNIT
from tests.channels.standins import aliyun, tencent
from tests.channels.standins.aliyun import AliyunSmsAPI
from tests.channels.standins.tencent import TencentSmsAPI

LINK_PREFIX = "https://pa.example.cn/k/"
LINK = LINK_PREFIX + "k7Q2"
TO = Target("sms", "+86 138-0013-8000")
SECRETS = {
    "secret:ali-id": aliyun.KEY_ID,
    "secret:ali-key": aliyun.KEY_SECRET,
    "secret:tc-id": tencent.SECRET_ID,
    "secret:tc-key": tencent.SECRET_KEY,
}
TEMPLATES = {
    "reminder": SmsTemplate(
        code="SMS_100001", params=["unit", "item", "due", "link"], link_prefix=LINK_PREFIX
    ),
    "escalation": SmsTemplate(code="SMS_100002", params=["unit", "days"]),
}


def aliyun_channel(api: AliyunSmsAPI) -> SmsChannel:
    config = SmsConfig(
        vendor="aliyun",
        sign_name="徐城平安办",
        access_key_id="secret:ali-id",
        access_key_secret="secret:ali-key",
        endpoint=api.endpoint,
        templates=TEMPLATES,
    )
    return SmsChannel(MappingSecretResolver(SECRETS), config, timeout=5)


def tencent_channel(api: TencentSmsAPI) -> SmsChannel:
    config = SmsConfig(
        vendor="tencent",
        sign_name="徐城平安办",
        access_key_id="secret:tc-id",
        access_key_secret="secret:tc-key",
        sdk_app_id=tencent.APP_ID,
        endpoint=api.endpoint,
        templates={
            "reminder": SmsTemplate(
                code="1234567",
                params=["unit", "due", "link"],
                max_chars=12,
                link_prefix=LINK_PREFIX,
            )
        },
    )
    return SmsChannel(MappingSecretResolver(SECRETS), config, timeout=5)


def reminder(unit: str = "徐城中学", action_url: str = LINK) -> Message:
    return Message(
        subject="催报",
        body="（短信不使用正文）",
        kind="reminder",
        params=(("unit", unit), ("item", "自查报告"), ("due", "11月3日")),
        action_url=action_url,
    )


def test_aliyun_sends_the_kind_template_with_named_params(aliyun_api: AliyunSmsAPI) -> None:
    receipt = aliyun_channel(aliyun_api).send(TO, reminder())

    assert aliyun_api.sent == [
        (
            "13800138000",
            "徐城平安办",
            "SMS_100001",
            {"unit": "徐城中学", "item": "自查报告", "due": "11月3日", "link": "k7Q2"},
        )
    ]
    assert receipt.info == {"vendor": "aliyun", "id": "biz-1"}


def test_tencent_sends_params_in_template_order(tencent_api: TencentSmsAPI) -> None:
    tencent_channel(tencent_api).send(TO, reminder())

    assert tencent_api.sent == [
        ("+8613800138000", "徐城平安办", "1234567", ["徐城中学", "11月3日", "k7Q2"])
    ]


def test_a_kind_without_a_template_is_permanent_and_says_so(aliyun_api: AliyunSmsAPI) -> None:
    with pytest.raises(DeliveryError) as caught:
        aliyun_channel(aliyun_api).send(TO, Message("周报", "正文", kind="digest"))

    assert (caught.value.retryable, caught.value.code) == (False, "sms:no-template")
    assert "digest" in caught.value.detail and "模板" in caught.value.detail
    assert aliyun_api.server is not None and aliyun_api.server.requests == []


def test_long_values_are_cut_to_the_vendor_limit(aliyun_api: AliyunSmsAPI) -> None:
    long_name = "徐城街道" + "某" * 60 + "有限公司"
    aliyun_channel(aliyun_api).send(TO, reminder(unit=long_name))

    unit = aliyun_api.sent[0][3]["unit"]
    assert len(unit) == 35 and unit.endswith("…")
    assert long_name.startswith(unit[:-1])


def test_a_link_outside_the_template_prefix_is_permanent() -> None:
    config = SmsConfig(
        vendor="aliyun",
        sign_name="徐城平安办",
        access_key_id="a",
        access_key_secret="b",
        templates=TEMPLATES,
    )
    message = reminder(action_url="https://elsewhere.example/u/k7Q2")

    with pytest.raises(DeliveryError) as caught:
        sms_request(config, "13800138000", message)

    assert (caught.value.retryable, caught.value.code) == (False, "sms:link")


def test_hostile_names_travel_as_plain_template_values(aliyun_api: AliyunSmsAPI) -> None:
    aliyun_channel(aliyun_api).send(TO, reminder(unit=HOSTILE_UNIT))

    unit = aliyun_api.sent[0][3]["unit"]
    assert HOSTILE_UNIT.startswith(unit.rstrip("…"))  # literal, only cut to 35 characters


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (200, "isv.BUSINESS_LIMIT_CONTROL", True),
        (400, "Throttling.User", True),
        (500, "isp.SYSTEM_ERROR", True),
        (200, "isv.MOBILE_NUMBER_ILLEGAL", False),
        (400, "isv.SMS_TEMPLATE_ILLEGAL", False),
        (200, "isv.AMOUNT_NOT_ENOUGH", False),
    ],
)
def test_aliyun_codes_decide_retry(
    aliyun_api: AliyunSmsAPI, status: int, code: str, retryable: bool
) -> None:
    aliyun_api.codes.append((status, code))

    with pytest.raises(DeliveryError) as caught:
        aliyun_channel(aliyun_api).send(TO, reminder())

    assert (caught.value.retryable, caught.value.code) == (retryable, f"aliyun:{code}")
    assert aliyun.KEY_SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "code", "retryable"),
    [
        ("status", "LimitExceeded.PhoneNumberOneHourLimit", True),
        ("status", "LimitExceeded.PhoneNumberDailyLimit", True),
        ("error", "RequestLimitExceeded", True),
        ("error", "InternalError.Timeout", True),
        ("status", "InvalidParameterValue.IncorrectPhoneNumber", False),
        ("error", "FailedOperation.TemplateIncorrectOrUnapproved", False),
        ("error", "AuthFailure.SecretIdNotFound", False),
    ],
)
def test_tencent_codes_decide_retry(
    tencent_api: TencentSmsAPI, kind: str, code: str, retryable: bool
) -> None:
    tencent_api.codes.append((kind, code))

    with pytest.raises(DeliveryError) as caught:
        tencent_channel(tencent_api).send(TO, reminder())

    assert (caught.value.retryable, caught.value.code) == (retryable, f"tencent:{code}")
    assert tencent_api.sent == []


def test_a_wrong_access_key_is_permanent_and_never_shown(aliyun_api: AliyunSmsAPI) -> None:
    aliyun_api.key_id = "LTAI-someone-else"

    with pytest.raises(DeliveryError) as caught:
        aliyun_channel(aliyun_api).send(TO, reminder())

    assert (caught.value.retryable, caught.value.code) == (
        False,
        "aliyun:InvalidAccessKeyId.NotFound",
    )
    assert aliyun.KEY_SECRET not in str(caught.value)


def test_no_server_is_retryable_for_both_vendors(
    aliyun_api: AliyunSmsAPI, tencent_api: TencentSmsAPI
) -> None:
    ali, tc = aliyun_channel(aliyun_api), tencent_channel(tencent_api)
    aliyun_api.stop()
    tencent_api.stop()

    with pytest.raises(DeliveryError) as ali_error:
        ali.send(TO, reminder())
    with pytest.raises(DeliveryError) as tc_error:
        tc.send(TO, reminder())

    assert (ali_error.value.retryable, ali_error.value.code) == (True, "network")
    assert (tc_error.value.retryable, tc_error.value.code) == (True, "tencent:ClientNetworkError")
    assert "13800138000" not in str(ali_error.value) + str(tc_error.value)


def test_a_mobile_that_is_not_mainland_is_permanent(aliyun_api: AliyunSmsAPI) -> None:
    with pytest.raises(DeliveryError) as caught:
        aliyun_channel(aliyun_api).send(Target("sms", "12345"), reminder())

    assert (caught.value.retryable, caught.value.code) == (False, "address")


def test_one_mobile_has_one_rate_endpoint_whatever_its_spelling() -> None:
    config = SmsConfig(
        vendor="aliyun", sign_name="徐城平安办", access_key_id="a", access_key_secret="b"
    )
    sms = SmsChannel(MappingSecretResolver({}), config)

    keys = {
        sms.endpoint(Target("sms", m)) for m in ("13800138000", "+8613800138000", "138 0013 8000")
    }

    assert len(keys) == 1
    assert [(w.limit, w.window_s) for w in sms.limits()] == [(1, 60), (5, 3600), (10, 86400)]


def test_nothing_secret_or_personal_reaches_the_logs_at_debug(
    aliyun_api: AliyunSmsAPI, tencent_api: TencentSmsAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    aliyun_channel(aliyun_api).send(TO, reminder())
    tencent_channel(tencent_api).send(TO, reminder())

    for text in (aliyun.KEY_SECRET, tencent.SECRET_KEY, "13800138000", "k7Q2"):
        assert text not in caplog.text


def test_a_missing_key_secret_is_permanent_and_names_the_reference(
    aliyun_api: AliyunSmsAPI,
) -> None:
    config = SmsConfig(
        vendor="aliyun",
        sign_name="徐城平安办",
        access_key_id="secret:ali-id",
        access_key_secret="secret:nowhere",
        endpoint=aliyun_api.endpoint,
        templates=TEMPLATES,
    )
    sms = SmsChannel(MappingSecretResolver({"secret:ali-id": aliyun.KEY_ID}), config)

    with pytest.raises(DeliveryError) as caught:
        sms.send(TO, reminder())

    assert (caught.value.retryable, caught.value.code) == (False, "secret:missing")
    assert "secret:nowhere" in caught.value.detail
    assert aliyun_api.sent == []
