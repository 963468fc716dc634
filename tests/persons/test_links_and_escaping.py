"""Personal links only in personal messages, and roster text shown literally in every
channel's markup: a dispatch of the persons roster with the portal configured, the sent
messages turned into the exact payloads each robot, webhook and mail would carry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from pingan.adapters.channels.base import Message, Target
from pingan.adapters.channels.dingtalk import dingtalk_payloads
from pingan.adapters.channels.fake import RecordingChannel
from pingan.adapters.channels.webhook import webhook_payload
from pingan.adapters.channels.wecom import wecom_payloads
from pingan.adapters.db.messages.links import ACTION_LABEL, GROUP_NOTE
from pingan.adapters.outbox import dispatch
from pingan.core.delivery import DispatchPolicy
from tests.persons.conftest import ALL_CHANNELS, FIRST, SECOND, T0, PersonsDb

BASE = "https://pa.example.cn/pingan"
HOSTILE = "<b>[点此领取补贴](http://evil.example/phish)</b> *急* `x`"


class Portal:
    portal_base_url: str | None = BASE
    portal_secret: SecretStr | None = SecretStr("s" * 40)
    portal_link_days = 30


Sent = dict[str, list[tuple[Target, Message]]]


def send_all(pdb: PersonsDb) -> Sent:
    db = pdb.db
    for code in (FIRST, SECOND):
        db.execute("UPDATE unit SET name = :n WHERE code = :k", {"n": HOSTILE, "k": code})
    db.execute(
        "INSERT INTO contact (unit_id, seq, email, dingtalk_ref, webhook_ref) "
        "VALUES (:u, 4, 'office@example.com', 'secret:ding-group', 'secret:oa-hook')",
        {"u": db.unit_id(SECOND)},
    )
    chans = {name: RecordingChannel(name) for name in ALL_CHANNELS}  # type: ignore[arg-type]
    dispatch(
        db.engine,
        db.handle.campaign,
        db.cid,
        chans,
        DispatchPolicy(rate_per_minute={}, jitter=0),
        portal=Portal(),
        now_fn=lambda: T0,
        sleep_fn=lambda s: None,
    )
    return {name: c.sent for name, c in chans.items()}


@pytest.fixture
def sent(pdb: PersonsDb) -> Sent:
    return send_all(pdb)


def mine(sent: Sent, channel: str, address: str) -> Message:
    (message,) = [m for t, m in sent[channel] if t.address == address]
    return message


def robot_payloads(sent: Sent) -> list[Any]:
    out: list[Any] = []
    for _, m in sent["wecom"]:
        out += wecom_payloads(m)
    for _, m in sent["dingtalk"]:
        out += dingtalk_payloads(m)
    out += [webhook_payload(m) for _, m in sent["webhook"]]
    return out


def test_no_robot_or_webhook_payload_carries_a_personal_link(sent: Sent) -> None:
    payloads = robot_payloads(sent)
    assert len(payloads) >= 5  # three village robots, and the two units' groups
    text = json.dumps(payloads, ensure_ascii=False)
    assert BASE not in text and "/u/" not in text


def test_a_group_message_says_to_look_at_the_personal_message(sent: Sent) -> None:
    message = mine(sent, "wecom", "secret:first-group")
    assert GROUP_NOTE in message.body
    assert message.action_url is None


def test_a_shared_mailbox_gets_no_link(sent: Sent) -> None:
    message = mine(sent, "email", "office@example.com")
    assert BASE not in message.body and GROUP_NOTE in message.body
    assert message.html is not None and BASE not in message.html


def test_a_person_on_an_app_channel_gets_the_link_and_a_button(sent: Sent) -> None:
    message = mine(sent, "wecom-app", "zhang.san")
    assert message.action_url is not None and message.action_url.startswith(BASE + "/u/")
    assert message.action_label == ACTION_LABEL
    assert message.action_url in message.body


@pytest.mark.parametrize(
    ("channel", "address"), [("sms", "19911112222"), ("email", "wangwu@example.com")]
)
def test_a_person_by_sms_or_own_email_gets_the_link(sent: Sent, channel: str, address: str) -> None:
    message = mine(sent, channel, address)
    assert message.action_url is not None and message.action_url in message.body


def test_a_message_names_its_kind_and_plain_facts_for_templates(sent: Sent) -> None:
    message = mine(sent, "sms", "19911112222")
    params = dict(message.params)
    assert message.kind == "escalation"
    assert params["unit"] == HOSTILE  # plain and unescaped: SMS templates are not markup
    assert {"item", "due", "days"} <= set(params) and params["due"].endswith("日")


def test_hostile_names_stay_literal_in_robot_markdown(sent: Sent) -> None:
    contents = [
        p["markdown"]["content"]
        for _, m in sent["wecom"]
        for p in wecom_payloads(m)
        if p["msgtype"] == "markdown"
    ]
    contents += [p["markdown"]["text"] for _, m in sent["dingtalk"] for p in dingtalk_payloads(m)]
    hostile = [c for c in contents if "点此领取补贴" in c]
    assert len(hostile) == 2
    for content in hostile:
        assert "[点此领取补贴](" not in content and "<b>" not in content
        assert r"\[点此领取补贴\]\(http:" in content and r"\<b\>" in content


def test_hostile_names_stay_literal_in_html_mail(sent: Sent) -> None:
    html = mine(sent, "email", "office@example.com").html
    assert html is not None
    assert "&lt;b&gt;[点此领取补贴](http://evil.example/phish)&lt;/b&gt;" in html
    assert "<b>" not in html and 'href="http://evil' not in html


def test_hostile_names_are_plain_text_in_the_webhook_body(sent: Sent) -> None:
    (payload,) = [webhook_payload(m) for _, m in sent["webhook"]]
    assert HOSTILE in payload["body"]
    assert "[点此领取补贴](" not in payload["markdown"]
