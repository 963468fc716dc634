"""The daily tick on a real database (SQLite and PostgreSQL): reminders, escalations,
digests, idempotency, concurrency, dry runs, withdrawn units, waivers and the status report.

The seed campaign is loaded with a 20-cell synthetic roster. The two plan gates
(domain-plan, local-plan) are due Monday 2017-05-15; 05-27 is a make-up Saturday and
05-28..30 the 端午 holiday.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from pingan.adapters.db.notifications import NOTIFICATION_STATES
from pingan.adapters.db.session import make_engine
from pingan.core.gates import STATUSES
from pingan.core.problems import InputError
from pingan.services.load import load
from pingan.services.tick import LockHeld, current_status, evaluate_and_plan, open_campaign, waive
from tests.factories import (
    SEED_CODE,
    SEED_CONFIG,
    Loaded,
    as_date,
    days,
    load_seed,
    read_csv,
    seed_ladder,
    synth_roster,
    write_csv,
)

PLAN_GATES = ("domain-plan", "local-plan")
SHORT = "【徐城街道平安细胞创建】"


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=20)


def plan_obligations(db: Loaded) -> list[Any]:
    return [r for r in db.obligations() if r.gate in PLAN_GATES]


def coordinator_id(db: Loaded) -> int:
    return db.unit_id("zzw")


def ids(rows: list[Any]) -> list[int]:
    return sorted(r.id for r in rows)


# --- reminders ----------------------------------------------------------------------------


def test_may_10_plans_band_3_reminder_once_per_plan_obligation(db: Loaded) -> None:
    db.tick(date(2017, 5, 10))
    reminders = db.notifications("reminder")
    owed = plan_obligations(db)
    assert owed
    assert sorted(n.obligation_id for n in reminders) == ids(owed)
    assert {n.level for n in reminders} == {3}
    assert {as_date(n.planned_on) for n in reminders} == {date(2017, 5, 10)}
    unit_of = {r.id: r.unit_id for r in owed}
    assert all(n.recipient_unit_id == unit_of[n.obligation_id] for n in reminders)


def test_may_12_plans_band_1_reminder_once_per_plan_obligation(db: Loaded) -> None:
    for d in days(date(2017, 5, 10), date(2017, 5, 15)):
        db.tick(d)
    reminders = db.notifications("reminder")
    per_obligation = Counter((n.obligation_id, n.level) for n in reminders)
    assert set(per_obligation.values()) == {1}
    assert {o for o, _ in per_obligation} == set(ids(plan_obligations(db)))
    planned = {(n.level, as_date(n.planned_on)) for n in reminders}
    assert planned == {(3, date(2017, 5, 10)), (1, date(2017, 5, 12))}


def test_may_11_inside_band_3_plans_nothing_after_may_10(db: Loaded) -> None:
    db.tick(date(2017, 5, 10))
    before = db.count("notification")
    db.tick(date(2017, 5, 11))
    assert db.count("notification") == before


def test_first_tick_inside_band_1_sends_only_the_last_reminder(db: Loaded) -> None:
    db.tick(date(2017, 5, 12))
    assert {n.level for n in db.notifications("reminder")} == {1}


def test_weekend_before_monday_due_date_is_in_band_1(db: Loaded) -> None:
    db.tick(date(2017, 5, 13))  # Saturday: one working day (Monday) left
    reminders = db.notifications("reminder")
    assert len(reminders) == len(plan_obligations(db))
    assert {n.level for n in reminders} == {1}


# --- idempotency --------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [date(2017, 5, 10), date(2017, 5, 22), date(2017, 11, 30)])
def test_repeated_tick_for_the_same_day_plans_nothing_new(db: Loaded, as_of: date) -> None:
    db.tick(as_of)
    first = db.counts()
    levels = [(r.id, r.notified_level) for r in db.obligations()]
    db.tick(as_of)
    assert db.counts() == first
    assert [(r.id, r.notified_level) for r in db.obligations()] == levels


# --- escalation and digests ---------------------------------------------------------------


def test_first_tick_five_working_days_overdue_plans_one_contact_escalation_per_item(
    db: Loaded,
) -> None:
    db.tick(date(2017, 5, 22))
    overdue = [r for r in db.obligations() if r.status == "overdue"]
    assert ids(overdue) == ids(plan_obligations(db))
    assert {(r.days_overdue, r.escalation_level) for r in overdue} == {(5, 3)}
    escalations = db.notifications("escalation")
    assert sorted(n.obligation_id for n in escalations) == ids(overdue)
    # The contact rung reached is level 1 (level 4 is the next contact rung, at 10 days).
    assert {n.level for n in escalations} == {1}
    unit_of = {r.id: r.unit_id for r in overdue}
    assert all(n.recipient_unit_id == unit_of[n.obligation_id] for n in escalations)


def test_first_tick_five_working_days_overdue_plans_one_digest_per_supervisor(
    db: Loaded,
) -> None:
    db.tick(date(2017, 5, 22))
    overdue = [r for r in db.obligations() if r.status == "overdue"]
    digests = db.notifications("digest")
    expected = {r.supervisor_id for r in overdue} | {coordinator_id(db)}
    assert Counter(n.recipient_unit_id for n in digests) == Counter(expected)
    assert all(n.obligation_id is None for n in digests)


def test_first_tick_marks_notified_level_to_the_escalation_level(db: Loaded) -> None:
    db.tick(date(2017, 5, 22))
    for r in db.obligations():
        assert r.notified_level == (3 if r.status == "overdue" else 0), r


def test_daily_ticks_announce_each_contact_rung_once(db: Loaded) -> None:
    for d in days(date(2017, 5, 16), date(2017, 5, 31)):
        db.tick(d)
    escalations = db.notifications("escalation")
    assert len({(n.obligation_id, n.level) for n in escalations}) == len(escalations)
    by_obligation: dict[int, list[int]] = {}
    for n in escalations:
        by_obligation.setdefault(n.obligation_id, []).append(n.level)
    # (05-15, 05-31] holds 11 working days (05-27 is a make-up Saturday): rungs 1 and 4.
    assert set(by_obligation) == set(ids(plan_obligations(db)))
    assert all(sorted(v) == [1, 4] for v in by_obligation.values())
    planned = {(n.level, as_date(n.planned_on)) for n in escalations}
    assert planned == {(1, date(2017, 5, 16)), (4, date(2017, 5, 27))}


def test_daily_ticks_send_digests_once_per_recipient_per_day(db: Loaded) -> None:
    for d in days(date(2017, 5, 16), date(2017, 5, 31)):
        db.tick(d)
    digests = [(n.recipient_unit_id, as_date(n.planned_on)) for n in db.notifications("digest")]
    assert len(set(digests)) == len(digests)
    supervisors = {r.supervisor_id for r in plan_obligations(db)}
    # Lead rung (3 working days) on 05-18; coordinator rung (5) on 05-22.
    assert set(digests) == {(s, date(2017, 5, 18)) for s in supervisors} | {
        (coordinator_id(db), date(2017, 5, 22))
    }


def test_a_tick_that_missed_days_still_tells_each_skipped_rung_once(db: Loaded) -> None:
    db.tick(date(2017, 5, 16))
    db.tick(date(2017, 6, 2))  # 14 working days overdue: rungs 2, 3 and 4 were skipped
    escalations = Counter((n.obligation_id, n.level) for n in db.notifications("escalation"))
    assert {lvl for _, lvl in escalations} == {1, 4}
    assert set(escalations.values()) == {1}
    digests = {n.recipient_unit_id for n in db.notifications("digest")}
    assert digests == {r.supervisor_id for r in plan_obligations(db)} | {coordinator_id(db)}


# --- concurrency --------------------------------------------------------------------------


def _semantic(db: Loaded) -> Counter[tuple[Any, ...]]:
    return Counter(
        (n.kind, n.level, n.recipient_unit_id, n.obligation_id, as_date(n.planned_on))
        for n in db.notifications()
    )


@pytest.mark.parametrize("as_of", [date(2017, 5, 12), date(2017, 5, 22)])
def test_concurrent_ticks_plan_exactly_what_one_tick_plans(
    db: Loaded, db_url: str, as_of: date
) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        eng = make_engine(db_url)
        try:
            handle = open_campaign(eng, SEED_CODE)
            barrier.wait(timeout=30)
            evaluate_and_plan(eng, handle, as_of, lock_wait_s=120)
        except BaseException as exc:  # reported below, with the thread's own traceback lost
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    keys = [n.dedupe_key for n in db.notifications()]
    assert len(keys) == len(set(keys))
    got = _semantic(db)
    assert set(got.values()) == {1}

    # What one tick plans, derived from the rules and the evaluated rows.
    obligations = db.obligations()
    if as_of == date(2017, 5, 12):
        want = {
            ("reminder", 1, r.unit_id, r.id, as_of) for r in obligations if r.gate in PLAN_GATES
        }
    else:
        overdue = [r for r in obligations if r.status == "overdue"]
        sups = {r.supervisor_id for r in overdue} | {coordinator_id(db)}
        want = {("escalation", 1, r.unit_id, r.id, as_of) for r in overdue} | {
            ("digest", 0, s, None, as_of) for s in sups
        }
    assert set(got) == want
    assert db.count("campaign_lock") == 0


def test_tick_gives_up_while_another_process_holds_the_lock(db: Loaded) -> None:
    db.execute(
        "INSERT INTO campaign_lock (campaign_id, name, holder, expires_at) "
        "VALUES (:c, 'tick', 'elsewhere:1', :t)",
        {"c": db.cid, "t": "2999-01-01 00:00:00"},
    )
    with pytest.raises(LockHeld, match="其他进程"):
        db.tick(date(2017, 5, 22), lock_wait_s=0)
    assert db.count("notification") == 0


def test_an_expired_lock_is_taken_over(db: Loaded) -> None:
    db.execute(
        "INSERT INTO campaign_lock (campaign_id, name, holder, expires_at) "
        "VALUES (:c, 'tick', 'crashed:1', :t)",
        {"c": db.cid, "t": "2000-01-01 00:00:00"},
    )
    db.tick(date(2017, 5, 22), lock_wait_s=0)
    assert db.count("notification") > 0
    assert db.count("campaign_lock") == 0


# --- dry run ------------------------------------------------------------------------------


def test_dry_run_writes_nothing(db: Loaded) -> None:
    db.tick(date(2017, 5, 12))
    before = db.counts()
    rows = [tuple(r) for r in db.obligations()]
    result = db.tick(date(2017, 5, 22), dry_run=True)
    assert result.dry_run
    assert result.previews
    assert db.counts() == before
    assert [tuple(r) for r in db.obligations()] == rows


def test_dry_run_previews_what_the_real_tick_then_plans(db: Loaded) -> None:
    preview = db.tick(date(2017, 5, 22), dry_run=True).previews
    db.tick(date(2017, 5, 22))
    planned = db.notifications()
    assert Counter((m.kind, m.level, m.recipient_unit_id) for m in preview) == Counter(
        (n.kind, n.level, n.recipient_unit_id) for n in planned
    )


def test_dry_run_previews_are_chinese_and_name_the_recipient_unit(db: Loaded) -> None:
    previews = db.tick(date(2017, 5, 22), dry_run=True).previews
    names = {r.code: r.name for r in db.rows("SELECT code, name FROM unit WHERE campaign_id = :c")}
    for m in previews:
        assert m.subject.startswith(SHORT), m.subject
        assert m.recipient_name == names[m.recipient_code]
        # Subjects name the gate (or the digest), the salutation names the recipient unit.
        assert m.body.startswith(f"{m.recipient_name}："), m.body[:40]
        if m.kind == "escalation":
            assert "逾期督办" in m.subject
            assert "已逾期 5 个工作日" in m.body
        else:
            assert m.kind == "digest"
            assert "督办汇总" in m.subject


def _runs(values: list[int]) -> list[int]:
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def test_dry_run_previews_are_grouped_by_recipient(db: Loaded) -> None:
    previews = db.tick(date(2017, 5, 22), dry_run=True).previews
    recipients = [m.recipient_unit_id for m in previews]
    assert len(set(recipients)) < len(recipients)  # some recipient has two messages
    runs = _runs(recipients)
    assert len(runs) == len(set(runs))


# --- withdrawn units ----------------------------------------------------------------------


def _withdraw_two_plan_cells(db: Loaded, tmp_path: Path) -> list[str]:
    rows = read_csv(db.roster)
    header, body = rows[0], rows[1:]
    plan_cells = [r[0] for r in body if r[2] == "cell" and r[3] != "family"][:2]
    write_csv(tmp_path / "smaller.csv", [header] + [r for r in body if r[0] not in plan_cells])
    result = load(db.engine, SEED_CONFIG, tmp_path / "smaller.csv", actor="test")
    assert result.summary.withdrawn == 2
    return plan_cells


def test_withdrawn_units_get_no_new_reminders(db: Loaded, tmp_path: Path) -> None:
    gone = _withdraw_two_plan_cells(db, tmp_path)
    gone_ids = {db.unit_id(c) for c in gone}
    db.tick(date(2017, 5, 10))
    db.tick(date(2017, 5, 12))
    reminders = db.notifications("reminder")
    assert reminders
    assert not {n.recipient_unit_id for n in reminders} & gone_ids
    active_plan = [r for r in plan_obligations(db) if r.unit_status == "active"]
    assert len(reminders) == 2 * len(active_plan)


def test_withdrawn_units_get_no_escalations_and_leave_the_status_counts(
    db: Loaded, tmp_path: Path
) -> None:
    gone = _withdraw_two_plan_cells(db, tmp_path)
    gone_ids = {db.unit_id(c) for c in gone}
    result = db.tick(date(2017, 5, 22))
    assert not {n.recipient_unit_id for n in db.notifications()} & gone_ids
    active = [r for r in db.obligations() if r.unit_status == "active"]
    assert sum(result.status["obligations"].values()) == len(active)
    assert result.status["overall"]["cells"] == 18


# --- waivers ------------------------------------------------------------------------------


def _plan_cell(db: Loaded) -> str:
    return next(r.code for r in db.obligations("local-plan") if r.kind == "cell")


def test_waive_makes_the_obligation_waived_and_writes_an_audit_row(db: Loaded) -> None:
    code = _plan_cell(db)
    n = waive(
        db.engine, db.handle, gate_key="local-plan", unit_codes=[code], reason="停业", actor="t"
    )
    assert n == 1
    db.tick(date(2017, 5, 22))
    row = next(r for r in db.obligations("local-plan") if r.code == code)
    assert (row.waived, row.status, row.escalation_level) == (True, "waived", 0)
    audit = db.rows(
        "SELECT actor, action, entity, entity_id FROM audit_event "
        "WHERE campaign_id = :c AND action LIKE 'obligation.%'"
    )
    assert [tuple(a) for a in audit] == [("t", "obligation.waive", "obligation", str(row.id))]
    assert row.id not in {n.obligation_id for n in db.notifications()}


def test_waive_reopen_reverses_the_waiver_and_is_audited(db: Loaded) -> None:
    code = _plan_cell(db)
    args: dict[str, Any] = {"gate_key": "local-plan", "unit_codes": [code], "actor": "t"}
    waive(db.engine, db.handle, reason="停业", **args)
    assert waive(db.engine, db.handle, reason="已复业", reopen=True, **args) == 1
    db.tick(date(2017, 5, 22))
    row = next(r for r in db.obligations("local-plan") if r.code == code)
    assert (row.waived, row.status) == (False, "overdue")
    actions = db.rows(
        "SELECT action FROM audit_event WHERE campaign_id = :c AND action LIKE 'obligation.%' "
        "ORDER BY id"
    )
    assert [a[0] for a in actions] == ["obligation.waive", "obligation.reopen"]


def test_waiving_twice_changes_nothing_the_second_time(db: Loaded) -> None:
    args: dict[str, Any] = {
        "gate_key": "local-plan",
        "unit_codes": [_plan_cell(db)],
        "reason": "停业",
        "actor": "t",
    }
    assert waive(db.engine, db.handle, **args) == 1
    assert waive(db.engine, db.handle, **args) == 0
    assert db.scalar("SELECT count(*) FROM audit_event WHERE action = 'obligation.waive'") == 1


@pytest.mark.parametrize(
    ("gate", "unit", "reason", "message"),
    [
        ("no-such-gate", None, "理由", "事项 no-such-gate 不存在"),
        ("local-plan", "NO-SUCH-UNIT", "理由", "单位编码 NO-SUCH-UNIT 不在本创建活动中"),
        ("local-plan", None, "  ", "必须填写豁免或恢复的理由"),
        ("local-plan", "family", "理由", "无需报送事项 local-plan"),
    ],
)
def test_waive_rejects_bad_input_with_chinese_messages(
    db: Loaded, gate: str, unit: str | None, reason: str, message: str
) -> None:
    if unit is None:
        unit = _plan_cell(db)
    elif unit == "family":
        # A family cell owes a self-check report but no local plan.
        unit = next(
            r.code
            for r in db.obligations("self-check")
            if r.code not in {o.code for o in db.obligations("local-plan")}
        )
    with pytest.raises(InputError) as info:
        waive(db.engine, db.handle, gate_key=gate, unit_codes=[unit], reason=reason, actor="t")
    assert any(message in str(p) for p in info.value.problems), info.value.problems
    assert db.scalar("SELECT count(*) FROM obligation WHERE waived = :t", t=True) == 0


def test_status_after_a_waiver_on_the_day_of_a_tick_counts_it_waived(db: Loaded) -> None:
    db.tick(date(2017, 5, 22))
    code = _plan_cell(db)
    waive(db.engine, db.handle, gate_key="local-plan", unit_codes=[code], reason="停业", actor="t")
    report = current_status(db.engine, db.handle, date(2017, 5, 22))
    assert report["obligations"]["waived"] == 1


# --- submissions --------------------------------------------------------------------------


def test_submission_before_due_is_done_and_after_due_is_done_late(db: Loaded) -> None:
    a, b, c = db.obligations("local-plan")[:3]
    db.set_done(a.id, date(2017, 5, 12))
    db.set_done(b.id, date(2017, 5, 19))
    db.set_done(c.id, date(2017, 5, 25))  # after as_of: does not count yet
    db.tick(date(2017, 5, 22))
    status = {r.id: r.status for r in db.obligations("local-plan")}
    assert (status[a.id], status[b.id], status[c.id]) == ("done", "done_late", "overdue")
    escalated = {n.obligation_id for n in db.notifications("escalation")}
    assert a.id not in escalated and b.id not in escalated and c.id in escalated


def test_submitted_obligation_gets_no_further_rungs(db: Loaded) -> None:
    ob = db.obligations("local-plan")[0]
    db.tick(date(2017, 5, 16))
    db.set_done(ob.id, date(2017, 5, 17))
    for d in days(date(2017, 5, 17), date(2017, 6, 5)):
        db.tick(d)
    mine = [n.level for n in db.notifications() if n.obligation_id == ob.id]
    assert sorted(mine) == [1]


# --- status report ------------------------------------------------------------------------

KPI_KEYS = {"cells", "covered", "assessed", "passed", "awarded", "coverage", "pass_rate"}


def test_status_report_has_the_documented_keys(db: Loaded) -> None:
    report = db.tick(date(2017, 6, 1)).status
    keys = {"campaign", "as_of", "targets", "overall", "domains", "obligations", "notifications"}
    assert set(report) >= keys
    assert report["campaign"] == SEED_CODE
    assert report["as_of"] == "2017-06-01"
    assert report["targets"] == {"coverage": 1.0, "pass_rate": 0.9}
    assert set(report["overall"]) >= KPI_KEYS
    assert set(report["domains"]) == {"campus", "hospital", "family", "enterprise"}
    for d in report["domains"].values():
        assert set(d) >= KPI_KEYS
    assert set(report["obligations"]) == set(STATUSES)
    assert set(report["notifications"]) == set(NOTIFICATION_STATES)


def test_status_counts_obligations_per_status_and_notifications_per_state(db: Loaded) -> None:
    report = db.tick(date(2017, 5, 22)).status
    by_status = Counter(r.status for r in db.obligations())
    assert report["obligations"] == {s: by_status.get(s, 0) for s in STATUSES}
    assert report["notifications"]["queued"] == db.count("notification")
    assert sum(report["notifications"].values()) == db.count("notification")


def test_coverage_counts_cells_whose_self_check_is_done_by_as_of(db: Loaded) -> None:
    checks = db.obligations("self-check")
    on_time, later = checks[:7], checks[7:10]
    for r in on_time:
        db.set_done(r.id, date(2017, 10, 20))
    for r in later:
        db.set_done(r.id, date(2017, 11, 15))
    as_of = date(2017, 11, 1)
    report = current_status(db.engine, db.handle, as_of)
    assert report["overall"]["cells"] == len(checks) == 20
    assert report["overall"]["covered"] == 7
    assert report["overall"]["coverage"] == round(7 / 20, 4)
    domain_key = dict(db.rows("SELECT id, key FROM domain WHERE campaign_id = :c"))
    cells = Counter(domain_key[r.domain_id] for r in checks)
    covered = Counter(domain_key[r.domain_id] for r in on_time)
    for key, d in report["domains"].items():
        assert d["cells"] == cells[key]
        assert d["covered"] == covered[key]
        assert d["coverage"] == (round(covered[key] / cells[key], 4) if cells[key] else None)
    assert current_status(db.engine, db.handle, date(2017, 11, 30))["overall"]["covered"] == 10


def test_status_for_another_day_changes_nothing(db: Loaded) -> None:
    db.tick(date(2017, 5, 22))
    rows = [tuple(r) for r in db.obligations()]
    report = current_status(db.engine, db.handle, date(2017, 11, 30))
    assert report["as_of"] == "2017-11-30"
    assert report["obligations"]["overdue"] > 0
    assert [tuple(r) for r in db.obligations()] == rows


# --- plan summary -------------------------------------------------------------------------


def test_plan_summary_counts_equal_rows_planned(db: Loaded) -> None:
    r10 = db.tick(date(2017, 5, 10)).plan
    r22 = db.tick(date(2017, 5, 22)).plan
    kinds = Counter(n.kind for n in db.notifications())
    assert r10.reminders + r22.reminders == kinds["reminder"] > 0
    assert r22.escalations == kinds["escalation"] > 0
    assert r22.digests == kinds["digest"] > 0
    assert r22.by_level == {3: len(plan_obligations(db))}


def test_load_reports_the_obligations_it_created(engine: Engine, tmp_path: Path) -> None:
    result = load(engine, SEED_CONFIG, synth_roster(tmp_path, 20), actor="test")
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM obligation")).scalar_one()
    assert result.obligations_created == total > 0


def test_escalation_levels_follow_the_seed_ladder(db: Loaded) -> None:
    db.tick(date(2017, 6, 30))
    ladder = seed_ladder()
    for r in db.obligations():
        if r.status == "overdue":
            assert r.escalation_level == ladder.level_for(r.days_overdue)
