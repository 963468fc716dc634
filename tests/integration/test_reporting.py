"""Report data and the weekly bulletin on a campaign small enough to check by hand.

The tiny campaign (written below) has one domain, one lead unit (街道教办, no contact), the
coordinator (with an email) and four cells in two villages. Its two gates:

* 创建工作方案, owed by the lead unit, open 05-02 (phase start), due Thu 05-04;
* 自查报告, owed by the cells, open Mon 05-08 (phase start), due Wed 05-10.

May 2017: Mon 05-01 is the Labour Day holiday; 05-06/07 and 05-13/14 are weekends. One
reminder, one working day before the due date. What happens:

* the lead unit submits its plan on 05-04 (on time);
* C1 submits on 05-09 (on time), C2 on 05-12 (late), C3 never; C4's item is waived.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pingan.adapters.channels.fake import RecordingChannel
from pingan.adapters.db.assessing import store_scores
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.planner import iso_week
from pingan.adapters.db.reporting import gather
from pingan.adapters.db.session import session_scope
from pingan.adapters.db.status import status_counts
from pingan.adapters.outbox import dispatch, expand
from pingan.adapters.render.report import ReportPaths
from pingan.adapters.render.report.data import NO_CHANNEL, ChannelCount, ReportData
from pingan.core.gates import STATUSES
from pingan.core.problems import InputError
from pingan.core.scores import ScoreRow
from pingan.core.scoring import ScoreSheet
from pingan.services.load import load
from pingan.services.report import build_report, plan_weekly_bulletin, run_report
from pingan.services.tick import CampaignHandle, evaluate_and_plan, open_campaign

CODE = "tiny-2017"
CAMPAIGN = """\
code: tiny-2017
name: 测试街道“平安细胞”创建活动
short_name: 测试街道平安细胞创建
issuer: 中共测试街道工作委员会
issued_on: 2017-04-20
coordinator:
  code: zzw
  name: 街道综治委
  office: {name: 街道综治中心, phone: "1234567"}
units:
  - {code: jdjb, name: 街道教办}
domains:
  - key: campus
    name: 平安校园
    title: 平安校园
    lead: jdjb
    cell_categories: [小学]
    rubric:
      total: 100
      pass_mark: 80
      criteria:
        - {key: safety, name: 安全责任落实, points: 100}
      vetoes:
        - {key: accident, name: 发生重大安全事故}
phases:
  - {key: plan, name: 制定方案, starts_on: 2017-05-02, ends_on: 2017-05-07}
  - {key: implement, name: 实施阶段, starts_on: 2017-05-08, ends_on: 2017-05-31}
gates:
  - {key: plan, name: 创建工作方案, phase: plan, deliverable: plan, owed_by: [lead_units],
     due_on: 2017-05-04}
  - {key: self-check, name: 自查报告, phase: implement, deliverable: self_check,
     owed_by: [cells], due_on: 2017-05-10}
targets: {coverage: 1.0, pass_rate: 0.9, coverage_gate: self-check}
reminders: {days_before: [1]}
escalation:
  ladder:
    - {after: 1, notify: contact}
    - {after: 2, notify: lead}
    - {after: 3, notify: coordinator}
  repeat_every: 2
