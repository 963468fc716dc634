"""`pingan demo`: the 2017 seed campaign on a synthetic roster, from plan to plaque.

Every working day from 2017-05-01 to 2017-11-30 runs the real tick flow (collect, evaluate,
plan reminders and escalations, dispatch, publish) with ``as_of`` set to that day, while a
deterministic simulator (pingan.demo.sim) drops plans and self-check reports into an inbox.
In the acceptance week the assessment team's score sheet is imported through the same path
as `pingan assess import`, failed cells are re-assessed, the acceptance flow pauses for the
coordinator's sign-off — given here through the Prefect API exactly as the UI would — and
awards, certificates and the public list follow. The report flow closes the campaign.

Nothing leaves the machine: every message goes to one JSONL log (and to a local SMTP server
with ``--smtp``).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from sqlalchemy import Engine, func, select

from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.session import make_engine
from pingan.core.campaign import load_campaign, working_calendar
from pingan.demo.sim import (
    Drop,
    plan_assessment,
    plan_drops,
    reassessed,
    self_check_punctuality,
    write_scores_csv,
)
from pingan.services.synth import write_roster
from pingan.settings import get_settings

SEED_CONFIG = Path(__file__).resolve().parents[1] / "config" / "campaigns" / "xucheng-2017.yaml"
START, END = date(2017, 5, 1), date(2017, 11, 30)
SCORING_DAYS = (date(2017, 11, 13), date(2017, 11, 14), date(2017, 11, 15))
IMPORT_DAY, REASSESS_DAY = date(2017, 11, 16), date(2017, 11, 17)
APPROVER = "街道综治委主任（演示）"


def _label(kind: str, level: int) -> str:
    # Escalations to lead units and the coordinator travel in their daily digests.
    if kind == "escalation":
        return "逾期督办·本单位（首次）" if level <= 1 else "逾期督办·本单位（再次）"
    return {
        "reminder": "截止前提醒",
        "digest": "督办汇总·牵头单位与综治委",
        "award": "命名通知·获评单位" if level == 0 else "命名通报·牵头单位",
        "bulletin": "周通报",
    }.get(kind, kind)


def _prepare_environment(out_dir: Path, seed: int, smtp: str | None) -> str:
    os.environ["PINGAN_HOME"] = str(out_dir)
    db_url = f"sqlite:///{out_dir / 'pingan.db'}"
    os.environ["PINGAN_DATABASE_URL"] = db_url
    os.environ["PINGAN_CHANNEL_OVERRIDE"] = "file"
    os.environ["PINGAN_OUTBOX_FILE"] = str(out_dir / "messages.jsonl")
    os.environ["PINGAN_OUTPUT_DIR"] = str(out_dir / "output")
    # Verification codes are keyed; a fixed demo key keeps the demo deterministic.
    os.environ.setdefault("PINGAN_AWARD_SECRET", f"pingan-demo-{seed}")
    if smtp:
        os.environ["PINGAN_DEMO_SMTP_URL"] = f"mailto://{smtp}?from=pingan-demo@example.org"
        os.environ["PINGAN_SMTP_REF"] = "env:PINGAN_DEMO_SMTP_URL"
        os.environ["PINGAN_MIRROR_MAIL_TO"] = "demo-inbox@example.org"
    get_settings.cache_clear()
    return db_url


def _resume_when_paused(
    campaign_code: str, run_input: dict[str, Any], timeout_s: float = 120
) -> threading.Thread:
    """Play the coordinator: wait for the acceptance run to pause, then sign it off."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.flow_runs import resume_flow_run

    def sign() -> None:
        deadline = time.monotonic() + timeout_s
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                runs = client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=["pingan-acceptance"])),
                    limit=5,
                )
                for run in runs:
                    if run.state is not None and run.state.is_paused():
                        resume_flow_run(run.id, run_input=run_input)
                        return
                time.sleep(0.3)

    t = threading.Thread(target=sign, name="demo-coordinator", daemon=True)
    t.start()
    return t


def _working_days(first: date, last: date, is_working: Callable[[date], bool]) -> list[date]:
    days, d = [], first
    while d <= last:
        if is_working(d):
            days.append(d)
        d += timedelta(days=1)
    return days


def run_demo(
    out_dir: Path,
    *,
    cells: int,
    seed: int,
    console: Console,
    smtp: str | None = None,
) -> dict[str, Any]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    out_dir = out_dir.resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    db_url = _prepare_environment(out_dir, seed, smtp)
    started = time.monotonic()
    engine = make_engine(db_url)
    # A sync flow otherwise waits for its heartbeat thread; the demo runs ~150 of them.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        summary = _walk(engine, out_dir, cells, seed, console)
    engine.dispose()
    summary["seconds"] = round(time.monotonic() - started, 1)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    _print_summary(console, summary)
    return summary


