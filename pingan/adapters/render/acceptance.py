"""Acceptance results and awards for the Prefect UI: pure functions to rows and markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pingan.adapters.render.messages import cn_date
from pingan.core.acceptance import AcceptanceResults, DomainResult, SignOff, shortfall
from pingan.core.awards import AwardListing

FAILED_LISTED = 200


def local_time(moment: datetime, tz: str) -> datetime:
    """A stored time (naive UTC, or aware) in the time zone ``tz``."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(ZoneInfo(tz))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _verdict(d: DomainResult, target: float) -> str:
    if not d.assessed:
        return "⚪ 未验收"
    gap = shortfall(d, target)
    return "🟢 达到目标" if gap == 0 else f"🔴 未达目标（尚差 {gap} 个）"


def results_table(res: AcceptanceResults) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    total = DomainResult("all", "合计")
    for d in res.domains:
        rows.append(_row(d, res.target_of(d)))
        for f in ("cells", "assessed", "passed", "failed", "vetoed", "awarded"):
            setattr(total, f, getattr(total, f) + getattr(d, f))
    rows.append(_row(total, res.pass_target))
    return rows


def _row(d: DomainResult, target: float) -> dict[str, Any]:
    return {
        "领域": d.title,
        "在册": d.cells,
        "已验收": d.assessed,
        "达标": d.passed,
        "未达标": d.failed,
        "其中一票否决": d.vetoed,
        "达标率": _pct(d.pass_rate()),
        "目标": f"{target:.0%}",
        "结论": _verdict(d, target),
        "已命名": d.awarded,
    }


def failed_markdown(res: AcceptanceResults) -> str:
    titles = {d.key: d.title for d in res.domains}
    lines = [
        f"## 未达标单位（截至 {res.as_of:%Y年%m月%d日}，共 {len(res.failed)} 个）",
        "",
    ]
    if not res.failed:
        return "\n".join([*lines, "全部验收单位均已达标。"])
    lines += [f"| 领域 | {res.grouping} | 单位 | 轮次 | 得分 | 原因 |", "|---|---|---|---|---|---|"]
    for f in res.failed[:FAILED_LISTED]:
        why = "；".join(f.reasons) or "未达标"
        mark = "⛔ " if f.vetoed else ""
        lines.append(
            f"| {titles.get(f.domain, f.domain)} | {f.village or '—'} | {_md(f.name)}（{f.code}）"
            f" | 第{f.round}轮 | {f.total:g} | {mark}{_md(why)} |"
        )
    if len(res.failed) > FAILED_LISTED:
        lines += ["", f"……另有 {len(res.failed) - FAILED_LISTED} 个，见 `pingan awards` 或报表。"]
    lines += ["", "未达标单位可在命名前复查（再次导入评分即为第 2 轮），历次记录保留。"]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "｜").replace("\n", " ")


def signoff_prompt(res: AcceptanceResults) -> str:
    """A one-paragraph summary of the results (the operator's log)."""
    parts = [
        f"考核验收共 {res.assessed} 个单位，达标 {res.passed} 个"
        f"（达标率 {_pct(res.passed / res.assessed if res.assessed else None)}，"
        f"目标 {res.pass_target:.0%}）。"
    ]
    for d in res.domains:
        verdict = _verdict(d, res.target_of(d))
        parts.append(f"{d.title}：达标 {d.passed}/{d.assessed}，{verdict}。")
    parts.append("请综治委审核：同意则对达标单位命名挂牌；可列出暂缓命名的单位及理由。")
    return "\n".join(parts)


SIGNING_MEANS = (
    "签批“同意命名”即确认以上验收结果：达标单位（暂缓命名的除外）将按顺序编号命名挂牌，"
    "生成证书与公示名单并通知获评单位；“退回复查”则不命名，须写明复查意见，"
    "未达标单位复查后可再次提请签批。"
)


