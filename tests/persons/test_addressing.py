"""Addressing: a unit's message goes to each of its persons on their preferred personal
channel, plus its group addresses; a dead delivery falls back to the person's next channel,
and a message that reached a person is never repeated."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pingan.adapters.channels.base import DeliveryError
from pingan.adapters.channels.fake import RecordingChannel
from pingan.adapters.outbox import dispatch, retry
from pingan.adapters.outbox.fallback import fall_back
from pingan.core.delivery import DispatchPolicy
from tests.persons.conftest import ALL_CHANNELS, FIRST, SECOND, T0, PersonsDb

PERMANENT = DeliveryError("userid 不存在", retryable=False, code="errcode:60111")


def routes(pdb: PersonsDb, code: str) -> set[tuple[Any, ...]]:
    return {(d.person, d.channel, d.address, d.rank) for d in pdb.deliveries(code)}


def test_each_person_gets_their_first_channel_and_the_group_robot_its_message(
    pdb: PersonsDb,
) -> None:
    pdb.expand()
    assert routes(pdb, FIRST) == {
        ("袁秀飞", "wecom-app", "zhang.san", 0),
        ("李四", "sms", "19911112222", 2),
        ("王五", "email", "wangwu@example.com", 3),
        (None, "wecom", "secret:first-group", None),
    }
    assert routes(pdb, SECOND) == {("崔志", "dingtalk-work", "ding-007", 1)}


def test_the_campaigns_preference_decides_the_order(pdb: PersonsDb) -> None:
    pdb.expand(preference=["email", "sms"])
    assert routes(pdb, FIRST) == {
        ("袁秀飞", "email", "syn-c0000001@example.com", 0),
        ("李四", "sms", "19911112222", 1),
        ("王五", "email", "wangwu@example.com", 0),
        (None, "wecom", "secret:first-group", None),
    }


def test_channels_the_dispatcher_lacks_are_skipped_in_the_ladder(pdb: PersonsDb) -> None:
    pdb.expand(channels={"sms", "email"})
    assert routes(pdb, FIRST) == {
        ("袁秀飞", "sms", "19900000004", 2),
        ("李四", "sms", "19911112222", 2),
        ("王五", "email", "wangwu@example.com", 3),
    }


def test_a_unit_whose_persons_use_only_disabled_channels_is_dead_with_the_reason(
    pdb: PersonsDb,
) -> None:
    pdb.expand(channels={"sms", "email"})
    (row,) = pdb.db.rows(
        "SELECT n.state, n.last_error FROM notification n JOIN unit u "
        "ON u.id = n.recipient_unit_id WHERE u.code = :k",
        k=SECOND,
    )
    assert (row.state, row.last_error) == (
        "dead",
        "收件单位登记的联系方式均不属于已启用的渠道（已登记：钉钉工作通知）",
    )


def test_a_named_persons_email_is_personal_and_an_unnamed_one_a_shared_mailbox(
    pdb: PersonsDb,
) -> None:
    pdb.db.execute(
        "INSERT INTO contact (unit_id, seq, email) VALUES (:u, 4, 'office@example.com')",
        {"u": pdb.db.unit_id(SECOND)},
    )
    pdb.expand()
    assert routes(pdb, SECOND) == {
        ("崔志", "dingtalk-work", "ding-007", 1),
        (None, "email", "office@example.com", None),
    }


def test_a_persons_email_that_is_also_the_shared_mailbox_stays_a_group_address(
    pdb: PersonsDb,
) -> None:
    pdb.db.execute(
        "INSERT INTO contact (unit_id, seq, email) VALUES (:u, 4, 'wangwu@example.com')",
        {"u": pdb.db.unit_id(FIRST)},
    )
    pdb.expand()
    mail = {r for r in routes(pdb, FIRST) if r[1] == "email"}
    # One delivery to that address, as the unit's (no person, so no personal link).
    assert mail == {(None, "email", "wangwu@example.com", None)}


def clock() -> Any:
    at = [T0]

    def now() -> datetime:
        return at[0]

    return now


def run(pdb: PersonsDb, channels: dict[str, RecordingChannel]) -> Any:
    policy = DispatchPolicy(rate_per_minute={}, jitter=0, max_attempts=3)
    db = pdb.db
    return dispatch(
        db.engine,
        db.handle.campaign,
        db.cid,
        channels,
        policy,
        now_fn=clock(),
        sleep_fn=lambda s: None,
    )


def channels(**failing: DeliveryError) -> dict[str, RecordingChannel]:
    out = {}
    for name in ALL_CHANNELS:
        error = failing.get(name.replace("-", "_"))
        out[name] = RecordingChannel(
            name,  # type: ignore[arg-type]
            fail="always" if error else 0,
            error=error or PERMANENT,
        )
    return out


def test_a_permanent_failure_falls_back_to_the_persons_next_channel_in_the_same_run(
    pdb: PersonsDb,
) -> None:
    chans = channels(wecom_app=PERMANENT)
    report = run(pdb, chans)
    got = {(d.person, d.channel, d.state, d.attempts) for d in pdb.deliveries(FIRST)}
    assert ("袁秀飞", "wecom-app", "dead", 1) in got
    assert ("袁秀飞", "sms", "sent", 0) in got
    assert report.fallbacks >= 1
    assert [t.address for t, _ in chans["sms"].sent].count("19900000004") == 1


def test_a_message_that_reached_a_person_is_never_sent_to_them_again(pdb: PersonsDb) -> None:
    chans = channels(wecom_app=PERMANENT)
    run(pdb, chans)
    run(pdb, chans)
    sent = Counter(
        (d.notification_id, d.contact_id)
        for d in pdb.deliveries()
        if d.state == "sent" and d.contact_id is not None
    )
    assert sent and set(sent.values()) == {1}
    # Every person of every notification was reached once.
    persons = Counter(
        (d.notification_id, d.contact_id) for d in pdb.deliveries() if d.contact_id is not None
    )
    assert set(persons) == set(sent)


def test_fallback_runs_out_when_the_person_has_no_further_channel(pdb: PersonsDb) -> None:
    run(pdb, channels(dingtalk_work=PERMANENT))
    got = [(d.person, d.channel, d.state) for d in pdb.deliveries(SECOND)]
    assert got == [("崔志", "dingtalk-work", "dead")]
    (state,) = pdb.db.rows(
        "SELECT n.state FROM notification n JOIN unit u ON u.id = n.recipient_unit_id "
        "WHERE u.code = :k",
        k=SECOND,
    )
    assert state.state == "dead"


def test_fallback_twice_inserts_the_next_delivery_once(pdb: PersonsDb) -> None:
    pdb.expand()
    pdb.db.execute("UPDATE delivery SET state = 'dead' WHERE channel = 'wecom-app'")
    with Session(pdb.db.engine) as session:
        first = fall_back(session, pdb.db.cid, T0, channels=ALL_CHANNELS)
        second = fall_back(session, pdb.db.cid, T0, channels=ALL_CHANNELS)
        session.commit()
    assert len(first) == 1 and second == []
    assert ("袁秀飞", "sms", "19900000004", 2) in routes(pdb, FIRST)


def test_two_dispatchers_falling_back_at_once_insert_one_delivery(pdb: PersonsDb) -> None:
    pdb.expand()
    pdb.db.execute("UPDATE delivery SET state = 'dead' WHERE channel = 'wecom-app'")
    barrier = threading.Barrier(2)
    got: list[list[int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with Session(pdb.db.engine) as session:
                barrier.wait(timeout=30)
                got.append(fall_back(session, pdb.db.cid, T0, channels=ALL_CHANNELS))
                session.commit()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    sms = [d for d in pdb.deliveries(FIRST) if d.person == "袁秀飞" and d.channel == "sms"]
    assert len(sms) == 1


def test_retrying_the_dead_leaves_out_persons_reached_on_another_channel(
    pdb: PersonsDb,
) -> None:
    run(pdb, channels(wecom_app=PERMANENT))
    result = retry(pdb.db.engine, dead=True, campaign_id=pdb.db.cid, now=T0)
    requeued = {(d.person, d.channel) for d in pdb.deliveries(FIRST) if d.state == "queued"}
    assert ("袁秀飞", "wecom-app") not in requeued
    assert result.deliveries == len([d for d in pdb.deliveries() if d.state == "queued"])
