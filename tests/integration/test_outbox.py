"""The outbox dispatcher on a real database (SQLite and PostgreSQL): expansion into
deliveries, leases, retries and back-off, shared rate limits, quiet hours, cancellation,
roll-up, re-queueing and frozen message texts.

The seed campaign is loaded with a 20-cell synthetic roster and ticked for Monday
2017-05-22: 13 escalations and 4 digests. Lead units and the coordinator have no contact
rows, six escalated cells have an email, and the three villages an email and a WeCom robot.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from pingan.adapters.channels.base import ChannelName, DeliveryError, Message, Receipt, Target
from pingan.adapters.db.base import table
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow, message_key
from pingan.adapters.db.session import make_engine
from pingan.adapters.db.units import UnitRow
from pingan.adapters.outbox import (
    CANCELLED,
    LEASE_EXPIRED,
    NO_CONTACT,
    NO_ENABLED,
    claim,
    dispatch,
    expand,
    expansion,
    list_outbox,
    retry,
)
from pingan.core.calendar import WorkingCalendar
from pingan.core.delivery import DispatchPolicy
from pingan.core.quiet import QuietPolicy
from pingan.core.timeofday import QuietHours
from tests.factories import Loaded, load_seed

# 10:00 in Shanghai on Monday 2017-05-22, a working day.
T0 = datetime(2017, 5, 22, 2, 0)
TICK_DAY = date(2017, 5, 22)


class Clock:
    """A fake clock: ``sleep`` advances it, so nothing in these tests really waits."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    sleep = advance


Outcome = DeliveryError | Callable[[], None] | None


@dataclass
class FakeChannel:
    """Succeeds unless told otherwise: ``script`` maps an address to the outcomes of its
    successive sends (a DeliveryError to raise, a callable to run before succeeding, or
    None); ``always`` fails every send."""

    name: ChannelName
    script: dict[str, list[Outcome]] = field(default_factory=dict)
    always: DeliveryError | None = None
    parts: int = 1
    sent: list[tuple[Target, Message]] = field(default_factory=list)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, target: Target, message: Message) -> Receipt:
        with self.lock:
            self.calls += 1
            queue = self.script.get(target.address)
            outcome = queue.pop(0) if queue else None
        if self.always is not None:
            raise DeliveryError(
                self.always.detail,
                self.always.retryable,
                self.always.code,
                self.always.retry_after_s,
            )
        if isinstance(outcome, DeliveryError):
            raise outcome
        if outcome is not None:
            outcome()
        with self.lock:
            self.sent.append((target, message))
        return Receipt(parts=self.parts)

    def endpoint(self, target: Target) -> str:
        return f"{self.name}:{target.address}"


def retryable(detail: str = "服务器繁忙", retry_after_s: float | None = None) -> DeliveryError:
    return DeliveryError(detail, True, "http:500", retry_after_s)


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    loaded = load_seed(engine, tmp_path, cells=20)
    loaded.tick(TICK_DAY)
    return loaded


def deliveries(db: Loaded) -> list[Any]:
    """Typed reads (raw SQL on SQLite would return timestamps as text)."""
    d, n, u = table(DeliveryRow).c, table(NotificationRow).c, table(UnitRow).c
    query = (
        select(table(DeliveryRow), message_key(n).label("dedupe_key"), u.code.label("unit_code"))
        .join(table(NotificationRow), n.id == d.notification_id)
        .join(table(UnitRow), u.id == n.recipient_unit_id)
        .where(d.campaign_id == db.cid)
        .order_by(d.id)
    )
    with db.engine.connect() as conn:
        return list(conn.execute(query))


def notification_states(db: Loaded) -> dict[int, str]:
    return {r.id: r.state for r in db.notifications()}


def run(
    db: Loaded, channels: dict[str, Any], clock: Clock, engine: Engine | None = None, **kw: Any
) -> Any:
    kw.setdefault("rate_per_minute", {})
    kw.setdefault("jitter", 0)  # exact back-off times; jitter has its own test
    return dispatch(
        engine or db.engine,
        db.handle.campaign,
        db.cid,
        channels,
        DispatchPolicy(**kw),
        now_fn=clock,
        sleep_fn=clock.sleep,
    )