def form_description(
    res: AcceptanceResults,
    deadline: datetime,
    problems: Sequence[str] = (),
    attempts_left: int | None = None,
) -> str:
    """The markdown shown above the sign-off form in the Prefect UI (``deadline`` local)."""
    lines: list[str] = []
    if problems:
        lines += ["### ⚠️ 上次提交未被接受，请修改后重新提交", ""]
        lines += [f"- {_md(p)}" for p in problems]
        if attempts_left is not None:
            lines += ["", f"**还可提交 {attempts_left} 次。**"]
        lines.append("")
    lines += [
        f"## 考核验收结果（截至 {cn_date(res.as_of)}）",
        "",
        f"请于 **{cn_datetime(deadline)}** 前签批，逾期本次流程结束，"
        "可用 `pingan acceptance signoff` 补签。",
        "",
        "| 领域 | 已验收 | 达标 | 未达标 | 一票否决 | 达标率 | 目标 | 结论 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in res.domains:
        target = res.target_of(d)
        lines.append(
            f"| {_md(d.title)} | {d.assessed} | {d.passed} | {d.failed} | {d.vetoed} "
            f"| {_pct(d.pass_rate())} | {target:.0%} | {_verdict(d, target)} |"
        )
    lines += ["", failed_markdown(res), "", "### 签批的含义", "", SIGNING_MEANS]
    return "\n".join(lines)


def cn_datetime(moment: datetime) -> str:
    """A local time as a person reads it: 2017年11月18日 07:52."""
    return f"{cn_date(moment.date())} {moment:%H:%M}"


def signoff_notice(
    campaign_name: str, approver: str, res: AcceptanceResults, deadline: datetime, link: str
) -> tuple[str, str]:
    """(subject, body) of the message that sends an approver the sign-off link."""
    subject = f"{campaign_name}：考核验收结果待您签批"
    body = [
        f"{approver}：",
        f"{campaign_name}考核验收结果已统计（截至 {cn_date(res.as_of)}）："
        f"共验收 {res.assessed} 个单位，达标 {res.passed} 个。",
        *(
            f"{d.title}：达标 {d.passed}/{d.assessed}，{_verdict(d, res.target_of(d))}"
            for d in res.domains
        ),
        f"请于 {cn_datetime(deadline)} 前打开以下专用链接查看并签批（仅限本人使用一次）：",
        link,
    ]
    return subject, "\n".join(body)


def signoff_reminder(
    campaign_name: str, approver: str, deadline: datetime, link: str
) -> tuple[str, str]:
    """(subject, body) of a working-day reminder while the sign-off waits."""
    subject = f"{campaign_name}：考核验收结果仍待您签批"
    body = (
        f"{approver}：\n{campaign_name}考核验收结果仍在等待签批，"
        f"请于 {cn_datetime(deadline)} 前打开专用链接查看并签批（仅限本人使用一次）：\n{link}"
    )
    return subject, body


def signoff_markdown(s: SignOff, tz: str) -> str:
    """The sign-off as an artifact; its time in the campaign's time zone ``tz``."""
    verdict = "同意命名" if s.approved else "退回复查"
    lines = [f"## 签批结果：{verdict}", "", f"- 签批人：{_md(s.approver)}"]
    lines.append(f"- 时间：{cn_datetime(local_time(s.at, tz))}（{tz}）")
    if s.comment:
        lines.append(f"- 意见：{_md(s.comment)}")
    if s.exclusions:
        lines.append(f"- 暂缓命名 {len(s.exclusions)} 个：")
        lines += [f"  - {code}：{_md(reason)}" for code, reason in s.exclusions.items()]
    return "\n".join(lines)


def awards_markdown(
    awards: Sequence[AwardListing], documents: Mapping[str, Any] | None, new: int
) -> str:
    active = [a for a in awards if a.revoked_at is None]
    revoked = [a for a in awards if a.revoked_at is not None]
    by_title: dict[str, int] = {}
    for a in active:
        by_title[a.title] = by_title.get(a.title, 0) + 1
    lines = [
        f"## 命名挂牌：有效 {len(active)} 个（本次新增 {new} 个，撤销 {len(revoked)} 个）",
        "",
        "| 称号 | 数量 | 编号范围 |",
        "|---|---|---|",
    ]
    for title, n in by_title.items():
        nums = [a.number for a in active if a.title == title]
        lines.append(f"| {title} | {n} | {nums[0]} ～ {nums[-1]} |")
    if revoked:
        lines += ["", "### 已撤销", ""]
        lines += [
            f"- {a.number} {_md(a.cell_name)}：{_md(a.revoked_reason or '')}" for a in revoked
        ]
    if documents:
        lines += ["", "### 文件", ""]
        lines += [f"- {label}：`{path}`" for label, path in documents.items() if path]
    return "\n".join(lines)
