"""Terminal tables for `pingan status`, from the status report dict."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.table import Table

from pingan.core.gates import STATUS_LABELS, STATUSES


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _mark(met: bool | None) -> str:
    return "" if met is None else ("✓" if met else "✗")


def _kpi_table(report: dict[str, Any]) -> Table:
    t = report["targets"]
    kpi = Table(
        title=f"{report['name']} 截至 {report['as_of']}"
        f"（目标：覆盖率 {t['coverage']:.0%}，达标率 {t['pass_rate']:.0%}）"
    )
    for col in (
        "领域",
        "创建单位",
        "已覆盖",
        "覆盖率",
        "已验收",
        "达标",
        "达标率",
        "尚差",
        "已命名",
    ):
        kpi.add_column(col, justify="right" if col != "领域" else "left")
    rows = [(d["name"], d) for d in report["domains"].values()] + [("合计", report["overall"])]
    for name, d in rows:
        kpi.add_row(
            name,
            str(d["cells"]),
            str(d["covered"]),
            f"{_pct(d['coverage'])} {_mark(d['coverage_met'])}",
            str(d["assessed"]),
            str(d["passed"]),
            # Before acceptance a 0% pass rate would read as failure; say it is not yet known.
            f"{_pct(d['pass_rate'])} {_mark(d['pass_rate_met'])}" if d["assessed"] else "未验收",
            str(d["pass_shortfall"]) if d["assessed"] else "—",
            str(d["awarded"]),
        )
    return kpi


def _obligation_table(report: dict[str, Any]) -> Table:
    ob = Table(title="报送义务")
    ob.add_column("领域")
    for s in STATUSES:
        ob.add_column(STATUS_LABELS[s], justify="right")
    for d in report["domains"].values():
        ob.add_row(d["name"], *(str(d["obligations"].get(s, 0)) for s in STATUSES))
    ob.add_row("合计", *(str(report["obligations"][s]) for s in STATUSES))
    return ob


NOTIFICATION_LABELS = {
    "queued": "待发",
    "leased": "发送中",
    "sent": "已发",
    "failed": "失败待重试",
    "dead": "放弃",
    "cancelled": "已取消（事项已完成）",
}


def _notification_table(report: dict[str, Any]) -> Table:
    nt = Table(title="通知")
    for state in report["notifications"]:
        nt.add_column(NOTIFICATION_LABELS.get(state, state), justify="right")
    nt.add_row(*(str(n) for n in report["notifications"].values()))
    r = report.get("receipts")
    if r and r["told"]:
        # Read receipts: a unit signs by opening the personal link its message carried.
        nt.caption = f"最近一条提醒或督办：已签收 {r['seen']} 个单位，未签收 {r['unseen']} 个"
    return nt


def status_tables(report: dict[str, Any]) -> Iterator[Table]:
    yield _kpi_table(report)
    yield _obligation_table(report)
    yield _notification_table(report)