# The channels of these tests: the group ones and email (SMS and the app channels have
# tests of their own in tests/persons/).
CHANNELS = {"email", "wecom", "dingtalk", "webhook"}


def do_expand(db: Loaded, **kw: Any) -> Any:
    from sqlalchemy.orm import Session

    kw.setdefault("channels", CHANNELS)
    with Session(db.engine) as session:
        result = expand(session, db.cid, T0, **kw)
        session.commit()
    return result


def add_notifications(db: Loaded, unit_code: str, count: int, prefix: str = "b") -> list[int]:
    """Pre-rendered bulletins straight into the outbox, as a planner would leave them."""
    unit = db.unit_id(unit_code)
    rows = [
        {
            "campaign_id": db.cid,
            "dedupe_key": f"{db.cid}:{prefix}:{unit}:{i}",
            "kind": "bulletin",
            "recipient_unit_id": unit,
            "planned_on": TICK_DAY,
            "subject": f"通报 {i}",
            "body": f"第 {i} 号通报\n",
            "next_attempt_at": T0,
        }
        for i in range(count)
    ]
    with db.engine.begin() as conn:
        conn.execute(insert(NotificationRow), rows)
    return [
        int(r.id)
        for r in db.rows(
            "SELECT id FROM notification WHERE dedupe_key LIKE :p ORDER BY id",
            p=f"{db.cid}:{prefix}:%",
        )
    ]


def village(db: Loaded, k: int = 1) -> str:
    return f"SYN-V{k:05d}"


def escalated_cell(db: Loaded) -> Any:
    """An escalation to a cell that has an email (and no robot)."""
    return db.rows(
        "SELECT n.id, n.obligation_id, u.code FROM notification n "
        "JOIN unit u ON u.id = n.recipient_unit_id "
        "WHERE n.campaign_id = :c AND n.kind = 'escalation' AND u.kind = 'cell' ORDER BY n.id"
    )[0]


# --- expand ---------------------------------------------------------------------------------


def test_expand_creates_one_delivery_per_distinct_contact_address(db: Loaded) -> None:
    cell = escalated_cell(db)
    email = db.scalar(
        "SELECT c.email FROM contact c JOIN unit u ON u.id = c.unit_id WHERE u.code = :k",
        k=cell.code,
    )
    # A second contact repeating the email and adding a webhook: the email is not doubled.
    db.execute(
        "INSERT INTO contact (unit_id, name, email, webhook_ref) VALUES (:u, '李四', :e, :w)",
        {"u": db.unit_id(cell.code), "e": email, "w": "secret:oa-hook"},
    )
    result = do_expand(db)
    got = Counter((r.unit_code, r.channel) for r in deliveries(db))
    assert got[(cell.code, "email")] == 1
    assert got[(cell.code, "webhook")] == 1
    for k in (1, 2, 3):
        assert got[(village(db, k), "email")] == 1
        assert got[(village(db, k), "wecom")] == 1
    assert result.deliveries == sum(got.values()) == 6 + 1 + 3 * 2
    assert {r.state for r in deliveries(db)} == {"queued"}


def test_expand_marks_notifications_of_units_without_contact_dead(db: Loaded) -> None:
    result = do_expand(db)
    dead = db.rows(
        "SELECT n.kind, n.last_error, u.kind AS unit_kind FROM notification n "
        "JOIN unit u ON u.id = n.recipient_unit_id WHERE n.state = 'dead'"
    )
    # The four lead units' escalations and the four digests (leads and coordinator).
    assert result.dead == len(dead) == 8
    assert {r.last_error for r in dead} == {NO_CONTACT}
    assert {r.unit_kind for r in dead} <= {"org", "coordinator"}


def test_expand_twice_creates_nothing_more(db: Loaded) -> None:
    do_expand(db)
    before = len(deliveries(db))
    again = do_expand(db)
    assert (again.deliveries, again.dead) == (0, 0)
    assert len(deliveries(db)) == before


