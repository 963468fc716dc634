"""Issue 13 end to end: a tick of cells whose persons use every channel, delivered through the
local stand-ins (WeCom app API, DingTalk API, Alibaba or Tencent SMS, SMTP, a WeCom robot).

Each cell's persons follow a pattern by position: a WeCom member, a DingTalk member, a mobile
only, a named mailbox only, two persons (WeCom and mobile), and a unit with only a group robot
and a shared mailbox. Some WeCom userids are not members (81013: permanent, the person falls
back to SMS); the first WeCom send and the first SMTP recipient fail transiently; one mailbox
is refused for good (550). Every fifth cell has a hostile name.

PINGAN_E2E_CELLS sets the number of cells (default 60; the issue's run is 10,000).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from pingan.adapters.channels.base import Channel
from pingan.adapters.channels.dingtalk_work import DingTalkWork
from pingan.adapters.channels.email import EmailChannel
from pingan.adapters.channels.sms import SmsChannel
from pingan.adapters.channels.smtp_settings import SmtpSettings
from pingan.adapters.channels.wecom import WeComRobot
from pingan.adapters.channels.wecom_app import WeComApp
from pingan.adapters.outbox import dispatch
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign import load_campaign
from pingan.core.campaign.channels import (
    DingTalkWorkConfig,
    SmsConfig,
    SmsTemplate,
    WeComAppConfig,
)
from pingan.core.delivery import DispatchPolicy
from pingan.core.short_links import code_fingerprint
from pingan.services.synth import write_roster
from pingan.services.tick import evaluate_and_plan
from tests.channels.standins import aliyun, dingtalk, tencent, wecom
from tests.channels.standins.aliyun import AliyunSmsAPI
from tests.channels.standins.base import HttpStandIn, Request
from tests.channels.standins.dingtalk import DingTalkAPI
from tests.channels.standins.smtp import SmtpStandIn
from tests.channels.standins.tencent import TencentSmsAPI
from tests.channels.standins.wecom import WeComAPI
from tests.factories import SEED_CONFIG, Loaded, load_seed, read_csv, write_csv
from tests.persons.conftest import EXTRA

CELLS = int(os.environ.get("PINGAN_E2E_CELLS", "60"))
DAY = date(2017, 5, 16)  # one working day after local-plan's due date: every cell escalated
T0 = datetime(2017, 5, 16, 2, 0)  # 10:00 in Shanghai
BASE = "https://pa.example.cn/pingan"
HOSTILE = "[点此领取补贴](http://evil.example/phish)<b>*急*</b>"
ROBOT_REF = "secret:cells-robot"
BOUNCE = "bounce@example.com"  # refused for good: 550
FLAKY_MAIL = "flaky@example.com"  # refused once: 451, then accepted


class Portal:
    portal_base_url: str | None = BASE
    portal_secret: SecretStr | None = SecretStr("p" * 40)
    portal_link_days = 30


def person_columns(k: int, code: str) -> dict[str, str]:
    """Cell ``k``'s person columns (and overrides of its synthetic contact)."""
    tag = code.lower()
    match k % 6:
        case 0:  # a WeCom member; every fifth is not (81013) and falls back to SMS
            return {"企业微信账号": f"w-{tag}", "email": ""}
        case 1:  # a DingTalk member only
            return {"钉钉账号": f"d-{tag}", "mobile": "", "email": ""}
        case 2:  # a mobile only
            return {"email": ""}
        case 3:  # a named mailbox only
            return {"mobile": ""}
        case 4:  # two persons: a WeCom member, and a 联络员 with a mobile
            return {
                "职务": "负责人",
                "企业微信账号": f"w-{tag}",
                "email": "",
                "联系人2": "联络员甲",
                "职务2": "联络员",
                "手机2": f"198{k:08d}",
            }
        case _:  # no person: a group robot and a shared mailbox
            return {"contact": "", "mobile": "", "wecom": ROBOT_REF}


