"""WeCom app messages (应用消息) against the WeCom API stand-in on 127.0.0.1."""

from __future__ import annotations

import html

import pytest

from pingan.adapters.channels.base import DeliveryError, Message, Target
from pingan.adapters.channels.wecom_app import WeComApp
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign.channels import WeComAppConfig
from tests.channels.hostile import HOSTILE_UNIT
from tests.channels.standins.wecom import CORPID, CORPSECRET, WeComAPI

LINK = "https://pa.example.cn/u/abc123"
TO = Target("wecom-app", "ZhangSan")


def channel(api: WeComAPI) -> WeComApp:
    config = WeComAppConfig(
        corpid=CORPID, corpsecret="secret:wecom-app", agentid=1000002, base_url=api.base_url
    )
    return WeComApp(MappingSecretResolver({"secret:wecom-app": CORPSECRET}), config, timeout=5)


def reminder(**extra: str) -> Message:
    return Message(
        subject="【催报】平安校园自查报告",
        body="张老师：\n贵校自查报告将于 11 月 3 日截止。",
        kind="reminder",
        **extra,  # type: ignore[arg-type]
    )


def test_a_personal_link_goes_as_a_text_card_with_the_report_button(wecom_api: WeComAPI) -> None:
    receipt = channel(wecom_api).send(TO, reminder(action_url=LINK))

    [sent] = wecom_api.messages
    assert (sent["touser"], sent["agentid"], sent["msgtype"]) == ("ZhangSan", 1000002, "textcard")
    card = sent["textcard"]
    assert (card["url"], card["btntxt"], card["title"]) == (
        LINK,
        "立即报送",
        "【催报】平安校园自查报告",
    )
    assert "贵校自查报告将于 11 月 3 日截止。" in card["description"]
    assert receipt.info["msgtype"] == "textcard"


def test_without_a_link_it_is_plain_text(wecom_api: WeComAPI) -> None:
    channel(wecom_api).send(TO, reminder())

    [sent] = wecom_api.messages
    assert sent["msgtype"] == "text"
    assert "textcard" not in sent
    assert "11 月 3 日" in sent["text"]["content"]


def test_the_token_is_fetched_once_for_many_messages(wecom_api: WeComAPI) -> None:
    app = channel(wecom_api)
    for _ in range(5):
        app.send(TO, reminder())

    assert wecom_api.issued == 1
    assert len(wecom_api.messages) == 5


@pytest.mark.parametrize("refused", [42001, 40014])
def test_an_expired_or_invalid_token_is_refreshed_and_the_message_sent_once(
    wecom_api: WeComAPI, refused: int
) -> None:
    app = channel(wecom_api)
    app.send(TO, reminder())
    if refused == 42001:
        wecom_api.expire()
    else:
        app.tokens.invalidate("tok-1")
        app.tokens._token = "tok-99"  # a token the server never issued

    app.send(TO, reminder())

    assert len(wecom_api.messages) == 2
    assert wecom_api.messages[1] == wecom_api.messages[0]
    assert wecom_api.issued == 2


@pytest.mark.parametrize("code", [45009, 45033, -1])
def test_rate_and_busy_codes_are_retryable(wecom_api: WeComAPI, code: int) -> None:
    wecom_api.errcodes.append(code)

    with pytest.raises(DeliveryError) as caught:
        channel(wecom_api).send(TO, reminder())

    assert caught.value.retryable
    assert caught.value.code == f"errcode:{code}"


@pytest.mark.parametrize("code", [81013, 60111, 40003])
def test_unknown_members_are_permanent(wecom_api: WeComAPI, code: int) -> None:
    wecom_api.errcodes.append(code)

    with pytest.raises(DeliveryError) as caught:
        channel(wecom_api).send(TO, reminder())

    assert not caught.value.retryable
    assert wecom_api.messages == []


def test_a_member_outside_the_app_is_permanent_81013(wecom_api: WeComAPI) -> None:
    wecom_api.members = {"LiSi"}

    with pytest.raises(DeliveryError) as caught:
        channel(wecom_api).send(TO, reminder())

    assert (caught.value.retryable, caught.value.code) == (False, "errcode:81013")
    assert "成员不存在" in caught.value.detail


def test_a_wrong_corpsecret_is_permanent_and_never_shown(wecom_api: WeComAPI) -> None:
    config = WeComAppConfig(
        corpid=CORPID, corpsecret="env:X", agentid=1, base_url=wecom_api.base_url
    )
    app = WeComApp(MappingSecretResolver({"env:X": "WRONG-SEKRIT-xyz"}), config, timeout=5)

    with pytest.raises(DeliveryError) as caught:
        app.send(TO, reminder())

    assert not caught.value.retryable
    assert "WRONG-SEKRIT-xyz" not in str(caught.value)
    assert CORPSECRET not in str(caught.value)


def test_hostile_names_are_shown_literally_in_card_and_text(wecom_api: WeComAPI) -> None:
    body = f"{HOSTILE_UNIT}：\n请按时报送。"
    app = channel(wecom_api)
    app.send(TO, Message("催报", body, action_url=LINK))
    app.send(TO, Message("催报", body))

    card, text = wecom_api.messages
    description = card["textcard"]["description"]
    assert "<a href" not in description
    assert html.unescape(
        description.replace('<div class="normal">', "").replace("</div>", "\n")
    ) == (f"{HOSTILE_UNIT}：\n请按时报送。\n")
    assert "<a href" not in text["text"]["content"]
    assert html.unescape(text["text"]["content"]) == f"催报\n{body}"


@pytest.mark.parametrize("userid", ["张 三|@all", "@all", "a|b", ""])
def test_anything_but_one_userid_is_permanent_without_a_request(
    wecom_api: WeComAPI, userid: str
) -> None:
    with pytest.raises(DeliveryError) as caught:
        channel(wecom_api).send(Target("wecom-app", userid), reminder())

    assert (caught.value.retryable, caught.value.code) == (False, "address")
    assert wecom_api.server is not None and wecom_api.server.requests == []


def test_a_member_echoed_as_unlicensed_is_permanent_though_errcode_is_0(
    wecom_api: WeComAPI,
) -> None:
    wecom_api.unlicensed = {"ZhangSan"}

    with pytest.raises(DeliveryError) as caught:
        channel(wecom_api).send(TO, reminder())

    assert (caught.value.retryable, caught.value.code) == (False, "invaliduser")