def test_expand_that_reaches_every_notification_looks_for_no_unreachable_one(
    db: Loaded,
) -> None:
    from sqlalchemy import event

    do_expand(db)  # the seed's unreachable notifications are dead from here on
    add_notifications(db, village(db), 5)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        result = do_expand(db)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert (result.deliveries, result.dead) == (5 * 2, 0)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE NOTIFICATION")]


def test_expand_in_small_chunks_makes_the_deliveries_one_chunk_makes(
    db: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    def outcome() -> tuple[set[Any], set[Any]]:
        made = {(r.notification_id, r.channel, r.address, r.contact_id) for r in deliveries(db)}
        dead = set(db.rows("SELECT id, last_error FROM notification WHERE state = 'dead'"))
        return made, dead

    add_notifications(db, village(db), 25)  # more notifications than chunks of 4 hold
    monkeypatch.setattr(expansion, "EXPAND_CHUNK", 4)
    small = do_expand(db)
    in_chunks = outcome()
    db.execute("DELETE FROM delivery WHERE campaign_id = :c")
    db.execute("UPDATE notification SET state = 'queued', last_error = NULL WHERE campaign_id = :c")
    monkeypatch.setattr(expansion, "EXPAND_CHUNK", 100_000)
    whole = do_expand(db)
    assert (small.deliveries, small.dead) == (whole.deliveries, whole.dead)
    assert in_chunks == outcome()
    assert small.deliveries > 4 * 10 and small.dead > 0


def test_expand_limited_to_enabled_channels_kills_units_reachable_only_elsewhere(
    db: Loaded,
) -> None:
    do_expand(db, channels={"wecom"})
    assert {r.channel for r in deliveries(db)} == {"wecom"}
    cell = escalated_cell(db)
    row = db.rows("SELECT state, last_error FROM notification WHERE id = :i", i=cell.id)[0]
    assert row.state == "dead" and row.last_error.startswith(NO_ENABLED)


def test_channel_override_makes_one_demo_delivery_per_notification(db: Loaded) -> None:
    do_expand(db, channel_override="file")
    rows = deliveries(db)
    assert len(rows) == len(db.notifications()) == 17
    assert {(r.channel, r.address) for r in rows} == {("file", "demo")}
    assert "dead" not in notification_states(db).values()


# --- claim ----------------------------------------------------------------------------------


def test_claim_leases_each_row_once_across_two_concurrent_owners(db: Loaded, db_url: str) -> None:
    add_notifications(db, village(db), 300)
    do_expand(db, channel_override="file")
    total = len(deliveries(db))
    barrier = threading.Barrier(2)
    got: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(owner: str) -> None:
        eng = make_engine(db_url)
        try:
            barrier.wait(timeout=30)
            for _ in range(500):
                rows = claim(eng, db.cid, owner, T0, limit=7, lease_s=600)
                if not rows:
                    return
                got[owner] += [r.id for r in rows]
        except BaseException as exc:
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=worker, args=(o,)) for o in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    a, b = got["a"], got["b"]
    assert len(a) == len(set(a)) and len(b) == len(set(b))
    assert not set(a) & set(b)
    assert len(a) + len(b) == total
    owners = Counter(r.lease_owner for r in deliveries(db))
    # Counter equality treats a missing owner as zero: one thread may win every claim.
    assert owners == Counter({"a": len(a), "b": len(b)})


def test_claim_skips_rows_not_yet_due(db: Loaded) -> None:
    do_expand(db)
    db.execute(
        "UPDATE delivery SET next_attempt_at = :t WHERE campaign_id = :c",
        {"t": T0 + timedelta(minutes=5), "c": db.cid},
    )
    assert claim(db.engine, db.cid, "a", T0, limit=100, lease_s=60) == []
    assert len(claim(db.engine, db.cid, "a", T0 + timedelta(minutes=5), 100, 60)) == 12


# --- sending and marking ---------------------------------------------------------------------