def roster(directory: Path) -> tuple[Path, dict[str, str]]:
    """The roster, and the name of every cell by code."""
    path = directory / "synth.csv"
    write_roster(load_campaign(SEED_CONFIG), CELLS, 2017, path)
    rows = read_csv(path)
    header = rows[0] + EXTRA
    out, names = [header], {}
    k = 0
    for row in rows[1:]:
        values = dict(zip(header, row + [""] * len(EXTRA), strict=True))
        if values["type"] == "cell":
            values.update(person_columns(k, values["code"]))
            if k % 5 == 4:
                values["name"] = f"{HOSTILE}{k}"
            names[values["code"]] = values["name"]
            k += 1
        out.append([values[h] for h in header])
    return write_csv(directory / "roster.csv", out), names


class Smtp(SmtpStandIn):
    """Refuses BOUNCE for good and FLAKY_MAIL once, as a real server's RCPT would."""

    flaked = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == BOUNCE:
            return "550 5.1.1 no such mailbox"
        if address == FLAKY_MAIL and not self.flaked:
            self.flaked = True
            return "451 4.3.0 try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


@dataclass
class FlakyWeCom(WeComAPI):
    """Answers -1 (busy) to the first send to ``flaky``."""

    flaky: str = ""
    flaked: bool = False

    def answer(self, request: Request) -> tuple[int, Any]:
        sending = request.path == "/cgi-bin/message/send" and not self.flaked
        if sending and request.json().get("touser") == self.flaky:
            self.flaked = True
            return 200, {"errcode": -1, "errmsg": "system busy"}
        return super().answer(request)


@dataclass
class StandIns:
    wecom: FlakyWeCom
    dingtalk: DingTalkAPI
    sms: AliyunSmsAPI | TencentSmsAPI
    smtp: Smtp
    robot: HttpStandIn


def robot_answer(request: Request) -> tuple[int, Any]:
    return 200, {"errcode": 0, "errmsg": "ok"}


@pytest.fixture(params=["aliyun", "tencent"])
def stand_ins(request: pytest.FixtureRequest) -> Iterator[StandIns]:
    sms: AliyunSmsAPI | TencentSmsAPI = (
        AliyunSmsAPI() if request.param == "aliyun" else TencentSmsAPI()
    )
    wecom_api = FlakyWeCom()
    wecom_api.start()
    smtp = Smtp()
    smtp.start()
    s = StandIns(
        wecom_api, DingTalkAPI().start(), sms.start(), smtp, HttpStandIn(robot_answer).start()
    )
    yield s
    for server in (s.wecom, s.dingtalk, s.sms, s.smtp, s.robot):
        server.stop()


def channels(s: StandIns, robot_refs: set[str]) -> dict[str, Channel]:
    secrets = {
        "secret:w": wecom.CORPSECRET,
        "secret:d": dingtalk.APPSECRET,
        **dict.fromkeys(robot_refs, "robot-key-0123"),
    }
    if isinstance(s.sms, AliyunSmsAPI):
        secrets |= {"secret:sms-id": aliyun.KEY_ID, "secret:sms-key": aliyun.KEY_SECRET}
        sms = SmsConfig(
            vendor="aliyun",
            sign_name="徐城平安办",
            access_key_id="secret:sms-id",
            access_key_secret="secret:sms-key",
            endpoint=s.sms.endpoint,
            templates={
                "escalation": SmsTemplate(
                    code="SMS_1", params=["unit", "item", "days", "link"], link_prefix=BASE + "/k/"
                )
            },
        )
    else:
        secrets |= {"secret:sms-id": tencent.SECRET_ID, "secret:sms-key": tencent.SECRET_KEY}
        sms = SmsConfig(
            vendor="tencent",
            sign_name="徐城平安办",
            access_key_id="secret:sms-id",
            access_key_secret="secret:sms-key",
            sdk_app_id=tencent.APP_ID,
            endpoint=s.sms.endpoint,
            templates={"escalation": SmsTemplate(code="100001", params=["unit", "days"])},
        )
    resolver = MappingSecretResolver(secrets)
    w = WeComAppConfig(
        corpid=wecom.CORPID, corpsecret="secret:w", agentid=1000002, base_url=s.wecom.base_url
    )
    d = DingTalkWorkConfig(
        appkey=dingtalk.APPKEY, appsecret="secret:d", agent_id=2233, base_url=s.dingtalk.base_url
    )
    smtp = SmtpSettings(
        host="127.0.0.1", port=s.smtp.port, security="none", from_address="zzzx@example.org"
    )
    return {
        "wecom-app": WeComApp(resolver, w, timeout=10),
        "dingtalk-work": DingTalkWork(resolver, d, timeout=10),
        "sms": SmsChannel(resolver, sms, timeout=10),
        "email": EmailChannel(resolver, smtp, timeout=10),
        "wecom": WeComRobot(resolver, base_url=s.robot.base_url, timeout=10),
    }


