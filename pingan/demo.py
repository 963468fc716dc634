"""`pingan demo`: the 2017 seed campaign on a synthetic roster, walked day by day.

A deterministic simulator drops plans and self-check reports into an inbox (most on time,
some late, a few never, one malformed); every day intake runs and the tick evaluates and
plans reminders and escalations; the last day runs as a real Prefect flow so its artifacts
can be seen in the UI.
"""

from __future__ import annotations

import os
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine, func, select

from pingan.campaign import load_campaign
from pingan.db.campaigns import GateRow
from pingan.db.notifications import NotificationRow
from pingan.db.obligations import ObligationRow
from pingan.db.session import make_engine
from pingan.db.units import UnitRow
from pingan.settings import get_settings
from pingan.synth import write_roster

SEED_CONFIG = Path(__file__).resolve().parents[1] / "config" / "campaigns" / "xucheng-2017.yaml"
START, END = date(2017, 5, 1), date(2017, 11, 30)


@dataclass(frozen=True)
class Drop:
    day: date
    kind: str
    unit: str
    name: str
    content: bytes


def _pdf(text: str) -> bytes:
    return f"%PDF-1.4\n% {text}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".encode()


def plan_drops(engine: Engine, campaign_id: int, seed: int) -> list[Drop]:
    """Who sends what when: ~82% on time, ~12% late, ~6% never; deterministic per seed."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                UnitRow.code,
                GateRow.deliverable,
                GateRow.name,
                ObligationRow.opens_on,
                ObligationRow.due_on,
            )
            .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
            .join(GateRow, GateRow.id == ObligationRow.gate_id)
            .where(ObligationRow.campaign_id == campaign_id, GateRow.evidence == "files")
            .order_by(ObligationRow.id)
        ).all()
    drops = []
    for code, kind, gate_name, opens_on, due_on in rows:
        roll = rng.random()
        if roll < 0.06:
            continue
        if roll < 0.18:
            day = due_on + timedelta(days=rng.randint(1, 20))
        else:
            span = max((due_on - opens_on).days, 0)
            # Most people send near the deadline.
            day = due_on - timedelta(days=int(span * rng.random() ** 3))
        drops.append(Drop(day, kind, code, f"{gate_name[:10]}.pdf", _pdf(f"{code} {kind}")))
    if drops:
        bad = drops[len(drops) // 2]
        drops.append(Drop(bad.day, bad.kind, bad.unit, "照片.pdf", b"not really a pdf"))
    return drops


def run_demo(out_dir: Path, *, cells: int, seed: int, console: Console) -> None:
    from pingan.collecting import collect_inbox
    from pingan.dispatching import run_dispatch
    from pingan.loading import load
    from pingan.ticking import evaluate_and_plan, open_campaign

    out_dir = out_dir.resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    os.environ["PINGAN_HOME"] = str(out_dir)
    db_url = f"sqlite:///{out_dir / 'pingan.db'}"
    os.environ["PINGAN_DATABASE_URL"] = db_url
    # Nothing leaves the machine: every channel writes to one JSONL message log.
    os.environ["PINGAN_CHANNEL_OVERRIDE"] = "file"
    os.environ["PINGAN_OUTBOX_FILE"] = str(out_dir / "messages.jsonl")
    get_settings.cache_clear()
    engine = make_engine(db_url)

    campaign = load_campaign(SEED_CONFIG)
    roster = out_dir / "roster.csv"
    summary = write_roster(campaign, cells, seed, roster)
    console.print(
        f"1. 生成虚构名册：{summary.villages} 个村（社区），{summary.cells} 个创建单位",
        markup=False,
    )
    loaded = load(engine, SEED_CONFIG, roster, actor="demo")
    console.print(f"2. 导入创建活动与名册：报送义务 {loaded.obligations_created} 项", markup=False)
    handle = open_campaign(engine, campaign.code)
    drops = plan_drops(engine, handle.campaign_id, seed)
    by_day: dict[date, list[Drop]] = {}
    for d in drops:
        by_day.setdefault(d.day, []).append(d)

    inbox = out_dir / "inbox"
    totals: Counter[str] = Counter()
    day = START
    with console.status("3. 逐日巡检……") as status:
        while day < END:
            for d in by_day.get(day, []):
                folder = inbox / d.kind / d.unit
                folder.mkdir(parents=True, exist_ok=True)
                (folder / d.name).write_bytes(d.content)
            if by_day.get(day):
                report = collect_inbox(engine, campaign.code, str(inbox), as_of=day)
                totals.update(accepted=report.accepted, late=report.late, rejected=report.rejected)
            result = evaluate_and_plan(engine, handle, day)
            sent = run_dispatch(handle, engine=engine, respect_quiet_hours=False)
            totals.update(
                reminders=result.plan.reminders,
                escalations=result.plan.escalations,
                digests=result.plan.digests,
                sent=sent.sent,
            )
            status.update(f"3. 逐日巡检：{day}")
            day += timedelta(days=1)
    console.print(
        f"3. 逐日巡检 {START} 至 {END - timedelta(days=1)}：收取合格材料 {totals['accepted']} 份"
        f"（逾期 {totals['late']} 份），退回 {totals['rejected']} 份；"
        f"提醒 {totals['reminders']} 条，逾期督办 {totals['escalations']} 条，"
        f"督办汇总 {totals['digests']} 份；投递 {totals['sent']} 条",
        markup=False,
    )

    console.print(f"4. 以 Prefect 流程运行 {END} 的巡检（发布进度工件）……", markup=False)
    from flows.tick import TickInput, tick

    outcome = tick(TickInput(campaign=campaign.code, as_of=END, respect_quiet_hours=False))
    console.print(
        f"   完成：提醒 {outcome['reminders']}，督办 {outcome['escalations']}，"
        f"汇总 {outcome['digests']}",
        markup=False,
    )

    from pingan.render.status_table import status_tables
    from pingan.ticking import current_status

    for table in status_tables(current_status(engine, handle, END)):
        console.print(table)
    with engine.connect() as conn:
        levels = dict(
            conn.execute(
                select(NotificationRow.kind, func.count()).group_by(NotificationRow.kind)
            ).all()
        )
    console.print(f"通知（按类型）：{levels}", markup=False)
    settings = get_settings()
    console.print(f"数据库：{out_dir / 'pingan.db'}", markup=False)
    console.print(f"消息记录（每行一条已投递的通知）：{out_dir / 'messages.jsonl'}", markup=False)
    console.print(f"证据库：{settings.resolved_evidence_dir()}", markup=False)
    console.print(f"隔离区（退回的文件及原因）：{settings.resolved_quarantine_dir()}", markup=False)
    console.print(
        f"查看详情：pingan status {campaign.code} --as-of {END} --db {db_url}", markup=False
    )
    engine.dispose()