def test_successful_send_marks_delivery_sent_with_time_and_parts(db: Loaded) -> None:
    clock = Clock()
    email, wecom = FakeChannel("email", parts=1), FakeChannel("wecom", parts=3)
    report = run(db, {"email": email, "wecom": wecom}, clock)
    rows = deliveries(db)
    assert report.sent == len(rows) == 12
    assert {r.state for r in rows} == {"sent"}
    assert {(r.channel, r.parts) for r in rows} == {("email", 1), ("wecom", 3)}
    assert all(r.sent_at is not None and r.lease_until is None for r in rows)
    assert {r.endpoint for r in rows if r.channel == "wecom"} == {
        f"wecom:secret:wecom-{village(db, k).lower()}" for k in (1, 2, 3)
    }


def test_retryable_failure_backs_off_exponentially_and_dies_at_max_attempts(
    db: Loaded,
) -> None:
    clock = Clock()
    cell = escalated_cell(db)
    chan = FakeChannel("email", always=retryable())
    do_expand(db)
    db.execute("DELETE FROM notification WHERE id <> :i", {"i": cell.id})
    seen: list[tuple[str, int, float | None]] = []
    for _ in range(6):
        run(db, {"email": chan}, clock, base_backoff_s=60, max_attempts=6)
        (row,) = deliveries(db)
        gap = (row.next_attempt_at - clock.at).total_seconds() if row.state == "failed" else None
        seen.append((row.state, row.attempts, gap))
        if row.state == "failed":
            clock.at = row.next_attempt_at
    assert seen == [
        ("failed", 1, 60),
        ("failed", 2, 120),
        ("failed", 3, 240),
        ("failed", 4, 480),
        ("failed", 5, 960),
        ("dead", 6, None),
    ]
    assert chan.calls == 6
    assert row.last_error == "http:500: 服务器繁忙"


def test_backoff_is_capped_at_six_hours(db: Loaded) -> None:
    clock = Clock()
    chan = FakeChannel("email", always=retryable())
    gaps = []
    for _ in range(5):
        run(db, {"email": chan}, clock, base_backoff_s=3600, max_attempts=20)
        row = deliveries(db)[0]
        gaps.append((row.next_attempt_at - clock.at).total_seconds())
        clock.at = row.next_attempt_at
    assert gaps == [3600, 7200, 14400, 21600, 21600]


def test_retry_after_from_the_channel_replaces_the_back_off(db: Loaded) -> None:
    clock = Clock()
    chan = FakeChannel("email", always=retryable("限流", retry_after_s=90))
    run(db, {"email": chan}, clock, base_backoff_s=60)
    row = deliveries(db)[0]
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.next_attempt_at == T0 + timedelta(seconds=90)


def test_permanent_error_is_dead_at_once(db: Loaded) -> None:
    clock = Clock()
    chan = FakeChannel("email", always=DeliveryError("地址不存在", False, "smtp:550"))
    report = run(db, {"email": chan}, clock)
    rows = deliveries(db)
    assert report.dead == len(rows) == 9
    assert report.failed == 0
    assert {(r.state, r.attempts, r.last_error) for r in rows} == {
        ("dead", 1, "smtp:550: 地址不存在")
    }


def test_unexpected_exception_is_retried_without_its_text(db: Loaded) -> None:
    clock = Clock()

    def boom() -> None:
        raise RuntimeError("https://qyapi.weixin.qq.com/?key=SECRET")

    cell = escalated_cell(db)
    email = db.scalar(
        "SELECT c.email FROM contact c JOIN unit u ON u.id = c.unit_id WHERE u.code = :k",
        k=cell.code,
    )
    chan = FakeChannel("email", script={email: [boom]})
    run(db, {"email": chan}, clock)
    row = next(r for r in deliveries(db) if r.address == email)
    assert (row.state, row.last_error) == ("failed", "未预期的错误：RuntimeError")


