"""Tick summaries for the Prefect UI: pure functions from the status report to rows/markdown."""

from __future__ import annotations

from typing import Any

from pingan.core.gates import COLOUR_LABELS

COLOUR_ORDER = ("green", "blue", "yellow", "red", "grey")
COLOUR_EMOJI = {"green": "🟢", "blue": "🔵", "yellow": "🟡", "red": "🔴", "grey": "⚪"}


def colour_table(status: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per domain (plus villages/other units and a total), one column per colour."""
    names = {k: d["name"] for k, d in status["domains"].items()}
    rows = []
    totals = dict.fromkeys(COLOUR_ORDER, 0)
    by_colour = status["obligations_by_colour"]
    for key in [*status["domains"], *(k for k in by_colour if k not in status["domains"])]:
        colours = by_colour.get(key, {})
        row: dict[str, Any] = {"领域": names.get(key, "不分领域的单位")}
        for c in COLOUR_ORDER:
            row[f"{COLOUR_EMOJI[c]}{COLOUR_LABELS[c]}"] = colours.get(c, 0)
            totals[c] += colours.get(c, 0)
        rows.append(row)
    rows.append(
        {
            "领域": "合计",
            **{f"{COLOUR_EMOJI[c]}{COLOUR_LABELS[c]}": totals[c] for c in COLOUR_ORDER},
        }
    )
    return rows


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _met(flag: bool | None) -> str:
    return "" if flag is None else ("✅" if flag else "❌")


def _kpi_lines(s: dict[str, Any], as_of: Any, dry_run: bool) -> list[str]:
    t = s["targets"]
    lines = [
        f"# {s['name']}",
        f"**截至 {as_of}**{'（试运行，未写入）' if dry_run else ''}",
        "",
        f"目标：创建覆盖率 {t['coverage']:.0%}，达标率 {t['pass_rate']:.0%}",
        "",
        "| 领域 | 创建单位 | 覆盖率 | 达标率 | 尚差（达标） | 已命名 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for d in [*s["domains"].values(), {"name": "合计", **s["overall"]}]:
        lines.append(
            f"| {d['name']} | {d['cells']} | {_pct(d['coverage'])} {_met(d['coverage_met'])} "
            f"| {_pct(d['pass_rate'])} {_met(d['pass_rate_met'])} | {d['pass_shortfall']} "
            f"| {d['awarded']} |"
        )
    return lines


def _run_lines(p: Any, intake: dict[str, Any] | None, delivery: dict[str, Any] | None) -> list[str]:
    lines = [
        "",
        "## 本次巡检",
        f"- 截止前提醒 {p.reminders} 条，逾期督办 {p.escalations} 条，督办汇总 {p.digests} 份",
    ]
    if p.by_level:
        lines.append(
            "- 新达到的督办级别："
            + "，".join(f"第{k}次 {v} 项" for k, v in sorted(p.by_level.items()))
        )
    if intake:
        lines.append(
            f"- 收取材料：合格 {intake['accepted']} 份（逾期 {intake['late']}），"
            f"重复 {intake['duplicates']}，退回 {intake['rejected']}"
        )
    if delivery:
        lines.append(
            f"- 投递：已发 {delivery.get('sent', 0)}，待重试 {delivery.get('failed', 0)}，"
            f"放弃 {delivery.get('dead', 0)}，因限流或免打扰顺延 "
            f"{delivery.get('rate_limited', 0) + delivery.get('deferred', 0)}"
        )
    return lines


def summary_markdown(
    result: Any, intake: dict[str, Any] | None = None, delivery: dict[str, Any] | None = None
) -> str:
    s = result.status
    o = s["obligations"]
    n = s["notifications"]
    lines = _kpi_lines(s, result.as_of, result.dry_run)
    lines += _run_lines(result.plan, intake, delivery)
    lines += [
        "",
        "## 待办与卡点",
        f"- 🔴 逾期 {o['overdue']} 项，🟡 临近截止 {o['due_soon']} 项，🔵 进行中 {o['open']} 项",
        f"- 🟢 已完成 {o['done']} 项，逾期完成 {o['done_late']} 项；已豁免 {o['waived']} 项",
        f"- 通知：待发 {n.get('queued', 0)}，已发 {n.get('sent', 0)}，"
        f"失败待重试 {n.get('failed', 0)}，放弃 {n.get('dead', 0)}",
    ]
    r = s.get("receipts")
    if r and r["told"]:
        lines.append(
            f"- 签收：最近一条提醒或督办已签收 {r['seen']} 个单位，未签收 {r['unseen']} 个"
        )
    return "\n".join(lines) + "\n"
