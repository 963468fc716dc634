"""Per-item status for people: the columns of `pingan status --items` (tab-separated lines
under a header) and of the tick's most-overdue-items artifact."""

from __future__ import annotations

from typing import Any

from pingan.core.gates import STATUS_LABELS

CHANNEL_LABELS = {
    "email": "邮件",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "webhook": "Webhook",
    "file": "文件",
}
KIND_LABELS = {"reminder": "提醒", "escalation": "督办", "digest": "督办汇总"}
ITEM_COLUMNS = (
    "单位编码",
    "单位名称",
    "事项",
    "状态",
    "截止日期",
    "逾期工作日",
    "督办级次",
    "下一级督办",
    "最近通知",
    "是否已读",
)
ITEM_HEADER = "\t".join(ITEM_COLUMNS)


def _next(rung: dict[str, Any] | None) -> str:
    if rung is None:
        return "—"
    to = rung["to"]["name"] if rung["to"] else "（未登记）"
    return f"第{rung['level']}级 {to}（{rung['on'] or '日历之外'}）"


def _last(msg: dict[str, Any] | None) -> tuple[str, str]:
    if msg is None:
        return "—", "—"
    channels = "、".join(CHANNEL_LABELS.get(c, c) for c in msg["channels"]) or "—"
    kind = KIND_LABELS.get(msg["kind"], msg["kind"])
    text = f"{msg['on']} {kind} 致{msg['to']['name']}（{channels}）"
    seen = "未知" if msg["seen"] is None else ("已读" if msg["seen"] else "未读")
    return text, seen


def item_cells(item: dict[str, Any]) -> tuple[str, ...]:
    """An item (pingan.adapters.db.status_items) as the ITEM_HEADER columns."""
    last, seen = _last(item["last_message"])
    return (
        item["unit"]["code"],
        item["unit"]["name"],
        item["gate"]["name"],
        STATUS_LABELS.get(item["status"], item["status"]),
        item["due_on"],
        str(item["days_overdue"]),
        str(item["level"]),
        _next(item["next_rung"]),
        last,
        seen,
    )


def item_line(item: dict[str, Any]) -> str:
    # A tab or line break inside a name would break the columns.
    return "\t".join(" ".join(c.split()) for c in item_cells(item))