def test_expired_lease_of_a_dead_worker_returns_its_rows(db: Loaded) -> None:
    clock = Clock()
    do_expand(db)
    held = claim(db.engine, db.cid, "crashed", T0, limit=100, lease_s=30)
    assert len(held) == 12
    chan = {"email": FakeChannel("email"), "wecom": FakeChannel("wecom")}
    clock.advance(10)
    assert run(db, chan, clock).sent == 0  # still leased by the crashed worker
    clock.advance(21)
    report = run(db, chan, clock)
    assert report.sent == 12
    rows = deliveries(db)
    # The interrupted try counts as an attempt, so a message that kills workers dies.
    assert {(r.state, r.attempts, r.last_error) for r in rows} == {("sent", 1, LEASE_EXPIRED)}


def test_worker_whose_lease_was_taken_over_does_not_mark_the_row(db: Loaded) -> None:
    clock = Clock()
    cell = escalated_cell(db)
    do_expand(db)
    db.execute("DELETE FROM notification WHERE id <> :i", {"i": cell.id})
    email = deliveries(db)[0].address

    def slow_send() -> None:
        # The send outlives the lease and another worker takes the row over meanwhile.
        clock.advance(120)
        assert len(claim(db.engine, db.cid, "other", clock.at, 10, 60)) == 1

    chan = FakeChannel("email", script={email: [slow_send]})
    report = run(db, {"email": chan}, clock, lease_s=60)
    assert (report.sent, report.lost_leases) == (0, 1)
    (row,) = deliveries(db)
    assert (row.state, row.lease_owner) == ("leased", "other")


def test_long_batch_renews_its_lease_so_no_other_worker_takes_rows_over(db: Loaded) -> None:
    clock = Clock()
    cells = db.rows(
        "SELECT n.id FROM notification n JOIN unit u ON u.id = n.recipient_unit_id "
        "WHERE u.kind = 'cell' ORDER BY n.id LIMIT 3"
    )
    db.execute(
        "DELETE FROM notification WHERE id NOT IN (:a, :b, :c)",
        {"a": cells[0].id, "b": cells[1].id, "c": cells[2].id},
    )
    stolen: list[int] = []

    def slow_send() -> None:
        clock.advance(40)  # each send takes two thirds of the 60 s lease
        stolen.extend(r.id for r in claim(db.engine, db.cid, "other", clock.at, 10, 60))

    do_expand(db)
    addresses = [r.address for r in deliveries(db)]
    chan = FakeChannel("email", script={a: [slow_send] for a in addresses})
    report = run(db, {"email": chan}, clock, lease_s=60)
    assert stolen == []
    assert (report.sent, report.lost_leases) == (3, 0)


def test_dispatch_rolls_up_notifications_a_killed_worker_left_behind(db: Loaded) -> None:
    do_expand(db)
    # A worker marked every delivery and died before rolling the notifications up.
    db.execute("UPDATE delivery SET state = 'sent', parts = 1 WHERE campaign_id = :c")
    assert set(notification_states(db).values()) == {"queued", "dead"}
    run(db, {"email": FakeChannel("email"), "wecom": FakeChannel("wecom")}, Clock())
    assert set(notification_states(db).values()) == {"sent", "dead"}


def test_delivery_for_a_channel_without_implementation_is_dead(db: Loaded) -> None:
    do_expand(db)  # every channel, as if wecom had been configured earlier
    report = run(db, {"email": FakeChannel("email")}, Clock())
    wecom = [r for r in deliveries(db) if r.channel == "wecom"]
    assert report.dead == len(wecom) == 3
    assert {r.last_error for r in wecom} == {"渠道 wecom 未启用，无法发送"}


# --- rate limits and quiet hours ---------------------------------------------------------------


