"""What the demo prints at the end: KPIs against the targets, messages sent by kind and
level, and where the report, certificates, public list and message log are."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, func, select

from pingan.adapters.db.notifications import NotificationRow


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


def summarise(
    engine: Engine,
    handle: Any,
    end: date,
    out_dir: Path,
    totals: Counter[str],
    award: dict[str, Any],
    final: dict[str, Any],
) -> dict[str, Any]:
    from pingan.services.tick import current_status

    status = current_status(engine, handle, end)
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
        "as_of": end.isoformat(),
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


def print_summary(console: Console, s: dict[str, Any]) -> None:
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
