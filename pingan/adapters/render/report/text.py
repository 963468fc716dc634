"""The report's words that the page, the workbook and the markdown summary share."""

from __future__ import annotations

from collections.abc import Mapping

from pingan.adapters.render.messages import cn_date
from pingan.adapters.render.report.data import NO_CHANNEL, ReportData, pct

KIND_LABELS = {
    "reminder": "截止前提醒",
    "escalation": "逾期督办",
    "digest": "督办汇总",
    "bulletin": "周通报",
    "award": "命名通知",
    "alert": "运行告警",
}
CHANNEL_LABELS: Mapping[str, str] = {
    "email": "电子邮件",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "webhook": "推送地址",
    "file": "文件（演示）",
    NO_CHANNEL: "未能投递",
}
STATE_LABELS: Mapping[str, str] = {
    "sent": "已送达",
    "queued": "待发",
    "leased": "发送中",
    "failed": "失败待重试",
    "dead": "已放弃",
    "cancelled": "已取消（事项已办结）",
}


def summary_text(data: ReportData) -> str:
    """The opening paragraph: the few sentences a busy reader takes away."""
    k = data.overall
    parts = [
        f"截至{cn_date(data.as_of)}，{data.area} {k.cells:,} 个创建单位中"
        f"已有 {k.covered:,} 个报送自查报告，"
        f"创建覆盖率 {pct(k.coverage)}（目标 {pct(data.coverage_target)}）"
    ]
    if k.coverage_met is False:
        parts[-1] += f"，尚差 {k.coverage_shortfall:,} 个"
    if k.assessed:
        parts.append(
            f"已考核验收 {k.assessed:,} 个，达标 {k.passed:,} 个、一票否决 {k.vetoed:,} 个，"
            f"达标率 {pct(k.pass_rate)}（目标 {pct(data.pass_rate_target)} 以上）"
            + (f"，尚差 {k.shortfall:,} 个" if k.pass_rate_met is False else "")
        )
    else:
        parts.append(data.acceptance)
    red = len(data.late_submissions)
    if red:
        top = data.red_at_coordinator
        parts.append(
            f"目前仍有 {red:,} 项报送事项逾期未报，涉及 {data.red_units:,} 个单位"
            + (f"，其中 {top:,} 项已逐级督办至{data.coordinator}" if top else "")
        )
    else:
        parts.append("目前没有逾期未报的事项")
    if data.late_assessments:
        parts.append(f"另有 {data.late_assessments:,} 个创建单位逾期未完成考核验收")
    if data.awarded:
        parts.append(f"已命名挂牌 {data.awarded:,} 个")
    return "；".join(parts) + "。"


def ladder_text(data: ReportData) -> str:
    steps = "，".join(f"逾期 {after} 个工作日告知{who}" for after, who in data.ladder)
    if data.repeat_every:
        steps += f"，此后每 {data.repeat_every} 个工作日再次督办"
    return steps