def test_rate_limit_holds_across_two_dispatchers_and_defers_the_excess(
    db: Loaded, db_url: str
) -> None:
    clock = Clock()
    add_notifications(db, village(db), 50)
    db.execute("DELETE FROM notification WHERE kind <> 'bulletin'")
    wecom = FakeChannel("wecom")
    engines = [make_engine(db_url), make_engine(db_url)]
    reports: list[Any] = []
    errors: list[BaseException] = []

    def window() -> None:
        barrier = threading.Barrier(2)

        def one(eng: Engine, owner: str) -> None:
            try:
                barrier.wait(timeout=30)
                reports.append(
                    run(
                        db,
                        {"wecom": wecom},
                        clock,
                        engine=eng,
                        owner=owner,
                        batch=5,
                        rate_per_minute={"wecom": 20},
                    )
                )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(e, f"w{i}")) for i, e in enumerate(engines)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)

    try:
        sent_per_window = []
        for _ in range(3):
            before = len(wecom.sent)
            window()
            sent_per_window.append(len(wecom.sent) - before)
            clock.advance(60)
    finally:
        for e in engines:
            e.dispose()
    assert not errors, errors
    assert sent_per_window == [20, 20, 10]
    assert sum(r.failed + r.dead for r in reports) == 0
    assert sum(r.rate_limited for r in reports[:2]) == 30
    assert {r.state for r in deliveries(db)} == {"sent"}
    assert {r.attempts for r in deliveries(db)} == {0}


def test_rate_limited_delivery_waits_in_queue_until_its_window_reopens(db: Loaded) -> None:
    clock = Clock()
    add_notifications(db, village(db), 3)
    report = run(db, {"wecom": FakeChannel("wecom")}, clock, rate_per_minute={"wecom": 2})
    assert report.rate_limited >= 1
    waiting = [r for r in deliveries(db) if r.state == "queued"]
    assert waiting
    assert {r.next_attempt_at for r in waiting} == {T0 + timedelta(seconds=60)}
    assert {r.attempts for r in waiting} == {0}


def test_quiet_hours_defer_everything_until_the_next_morning(db: Loaded) -> None:
    clock = Clock(datetime(2017, 5, 22, 13, 0))  # 21:00 in Shanghai
    email = FakeChannel("email")
    quiet = QuietPolicy(QuietHours.parse("20:00-08:00"), working_days_only=True, tz="Asia/Shanghai")
    report = run(db, {"email": email}, clock, quiet=quiet)
    assert email.sent == []
    assert report.quiet_until == datetime(2017, 5, 23, 0, 0)  # Tue 08:00 in Shanghai
    assert report.deferred == 9
    assert {r.state for r in deliveries(db)} == {"queued"}
    clock.at = report.quiet_until
    assert run(db, {"email": email}, clock, quiet=quiet).sent == 9


def test_quiet_policy_skips_non_working_days_of_the_campaign_calendar() -> None:
    cal = WorkingCalendar("cn")
    quiet = QuietPolicy(tz="Asia/Shanghai", is_working_day=cal.is_working_day)
    # Friday 2017-05-26 21:00 → Saturday 05-27 08:00, a 调休 make-up working day.
    assert quiet.next_allowed(datetime(2017, 5, 26, 13, 0)) == datetime(2017, 5, 27, 0, 0)
    # Saturday 21:00 → 05-28..30 are the 端午 holiday → Wednesday 05-31 08:00.
    assert quiet.next_allowed(datetime(2017, 5, 27, 13, 0)) == datetime(2017, 5, 31, 0, 0)
    assert quiet.next_allowed(datetime(2017, 5, 31, 2, 0)) is None  # 10:00 on a workday


def test_quiet_policy_parses_the_campaign_setting_and_rejects_nonsense() -> None:
    quiet = QuietPolicy.of("12:00-14:00", working_days_only=False)
    assert quiet.next_allowed(datetime(2017, 5, 28, 4, 30)) == datetime(2017, 5, 28, 6, 0)
    assert quiet.next_allowed(datetime(2017, 5, 28, 6, 0)) is None
    with pytest.raises(ValueError, match="HH:MM"):
        QuietPolicy.of("晚上八点")
    with pytest.raises(ValueError, match="25:00"):
        QuietPolicy.of("25:00-08:00")


# --- cancellation, roll-up, retry, frozen texts ---------------------------------------------