def _walk(engine: Engine, out_dir: Path, cells: int, seed: int, console: Console) -> dict[str, Any]:
    import flows.acceptance
    from flows.acceptance import AcceptanceInput, acceptance
    from flows.dispatch import DispatchInput, dispatch
    from flows.report import ReportInput, report
    from flows.tick import TickInput, tick
    from pingan.adapters.db.assessing import active_cells, store_scores
    from pingan.adapters.db.session import session_scope
    from pingan.adapters.intake.scores import acceptance_window, read_scores
    from pingan.core.problems import InputError
    from pingan.services.load import load
    from pingan.services.tick import open_campaign

    campaign = load_campaign(SEED_CONFIG)
    roster = out_dir / "roster.csv"
    synth = write_roster(campaign, cells, seed, roster)
    loaded = load(engine, SEED_CONFIG, roster, actor="demo")
    console.print(
        f"1. 虚构名册：{synth.villages} 个村（社区），{synth.cells} 个创建单位；"
        f"生成报送义务 {loaded.obligations_created} 项",
        markup=False,
    )
    handle = open_campaign(engine, campaign.code)
    calendar = working_calendar(campaign, SEED_CONFIG)
    by_day: dict[date, list[Drop]] = {}
    for d in plan_drops(engine, handle.campaign_id, seed):
        by_day.setdefault(d.day, []).append(d)
    inbox = out_dir / "inbox"
    inbox.mkdir()
    totals: Counter[str] = Counter()

    def tick_on(day: date) -> None:
        for d in by_day.pop(day, []):
            folder = inbox / d.kind / d.unit
            folder.mkdir(parents=True, exist_ok=True)
            (folder / d.name).write_bytes(d.content)
        if not calendar.is_working_day(day):
            return
        # Files dropped over a weekend wait in the inbox for Monday's tick.
        r = tick(
            TickInput(
                campaign=campaign.code, as_of=day, inbox=str(inbox), respect_quiet_hours=False
            )
        )
        delivery = cast(dict[str, Any], r["delivery"] or {})
        totals.update(ticks=1, sent=int(delivery.get("sent", 0)))

    def walk(first: date, last: date, label: str) -> None:
        with console.status(label) as status:
            day = first
            while day <= last:
                status.update(f"{label}：{day}")
                tick_on(day)
                day += timedelta(days=1)

    walk(START, SCORING_DAYS[0] - timedelta(days=1), "2. 方案与实施阶段逐日巡检")
    console.print(
        f"2. 方案、实施、自查阶段：{totals['ticks']} 个工作日各运行一次巡检流程", markup=False
    )

    # --- acceptance week ---------------------------------------------------------------
    walk(SCORING_DAYS[0], IMPORT_DAY - timedelta(days=1), "3. 考核验收")
    punctual = self_check_punctuality(engine, handle.campaign_id, campaign.targets.coverage_gate)
    refs = active_cells(engine, handle.campaign_id)
    verdicts = plan_assessment(list(refs.values()), punctual, SCORING_DAYS, seed)
    window = acceptance_window(campaign)

    def import_sheet(path: Path, today: date) -> dict[str, int]:
        result = read_scores(path, campaign, refs, today=today, window=window)
        if result.problems:
            raise InputError(result.problems)
        with session_scope(engine) as session:
            return store_scores(
                session,
                campaign,
                handle.campaign_id,
                result.rows,
                source="spreadsheet",
                actor="考核组（演示）",
                file_name=path.name,
            )

    sheet = out_dir / "scores.csv"
    write_scores_csv(campaign, verdicts, sheet, "考核组（演示）")
    first = import_sheet(sheet, IMPORT_DAY)
    tick_on(IMPORT_DAY)
    again = reassessed(verdicts, seed, REASSESS_DAY)
    sheet2 = out_dir / "scores-reassessment.csv"
    write_scores_csv(campaign, again, sheet2, "复查组（演示）")
    second = import_sheet(sheet2, REASSESS_DAY)
    tick_on(REASSESS_DAY)
    console.print(
        f"3. 考核验收：评分 {first['assessed']} 个单位，达标 {first['passed']} 个；"
        f"复查 {second['reassessed']} 个，达标 {second['passed']} 个",
        markup=False,
    )

    # The acceptance run pauses for sign-off; the "coordinator" answers through the API.
    flows.acceptance.POLL_S = 1
    signer = _resume_when_paused(
        campaign.code,
        {"approver": APPROVER, "decision": "同意命名", "comment": "同意对考核达标单位命名挂牌"},
    )
    accepted = acceptance(
        AcceptanceInput(campaign=campaign.code, as_of=REASSESS_DAY, actor="demo", timeout_hours=1)
    )
    signer.join(5)
    award = cast(dict[str, Any], accepted["award"] or {})
    console.print(
        f"4. 综治委签批（{APPROVER}）后命名挂牌：{award.get('awarded', 0)} 个单位，"
        f"通知 {award.get('notices', 0)} 条",
        markup=False,
    )

    walk(REASSESS_DAY + timedelta(days=1), END, "5. 命名挂牌阶段巡检")
    final = cast(dict[str, Any], report(ReportInput(campaign=campaign.code, as_of=END)))
    # The bulletin was planned for today's real clock; send it now, whatever the hour.
    dispatch(DispatchInput(campaign=campaign.code, respect_quiet_hours=False))
    console.print(f"5. 截至 {END} 的工作报告已生成，周通报已发送", markup=False)
    return _summary(engine, handle, out_dir, totals, award, final)


