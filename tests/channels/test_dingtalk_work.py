"""DingTalk work notices (工作通知) against the DingTalk API stand-in on 127.0.0.1."""

from __future__ import annotations

import re

import pytest

from pingan.adapters.channels.base import DeliveryError, Message, Target
from pingan.adapters.channels.dingtalk_work import DingTalkWork
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign.channels import DingTalkWorkConfig
from tests.channels.hostile import HOSTILE_UNIT, PHISH
from tests.channels.standins.dingtalk import APPKEY, APPSECRET, DingTalkAPI

LINK = "https://pa.example.cn/u/abc123"
TO = Target("dingtalk-work", "manager4220")


def channel(api: DingTalkAPI) -> DingTalkWork:
    config = DingTalkWorkConfig(
        appkey=APPKEY, appsecret="secret:dingtalk-app", agent_id=2233, base_url=api.base_url
    )
    return DingTalkWork(
        MappingSecretResolver({"secret:dingtalk-app": APPSECRET}), config, timeout=5
    )


def reminder(**extra: str) -> Message:
    return Message(
        subject="【催报】平安医院自查报告",
        body="王院长：\n贵院自查报告将于 11 月 3 日截止。",
        kind="reminder",
        **extra,  # type: ignore[arg-type]
    )


def test_a_personal_link_goes_as_an_action_card_with_one_button(dingtalk_api: DingTalkAPI) -> None:
    receipt = channel(dingtalk_api).send(TO, reminder(action_url=LINK))

    [sent] = dingtalk_api.messages
    assert (sent["agent_id"], sent["userid_list"]) == (2233, "manager4220")
    card = sent["msg"]["action_card"]
    assert sent["msg"]["msgtype"] == "action_card"
    assert (card["single_title"], card["single_url"]) == ("立即报送", LINK)
    assert card["title"] == "【催报】平安医院自查报告"
    assert "11 月 3 日截止" in card["markdown"]
    assert receipt.info["task_id"] == "1"


def test_without_a_link_it_is_plain_text(dingtalk_api: DingTalkAPI) -> None:
    channel(dingtalk_api).send(TO, reminder())

    [sent] = dingtalk_api.messages
    content = f"{reminder().subject}\n{reminder().body}"
    assert sent["msg"] == {"msgtype": "text", "text": {"content": content}}


def test_the_token_is_cached_then_refreshed_when_it_expires(dingtalk_api: DingTalkAPI) -> None:
    app = channel(dingtalk_api)
    app.send(TO, reminder())
    app.send(TO, reminder())
    assert dingtalk_api.issued == 1

    dingtalk_api.expire()
    app.send(TO, reminder())

    assert dingtalk_api.issued == 2
    assert len(dingtalk_api.messages) == 3


def test_busy_is_retryable_and_other_codes_permanent(dingtalk_api: DingTalkAPI) -> None:
    app = channel(dingtalk_api)
    dingtalk_api.errcodes.extend([-1, 88])

    with pytest.raises(DeliveryError) as busy:
        app.send(TO, reminder())
    with pytest.raises(DeliveryError) as denied:
        app.send(TO, reminder())

    assert (busy.value.retryable, busy.value.code) == (True, "errcode:-1")
    assert (denied.value.retryable, denied.value.code) == (False, "errcode:88")
    assert dingtalk_api.messages == []


def test_a_wrong_appsecret_is_permanent_and_never_shown(dingtalk_api: DingTalkAPI) -> None:
    config = DingTalkWorkConfig(
        appkey=APPKEY, appsecret="env:Y", agent_id=1, base_url=dingtalk_api.base_url
    )
    app = DingTalkWork(MappingSecretResolver({"env:Y": "WRONG-SEKRIT-abc"}), config, timeout=5)

    with pytest.raises(DeliveryError) as caught:
        app.send(TO, reminder())

    assert not caught.value.retryable
    assert "WRONG-SEKRIT-abc" not in str(caught.value)


def test_hostile_names_cannot_form_links_in_the_card(dingtalk_api: DingTalkAPI) -> None:
    channel(dingtalk_api).send(
        TO, Message("催报", f"{HOSTILE_UNIT}：\n请按时报送。", action_url=LINK)
    )

    markdown = dingtalk_api.messages[0]["msg"]["action_card"]["markdown"]
    assert "](http" not in markdown
    assert PHISH not in markdown  # "://" is broken so nothing auto-links
    assert "\\[点此领取补贴\\]" in markdown
    assert re.search(r"(?<!\\)[<\[]", markdown) is None  # every < and [ escaped