def test_deliveries_of_an_obligation_done_before_sending_are_cancelled(db: Loaded) -> None:
    cell = escalated_cell(db)
    db.set_done(cell.obligation_id, TICK_DAY)
    email = FakeChannel("email")
    report = run(db, {"email": email}, Clock())
    (row,) = [r for r in deliveries(db) if r.notification_id == cell.id]
    assert (row.state, row.last_error) == ("cancelled", CANCELLED)
    assert report.cancelled == 1
    assert notification_states(db)[cell.id] == "cancelled"
    assert all(m.dedupe_key != row.dedupe_key for _, m in email.sent)


def test_deliveries_of_a_waived_obligation_are_cancelled(db: Loaded) -> None:
    cell = escalated_cell(db)
    db.execute(
        "UPDATE obligation SET waived = :t WHERE id = :i", {"t": True, "i": cell.obligation_id}
    )
    run(db, {"email": FakeChannel("email")}, Clock())
    assert notification_states(db)[cell.id] == "cancelled"


def test_notification_rolls_up_from_its_deliveries(db: Loaded) -> None:
    clock = Clock()
    v1, v2 = (f"secret:wecom-{village(db, k).lower()}" for k in (1, 2))
    wecom = FakeChannel(
        "wecom",
        script={
            v1: [DeliveryError("机器人 key 无效", False, "errcode:93000")],
            v2: [retryable()],
        },
    )
    email_v3 = f"{village(db, 3).lower()}@example.com"
    email = FakeChannel("email", script={email_v3: [DeliveryError("退信", False, "smtp:550")]})
    db.execute(
        "UPDATE contact SET wecom_ref = NULL, email = :e WHERE unit_id = :u",
        {"e": email_v3, "u": db.unit_id(village(db, 3))},
    )
    run(db, {"email": email, "wecom": wecom}, clock)
    by_unit = {
        r.code: r.state
        for r in db.rows(
            "SELECT u.code, n.state FROM notification n JOIN unit u ON u.id = n.recipient_unit_id"
        )
    }
    assert by_unit[village(db, 1)] == "sent"  # email sent; the dead robot is a dead delivery
    assert by_unit[village(db, 2)] == "failed"  # the robot waits for a retry
    assert by_unit[village(db, 3)] == "dead"  # its only delivery is dead
    assert by_unit[escalated_cell(db).code] == "sent"
    row = db.rows(
        "SELECT attempts, last_error FROM notification n JOIN unit u "
        "ON u.id = n.recipient_unit_id WHERE u.code = :k",
        k=village(db, 3),
    )[0]
    assert (row.attempts, row.last_error) == (1, "smtp:550: 退信")


def test_retry_dead_requeues_dead_deliveries_and_contactless_notifications(
    db: Loaded,
) -> None:
    clock = Clock()
    chan = FakeChannel("email", always=DeliveryError("地址不存在", False, "smtp:550"))
    run(db, {"email": chan}, clock)
    assert {r.state for r in deliveries(db)} == {"dead"}
    # An operator fixes the addresses and registers the lead units' contacts, then retries.
    for code in ("jdjb", "xcwsy", "jdfl", "ajb", "zzw"):
        db.execute(
            "INSERT INTO contact (unit_id, email) VALUES (:u, :e)",
            {"u": db.unit_id(code), "e": f"{code}@example.com"},
        )
    result = retry(db.engine, dead=True, campaign_id=db.cid, now=clock.at)
    assert (result.deliveries, result.notifications) == (9, 8)
    assert {(r.state, r.attempts) for r in deliveries(db)} == {("queued", 0)}
    assert set(notification_states(db).values()) == {"queued"}
    report = run(db, {"email": FakeChannel("email")}, clock)
    assert report.sent == 17
    assert set(notification_states(db).values()) == {"sent"}