def _summary(
    engine: Engine,
    handle: Any,
    out_dir: Path,
    totals: Counter[str],
    award: dict[str, Any],
    final: dict[str, Any],
) -> dict[str, Any]:
    from pingan.services.tick import current_status

    status = current_status(engine, handle, END)
    with engine.connect() as conn:
        by_level = conn.execute(
            select(NotificationRow.kind, NotificationRow.level, func.count())
            .where(NotificationRow.state == "sent")
            .group_by(NotificationRow.kind, NotificationRow.level)
        ).all()
    sent: Counter[str] = Counter()
    for kind, level, n in by_level:
        sent[_label(kind, level)] += int(n)
    docs = award.get("documents") or {}
    return {
        "campaign": handle.campaign.code,
        "as_of": END.isoformat(),
        "ticks": totals["ticks"],
        "overall": status["overall"],
        "domains": {
            k: {f: d[f] for f in ("name", "cells", "coverage", "pass_rate", "awarded")}
            for k, d in status["domains"].items()
        },
        "targets": status["targets"],
        "messages_sent": dict(sorted(sent.items(), key=lambda kv: -kv[1])),
        "awards": award.get("awarded", 0),
        "paths": {
            "report_html": final["html"],
            "report_xlsx": final["xlsx"],
            "certificates": docs.get("证书目录"),
            "public_list_pdf": docs.get("公示名单（PDF）"),
            "public_list_xlsx": docs.get("公示名单（XLSX）"),
            "messages": str(out_dir / "messages.jsonl"),
            "database": str(out_dir / "pingan.db"),
        },
    }


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _print_summary(console: Console, s: dict[str, Any]) -> None:
    o, t = s["overall"], s["targets"]
    ok = "✓" if o["coverage_met"] else "✗"
    ok2 = "✓" if o["pass_rate_met"] else "✗"
    console.print("")
    console.print(f"—— 演示完成（{s['seconds']} 秒）——", markup=False)
    console.print(
        f"覆盖率 {_pct(o['coverage'])}（目标 {t['coverage']:.0%}）{ok}；"
        f"达标率 {_pct(o['pass_rate'])}（目标 {t['pass_rate']:.0%}）{ok2}；"
        f"命名 {s['awards']} 个单位",
        markup=False,
    )
    for d in s["domains"].values():
        console.print(
            f"  {d['name']}：{d['cells']} 个，覆盖率 {_pct(d['coverage'])}，"
            f"达标率 {_pct(d['pass_rate'])}，命名 {d['awarded']} 个",
            markup=False,
        )
    console.print(
        "已发送通知：" + "，".join(f"{k} {v} 条" for k, v in s["messages_sent"].items()),
        markup=False,
    )
    labels = {
        "report_html": "工作报告（HTML）",
        "report_xlsx": "考核工作簿（XLSX）",
        "certificates": "证书目录",
        "public_list_pdf": "公示名单（PDF）",
        "public_list_xlsx": "公示名单（XLSX）",
        "messages": "消息记录",
        "database": "数据库",
    }
    for key, label in labels.items():
        console.print(f"{label}：{s['paths'][key]}", markup=False)
    console.print(
        f"查看进度：pingan status {s['campaign']} --as-of {s['as_of']} "
        f"--db sqlite:///{s['paths']['database']}",
        markup=False,
    )
