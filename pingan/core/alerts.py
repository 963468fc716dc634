"""Operator alerts: what the coordinator's office is told when a run fails or a sign-off
waits too long. Pure: the facts come in, a subject and a plain-text body go out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pingan.core.campaign import Campaign

MAX_REASON = 500


class AlertKind(StrEnum):
    run_failed = "run-failed"
    signoff_waiting = "signoff-waiting"


@dataclass(frozen=True)
class AlertFacts:
    """One alert. ``key`` makes it unique in the outbox (a flow run id, an acceptance run):
    the same alert raised twice is queued once."""

    kind: AlertKind
    key: str
    run_name: str = ""
    flow_name: str = ""
    state: str = ""
    reason: str = ""
    at: datetime | None = None  # aware; shown in the campaign's time zone
    link: str = ""  # the run's page in the Prefect UI, when the server's UI address is known


def _local(campaign: Campaign, at: datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(campaign.timezone)).strftime("%Y-%m-%d %H:%M")


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_REASON else flat[: MAX_REASON - 1] + "…"


def alert_text(campaign: Campaign, facts: AlertFacts) -> tuple[str, str]:
    w = campaign.wording
    when = _local(campaign, facts.at)
    see = f"\n运行详情：{facts.link}" if facts.link else ""
    if facts.kind is AlertKind.signoff_waiting:
        subject = f"【{campaign.name}】考核验收等待签批"
        body = (
            f"{w.office}：\n{campaign.name}的考核验收结果已于 {when or '此前'} 提交签批，"
            f"至今仍未签批，命名挂牌因此暂停。请提请{w.coordinator}尽快在 Prefect 界面"
            f"或签批链接中签批。{see}"
        )
        return subject, body
    subject = f"【{campaign.name}】流程运行失败：{facts.run_name or facts.flow_name}"
    reason = _one_line(facts.reason) or "未提供原因"
    body = (
        f"{w.office}：\n流程“{facts.flow_name}”的运行“{facts.run_name}”"
        f"{f'于 {when} ' if when else ''}结束，状态为“{facts.state or '失败'}”。\n"
        f"原因：{reason}\n请查看运行日志，处理后重新运行；巡检、投递可重复运行，不会重复发送。{see}"
    )
    return subject, body