@dataclass
class Run:
    db: Loaded
    s: StandIns
    names: dict[str, str]
    non_members: set[str]

    def deliveries(self) -> list[Any]:
        return self.db.rows(
            "SELECT d.*, u.code AS unit_code, u.kind AS unit_kind FROM delivery d "
            "JOIN notification n ON n.id = d.notification_id "
            "JOIN unit u ON u.id = n.recipient_unit_id ORDER BY d.id"
        )


def clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


@pytest.fixture
def delivered(engine: Engine, tmp_path: Path, stand_ins: StandIns) -> Run:
    path, names = roster(tmp_path)
    db = load_seed(engine, tmp_path, roster=path)
    evaluate_and_plan(engine, db.handle, DAY)
    # Two escalated cells' named mailboxes: one refused for good, one refused once.
    mailboxes = db.rows(
        "SELECT c.id FROM contact c JOIN notification n ON n.recipient_unit_id = c.unit_id "
        "JOIN unit u ON u.id = c.unit_id WHERE u.kind = 'cell' AND c.name IS NOT NULL "
        "AND c.email IS NOT NULL AND c.mobile IS NULL ORDER BY c.id"
    )
    for row, address in zip(mailboxes, (BOUNCE, FLAKY_MAIL), strict=False):
        db.execute("UPDATE contact SET email = :e WHERE id = :i", {"e": address, "i": row.id})
    userids = [r.wecom_userid for r in db.rows("SELECT wecom_userid FROM contact")]
    members = sorted(u for u in userids if u)
    non_members = set(members[::5])
    stand_ins.wecom.members = set(members) - non_members
    stand_ins.wecom.flaky = members[1]
    refs = {r.wecom_ref for r in db.rows("SELECT wecom_ref FROM contact") if r.wecom_ref}
    chans = channels(stand_ins, refs)
    policy = DispatchPolicy(rate_per_minute={}, base_backoff_s=60, jitter=0, batch=200)
    for at in (T0, T0 + timedelta(hours=1)):
        dispatch(
            engine,
            db.handle.campaign,
            db.cid,
            chans,
            policy,
            portal=Portal(),
            now_fn=clock(at),
            sleep_fn=lambda seconds: None,
        )
    for channel in chans.values():
        close = getattr(channel, "close", None)
        if callable(close):
            close()
    return Run(db, stand_ins, names, non_members)


def test_every_message_reaches_each_person_and_group_exactly_once(delivered: Run) -> None:
    rows = delivered.deliveries()
    personal = Counter(
        (r.notification_id, r.contact_id)
        for r in rows
        if r.state == "sent" and r.contact_id is not None
    )
    assert personal and set(personal.values()) == {1}
    # Every person of every cell was reached (the bounced mailbox's person excepted).
    persons = {(r.notification_id, r.contact_id) for r in rows if r.contact_id is not None}
    dead_only = persons - set(personal)
    assert len(dead_only) == 1
    # What the stand-ins received matches what the database counts as sent, one each.
    sent = Counter(r.channel for r in rows if r.state == "sent")
    print(f"cells={CELLS} deliveries={len(rows)} sent by channel={dict(sent)}")
    s = delivered.s
    assert len(s.wecom.messages) == sent["wecom-app"]
    assert len(s.dingtalk.messages) == sent["dingtalk-work"] > 0
    assert len(s.sms.sent) == sent["sms"] > 0
    assert len(s.smtp.envelopes) == sent["email"] > 0
    assert len(s.robot.requests) >= sent["wecom"] > 0
    assert Counter(m["touser"] for m in s.wecom.messages).most_common(1)[0][1] == 1
    assert Counter(x[0] for x in s.sms.sent).most_common(1)[0][1] == 1
    assert Counter(tuple(e.rcpt_tos) for e in s.smtp.envelopes).most_common(1)[0][1] == 1


