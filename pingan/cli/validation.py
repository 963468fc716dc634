"""What `pingan validate` reports about a valid campaign: one summary, printed for people
or written as JSON (the same facts, codes kept beside their words)."""

from __future__ import annotations

from typing import Any

from pingan.cli.common import out
from pingan.core.campaign import Campaign
from pingan.core.labels import CALENDAR_MODES, label


def campaign_summary(c: Campaign) -> dict[str, Any]:
    """The campaign's headline facts; gate names in full."""
    assumed = [
        *(p.name for p in c.phases if p.assumed),
        *(g.name for g in c.gates if g.assumed),
        *(f"{d.name}评分细则" for d in c.domains if d.rubric.assumed),
        *(["命名日期"] if c.award.assumed else []),
    ]
    return {
        "valid": True,
        "code": c.code,
        "name": c.name,
        "issuer": c.issuer,
        "issued_on": c.issued_on,
        "timezone": c.timezone,
        "calendar": {"mode": c.calendar.mode, "label": label(CALENDAR_MODES, c.calendar.mode)},
        "starts_on": c.starts_on,
        "ends_on": c.ends_on,
        "domains": [{"key": d.key, "name": d.name} for d in c.domains],
        "phases": [{"key": p.key, "name": p.name} for p in c.phases],
        "gates": [{"key": g.key, "name": g.name, "due_on": g.due_on} for g in c.gates],
        "targets": {"coverage": c.targets.coverage, "pass_rate": c.targets.pass_rate},
        "escalation": [
            {"after": s.after, "notify": s.notify, "label": c.wording.target_label(s.notify)}
            for s in c.escalation.ladder
        ],
        "assumed": assumed,
    }


def print_summary(s: dict[str, Any]) -> None:
    def say(text: str) -> None:
        out.print(text, markup=False, soft_wrap=True)

    gates = "、".join(f"{g['name']}（{g['due_on']:%m-%d}）" for g in s["gates"])
    ladder = " → ".join(f"逾期 {e['after']} 个工作日告知{e['label']}" for e in s["escalation"])
    say(f"配置有效：{s['name']}")
    say(
        f"  印发：{s['issuer']} {s['issued_on']}；时区 {s['timezone']}；"
        f"工作日历：{s['calendar']['label']}"
    )
    say(
        f"  {len(s['domains'])} 个领域（{'、'.join(d['name'] for d in s['domains'])}），"
        f"{len(s['phases'])} 个阶段（{s['starts_on']} 至 {s['ends_on']}），"
        f"{len(s['gates'])} 个报送事项"
    )
    say(f"  事项：{gates}")
    say(
        f"  目标：覆盖率 {s['targets']['coverage']:.0%}，达标率 {s['targets']['pass_rate']:.0%}；"
        f"逐级督办：{ladder}"
    )
    if s["assumed"]:
        say(f"  系统默认值（原文未规定）：{'、'.join(s['assumed'])}")