"""
ROSTER = """\
code,name,type,domain,village,category,contact,mobile,email,wecom,dingtalk,webhook
zzw,街道综治委,unit,,,,王主任,13900000001,zzw@example.com,,,
V1,东村,village,,,,李村长,13900000002,,,,
V2,西村,village,,,,赵村长,13900000003,,,,
C1,东村小学,cell,campus,V1,小学,甲,13900000011,c1@example.com,,,
C2,东村中心小学,cell,campus,V1,小学,乙,13900000012,c2@example.com,,,
C3,东村第二小学,cell,campus,V1,小学,丙,13900000013,c3@example.com,,,
C4,西村小学,cell,campus,V2,小学,丁,13900000014,c4@example.com,,,
"""
AS_OF = date(2017, 5, 15)
NOW = datetime(2017, 5, 15, 9, 0)


def _sql(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


@pytest.fixture
def tiny(engine: Engine, tmp_path: Path) -> CampaignHandle:
    config = tmp_path / "tiny.yaml"
    config.write_text(CAMPAIGN, encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    load(engine, config, roster, actor="test")
    handle = open_campaign(engine, CODE)
    done = {"jdjb": date(2017, 5, 4), "C1": date(2017, 5, 9), "C2": date(2017, 5, 12)}
    for unit, day in done.items():
        _sql(
            engine,
            "UPDATE obligation SET done_on = :d WHERE unit_id = "
            "(SELECT id FROM unit WHERE code = :u AND campaign_id = :c)",
            d=day,
            u=unit,
            c=handle.campaign_id,
        )
    _sql(
        engine,
        "UPDATE obligation SET waived = :t, waived_reason = '已撤并' WHERE unit_id = "
        "(SELECT id FROM unit WHERE code = 'C4' AND campaign_id = :c)",
        t=True,
        c=handle.campaign_id,
    )
    return handle


def _gather(engine: Engine, handle: CampaignHandle, as_of: date = AS_OF) -> ReportData:
    with Session(engine) as session:
        return gather(session, handle.campaign, handle.campaign_id, as_of, NOW)


def _score(engine: Engine, handle: CampaignHandle, cell: str, points: float, **kw: Any) -> None:
    row = ScoreRow(
        cell=cell,
        domain="campus",
        sheet=ScoreSheet(criteria={"safety": points}, vetoes=frozenset(kw.get("vetoes", ()))),
        assessor="考核组",
        assessed_on=kw.get("on", date(2017, 5, 12)),
        note=None,
        where="测试",
    )
    with session_scope(engine) as session:
        store_scores(
            session,
            handle.campaign,
            handle.campaign_id,
            [row],
            source="test",
            actor="t",
            file_name="t",
        )


# (not_open, open, due_soon, overdue, done, done_late, waived) per day, worked out by hand
# from the module docstring.
EXPECTED_BURNDOWN = {
    date(2017, 5, 2): (3, 1, 0, 0, 0, 0, 1),  # plan due in 2 working days: open
    date(2017, 5, 3): (3, 0, 1, 0, 0, 0, 1),  # 1 working day left: due soon
    date(2017, 5, 4): (3, 0, 0, 0, 1, 0, 1),
    date(2017, 5, 7): (3, 0, 0, 0, 1, 0, 1),
    date(2017, 5, 8): (0, 3, 0, 0, 1, 0, 1),  # self-check opens, due in 2 working days
    date(2017, 5, 9): (0, 0, 2, 0, 2, 0, 1),  # C1 done; C2, C3 due soon
    date(2017, 5, 10): (0, 0, 2, 0, 2, 0, 1),  # the due date itself is still "due soon"
    date(2017, 5, 11): (0, 0, 0, 2, 2, 0, 1),
    date(2017, 5, 12): (0, 0, 0, 1, 2, 1, 1),  # C2 late
    date(2017, 5, 15): (0, 0, 0, 1, 2, 1, 1),
}


def test_burndown_counts_each_day_by_the_status_rules(engine: Engine, tiny: CampaignHandle) -> None:
    burn = _gather(engine, tiny).burndown
    assert burn.days[0] == date(2017, 5, 2) and burn.days[-1] == AS_OF
    assert len(burn.days) == 14
    for day, expected in EXPECTED_BURNDOWN.items():
        assert tuple(burn.on(day)[s] for s in STATUSES) == expected, day


def test_burndown_on_the_report_date_agrees_with_the_ticks_own_statuses(
    engine: Engine, tiny: CampaignHandle
) -> None:
    evaluate_and_plan(engine, tiny, AS_OF)
    with Session(engine) as session:
        stored = status_counts(session, tiny.campaign_id)
    totals = {s: sum(d.get(s, 0) for d in stored.values()) for s in STATUSES}
    assert _gather(engine, tiny).obligations == totals


def test_a_report_for_an_earlier_date_ignores_later_submissions(
    engine: Engine, tiny: CampaignHandle
) -> None:
    data = _gather(engine, tiny, date(2017, 5, 11))
    assert [(r.unit_code, r.days_overdue) for r in data.red_items] == [("C2", 1), ("C3", 1)]
    assert data.overall.covered == 1  # only C1 had submitted by then


def test_red_items_carry_working_days_overdue_and_the_rung_reached(
    engine: Engine, tiny: CampaignHandle
) -> None:
    (item,) = _gather(engine, tiny).red_items
    # Working days in (05-10, 05-15]: 11, 12 and 15 (13/14 are a weekend).
    assert (item.unit_code, item.gate, item.days_overdue, item.level) == ("C3", "自查报告", 3, 3)
    assert (item.target, item.told, item.village, item.domain) == (
        "coordinator",
        "街道综治委",  # the coordinator by the name the campaign gives it
        "东村",
        "平安校园",
    )


def test_a_repeated_escalation_still_counts_as_reported_to_the_coordinator(
    engine: Engine, tiny: CampaignHandle
) -> None:
    # 05-17: 5 working days overdue, level 4 — the ladder's second round starts at the
    # contact again, but the coordinator has known since level 3.
    (item,) = _gather(engine, tiny, date(2017, 5, 17)).red_items
    assert (item.days_overdue, item.level, item.target) == (5, 4, "coordinator")


def test_late_items_are_grouped_by_village(engine: Engine, tiny: CampaignHandle) -> None:
    villages = _gather(engine, tiny).late_by_village
    assert [(v.code, v.name, v.overdue, v.done_late) for v in villages] == [("V1", "东村", 1, 1)]


def test_kpis_count_the_latest_round_by_the_report_date(
    engine: Engine, tiny: CampaignHandle
) -> None:
    _score(engine, tiny, "C1", 90)
    _score(engine, tiny, "C2", 95, vetoes={"accident"})
    _score(engine, tiny, "C3", 50)
    _score(engine, tiny, "C3", 85, on=date(2017, 5, 19))  # 复查 after the report date
    data = _gather(engine, tiny)
    k = data.overall
    # C3 sent no report but was assessed in person: that covers it too.
    assert (k.cells, k.covered, k.assessed, k.passed, k.vetoed) == (4, 3, 3, 1, 1)
    assert (k.coverage, k.coverage_shortfall, k.shortfall) == (0.75, 1, 2)
    assert k.pass_rate == pytest.approx(1 / 3)
    assert [(f.unit_code, f.round, f.vetoed, f.reasons) for f in data.failed_cells] == [
        ("C2", 1, True, ("一票否决：发生重大安全事故",)),
        ("C3", 1, False, ("得分 50 分，低于达标分 80 分",)),
    ]
    later = _gather(engine, tiny, date(2017, 5, 22))
    assert (later.overall.passed, [f.unit_code for f in later.failed_cells]) == (2, ["C2"])


def test_notifications_are_counted_by_channel_and_state(
    engine: Engine, tiny: CampaignHandle
) -> None:
    evaluate_and_plan(engine, tiny, date(2017, 5, 3))  # reminder to the lead unit
    evaluate_and_plan(engine, tiny, date(2017, 5, 9))  # reminders to C2 and C3
    with session_scope(engine) as session:
        expand(session, tiny.campaign_id, NOW, channels={"email", "wecom", "dingtalk", "webhook"})
    data = _gather(engine, tiny)
    # The lead unit has no contact: its reminder is dead before any channel is tried.
    assert data.notifications == (
        ChannelCount("email", "queued", 2),
        ChannelCount(NO_CHANNEL, "dead", 1),
    )
    assert dict(data.notification_kinds) == {"reminder": 3}


def test_a_date_past_the_loaded_calendar_is_one_clear_problem(
    engine: Engine, tiny: CampaignHandle
) -> None:
    with pytest.raises(InputError) as err:
        _gather(engine, tiny, date(2019, 1, 2))
    assert len(err.value.problems) == 1 and "工作日历只载入到" in str(err.value)


# --- files and the bulletin -------------------------------------------------------------------


def _bulletins(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(
                    NotificationRow.dedupe_key,
                    NotificationRow.subject,
                    NotificationRow.body,
                    NotificationRow.planned_on,
                )
                .where(NotificationRow.kind == "bulletin")
                .order_by(NotificationRow.dedupe_key)
            )
        )


def test_report_files_are_named_by_date_and_replace_an_earlier_run(
    engine: Engine, tiny: CampaignHandle, tmp_path: Path
) -> None:
    first = build_report(engine, CODE, AS_OF, tmp_path / "out")
    second = build_report(engine, CODE, AS_OF, tmp_path / "out")
    assert first == second
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "report-20170515.html",
        "report-20170515.xlsx",
    ]


def test_bulletin_is_planned_once_per_week_per_recipient_even_when_run_twice(
    engine: Engine, tiny: CampaignHandle, tmp_path: Path
) -> None:
    paths = run_report(engine, tiny, AS_OF, tmp_path).paths
    first = plan_weekly_bulletin(engine, tiny, AS_OF, paths)
    again = plan_weekly_bulletin(engine, tiny, AS_OF, paths)
    later_same_week = plan_weekly_bulletin(engine, tiny, AS_OF + timedelta(days=4), paths)
    assert (first.recipients, first.planned, again.planned, later_same_week.planned) == (2, 2, 0, 0)
    keys = [b.dedupe_key for b in _bulletins(engine)]
    assert keys == ["bulletin:tiny-2017:2017-W20:jdjb", "bulletin:tiny-2017:2017-W20:zzw"]
    next_week = plan_weekly_bulletin(engine, tiny, AS_OF + timedelta(days=7), paths)
    assert (next_week.week, next_week.planned) == ("2017-W21", 2)


def test_bulletin_text_is_rendered_when_planned_with_the_kpis_and_the_report_paths(
    engine: Engine, tiny: CampaignHandle, tmp_path: Path
) -> None:
    paths = ReportPaths(tmp_path / "report-20170515.html", tmp_path / "report-20170515.xlsx")
    plan_weekly_bulletin(engine, tiny, AS_OF, paths, link="https://zz.example.cn/r/20170515")
    lead, coordinator = _bulletins(engine)
    assert (
        lead.subject == "【测试街道平安细胞创建】创建工作周通报（2017年第20周，5月15日至5月21日）"
    )
    assert "街道教办：" in lead.body and "贵单位牵头领域情况" in lead.body
    for b in (lead, coordinator):
        assert "创建覆盖率 50%（目标 100%，尚差 2 个）" in b.body
        assert "逾期未报事项 1 项，其中 1 项已逐级督办至街道综治委" in b.body
        assert str(paths.html) in b.body and "https://zz.example.cn/r/20170515" in b.body
    assert "分领域情况" in coordinator.body and "街道综治委：" in coordinator.body


def test_bulletin_is_sent_with_its_stored_text_to_the_recipients_contacts(
    engine: Engine, tiny: CampaignHandle, tmp_path: Path
) -> None:
    paths = run_report(engine, tiny, AS_OF, tmp_path).paths
    plan_weekly_bulletin(engine, tiny, AS_OF, paths)
    email = RecordingChannel(name="email")
    dispatch(engine, tiny.campaign, tiny.campaign_id, {"email": email})
    # Only the coordinator has an address; the lead unit's bulletin is dead for want of one.
    ((target, message),) = email.sent
    (stored,) = [b for b in _bulletins(engine) if b.dedupe_key.endswith(":zzw")]
    assert (target.address, message.subject, message.body) == (
        "zzw@example.com",
        stored.subject,
        stored.body,
    )


def test_iso_week_of_a_sunday_belongs_to_the_week_that_began_on_monday() -> None:
    assert (iso_week(date(2017, 5, 21)), iso_week(date(2017, 5, 22))) == ("2017-W20", "2017-W21")


# --- CLI --------------------------------------------------------------------------------------


def _cli() -> typer.Typer:
    from pingan.cli.report import register

    app = typer.Typer()
    register(app)

    @app.command()
    def _noop() -> None:  # a second command keeps typer from flattening `report`
        pass

    return app


def test_cli_report_writes_the_files_and_plans_the_bulletin(
    db_url: str, tiny: CampaignHandle, tmp_path: Path
) -> None:
    out = tmp_path / "cli-out"
    args = ["report", CODE, "--as-of", "2017-05-15", "--out", str(out), "--db", db_url]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    assert (out / "report-20170515.html").is_file() and (out / "report-20170515.xlsx").is_file()
    assert "已安排周通报 2 份" in result.output


def test_cli_report_with_no_bulletin_plans_nothing(
    db_url: str, engine: Engine, tiny: CampaignHandle, tmp_path: Path
) -> None:
    args = ["report", CODE, "--as-of", "2017-05-15", "--out", str(tmp_path), "--db", db_url]
    result = CliRunner().invoke(_cli(), [*args, "--no-bulletin"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(NotificationRow)) == 0


def test_cli_report_on_an_unknown_campaign_is_one_line_without_traceback(
    db_url: str, tiny: CampaignHandle, tmp_path: Path
) -> None:
    out = tmp_path / "cli-out"
    args = ["report", "nope-2017", "--out", str(out), "--db", db_url]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 2
    assert "没有编码为 nope-2017 的创建活动" in result.output
    assert "Traceback" not in result.output and not out.exists()