def test_no_robot_payload_carries_a_personal_link(delivered: Run) -> None:
    bodies = [r.body.decode("utf-8") for r in delivered.s.robot.requests]
    assert bodies and not any(BASE in b or "/u/" in b for b in bodies)
    posts = [json.loads(b) for b in bodies]
    markdowns = [p["markdown"]["content"] for p in posts if p["msgtype"] == "markdown"]
    assert markdowns and all("请查看个人消息" in m for m in markdowns if "逾期督办" in m)
    # Personal app messages do carry it, on their button.
    cards = [m for m in delivered.s.wecom.messages if m["msgtype"] == "textcard"]
    assert cards and all(m["textcard"]["url"].startswith(BASE + "/u/") for m in cards)


def test_an_sms_carries_its_unit_link_as_a_short_code(delivered: Run) -> None:
    if not isinstance(delivered.s.sms, AliyunSmsAPI):
        pytest.skip("the Tencent template here has no link variable")
    codes = [x[3]["link"] for x in delivered.s.sms.sent]
    assert codes and all(len(c) == 10 and c.isalnum() for c in codes)
    stored = {r.fingerprint for r in delivered.db.rows("SELECT fingerprint FROM short_link")}
    assert {code_fingerprint(c) for c in codes} <= stored


def raw(content: bytes | str | None) -> bytes:
    return content.encode() if isinstance(content, str) else content or b""


def test_hostile_names_are_shown_literally_on_every_channel(delivered: Run) -> None:
    hostile = [n for n in delivered.names.values() if n.startswith(HOSTILE)]
    assert hostile
    s = delivered.s
    robot = [
        json.loads(r.body)["markdown"]["content"]
        for r in s.robot.requests
        if "markdown" in json.loads(r.body)
    ]
    shown = [c for c in robot if "点此领取补贴" in c]
    assert shown and not any("[点此领取补贴](" in c or "<b>" in c for c in shown)
    mails = [message_from_bytes(raw(e.content), policy=policy.default) for e in s.smtp.envelopes]
    parts = [m.get_body(preferencelist=(kind,)) for m in mails for kind in ("plain", "html")]
    texts_ = [p.get_content() for p in parts if p is not None]
    plain = [t for t in texts_ if not t.lstrip().startswith("<")]
    html = [t for t in texts_ if t.lstrip().startswith("<")]
    assert any(n in text for n in hostile for text in plain)
    assert html and not any("<b>*急*</b>" in h for h in html)
    cards = [m["textcard"]["description"] for m in s.wecom.messages if m["msgtype"] == "textcard"]
    assert not any("<b>*急*</b>" in c for c in cards)
    texts = [json.dumps(m, ensure_ascii=False) for m in s.dingtalk.messages]
    assert not any(re.search(r"(?<!\\)\[点此领取补贴\]\(", t) for t in texts)


def test_permanent_failures_die_after_one_attempt_and_fall_back(delivered: Run) -> None:
    rows = delivered.deliveries()
    refused = [r for r in rows if r.channel == "wecom-app" and r.address in delivered.non_members]
    assert refused and {(r.state, r.attempts) for r in refused} == {("dead", 1)}
    for r in refused:
        (after,) = [
            x
            for x in rows
            if x.notification_id == r.notification_id
            and x.contact_id == r.contact_id
            and x.id != r.id
        ]
        assert (after.channel, after.state) == ("sms", "sent")
    (bounced,) = [r for r in rows if r.address == BOUNCE]
    assert (bounced.state, bounced.attempts) == ("dead", 1)


def test_transient_failures_are_retried_and_delivered_once(delivered: Run) -> None:
    retried = {
        (r.channel, r.address)
        for r in delivered.deliveries()
        if (r.state, r.attempts) == ("sent", 1)
    }
    assert retried == {("wecom-app", delivered.s.wecom.flaky), ("email", FLAKY_MAIL)}
    assert [m["touser"] for m in delivered.s.wecom.messages].count(delivered.s.wecom.flaky) == 1