def test_retry_by_id_requeues_only_that_delivery_and_reports_unknown_ids(db: Loaded) -> None:
    clock = Clock()
    chan = FakeChannel("email", always=DeliveryError("地址不存在", False, "smtp:550"))
    run(db, {"email": chan}, clock)
    first, *rest = [r.id for r in deliveries(db)]
    result = retry(db.engine, [first, 999_999], now=clock.at)
    assert (result.deliveries, result.not_found) == (1, [999_999])
    states = {r.id: r.state for r in deliveries(db)}
    assert states[first] == "queued"
    assert {states[i] for i in rest} == {"dead"}


def test_rendered_subject_and_body_are_stored_once_and_reused(db: Loaded) -> None:
    clock = Clock()
    cell = escalated_cell(db)
    email = FakeChannel("email", always=retryable())
    run(db, {"email": email}, clock, base_backoff_s=60)
    stored = db.rows("SELECT subject, body FROM notification WHERE id = :i", i=cell.id)[0]
    assert "逾期督办" in stored.subject and "已逾期" in stored.body
    # Whatever the data says later, a retry sends the text that was frozen.
    db.execute(
        "UPDATE notification SET subject = :s WHERE id = :i", {"s": "冻结的标题", "i": cell.id}
    )
    clock.advance(61)
    email.always = None
    run(db, {"email": email}, clock)
    subjects = {m.subject for _, m in email.sent if m.dedupe_key == stored_key(db, cell.id)}
    assert subjects == {"冻结的标题"}


def stored_key(db: Loaded, nid: int) -> str:
    with db.engine.connect() as conn:
        return str(conn.scalar(select(message_key()).where(table(NotificationRow).c.id == nid)))


def test_every_channel_of_a_notification_sends_the_same_text(db: Loaded) -> None:
    email, wecom = FakeChannel("email"), FakeChannel("wecom")
    run(db, {"email": email, "wecom": wecom}, Clock())
    texts: dict[str, set[tuple[str, str]]] = {}
    for _, m in email.sent + wecom.sent:
        texts.setdefault(str(m.dedupe_key), set()).add((m.subject, m.body))
    assert len(texts) == 9
    assert all(len(v) == 1 for v in texts.values())


def test_list_outbox_shows_deliveries_and_contactless_notifications_by_state(
    db: Loaded,
) -> None:
    run(db, {"email": FakeChannel("email"), "wecom": FakeChannel("wecom")}, Clock())
    dead = list_outbox(db.engine, db.cid, state="dead")
    assert len(dead) == 8
    assert {(e.delivery_id, e.last_error) for e in dead} == {(None, NO_CONTACT)}
    sent = list_outbox(db.engine, db.cid, state="sent")
    assert len(sent) == 12 and all(e.delivery_id for e in sent)
    assert len(list_outbox(db.engine, db.cid, limit=5)) == 5


def test_list_outbox_rejects_an_unknown_state(db: Loaded) -> None:
    from pingan.core.problems import InputError

    with pytest.raises(InputError, match="未知状态"):
        list_outbox(db.engine, db.cid, state="lost")


def test_dispatch_waits_for_short_retries_when_asked(db: Loaded) -> None:
    clock = Clock()
    cell = escalated_cell(db)
    email_addr = db.scalar(
        "SELECT c.email FROM contact c JOIN unit u ON u.id = c.unit_id WHERE u.code = :k",
        k=cell.code,
    )
    email = FakeChannel("email", script={email_addr: [retryable(), retryable()]})
    report = run(db, {"email": email}, clock, base_backoff_s=1, wait_up_to_s=10)
    assert report.sent == 9 and report.failed == 2
    assert report.next_due_at is None
    assert clock.at == T0 + timedelta(seconds=3)  # slept 1 s, then 2 s, on the fake clock


def test_every_timestamp_written_comes_from_the_injected_clock(db: Loaded) -> None:
    clock = Clock(datetime(2030, 1, 1))
    run(db, {"email": FakeChannel("email"), "wecom": FakeChannel("wecom")}, clock)
    stamps = {r.sent_at for r in deliveries(db)} | {r.created_at for r in deliveries(db)}
    assert {s if isinstance(s, datetime) else datetime.fromisoformat(s) for s in stamps} == {
        datetime(2030, 1, 1)
    }
