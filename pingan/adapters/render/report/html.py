"""The report as ONE self-contained HTML file for a 综治委 reader.

Charts are embedded as base64 PNG, the stylesheet is inline, and nothing is fetched from
anywhere: the file can be mailed, archived or opened offline. Every value goes through
Jinja2's autoescaping — unit names come from rosters typed by many hands.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, StrictUndefined

from pingan.adapters.render.messages import cn_date
from pingan.adapters.render.report.data import ReportData, pct
from pingan.core.scoring import DomainKpi

# Longer lists stay in the workbook; a page of thousands of rows helps no reader.
HTML_ROW_LIMIT = 300
KIND_LABELS = {
    "reminder": "截止前提醒",
    "escalation": "逾期督办",
    "digest": "督办汇总",
    "bulletin": "周通报",
    "award": "命名通知",
}
WEEKDAYS = "一二三四五六日"

TEMPLATE = r"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}（截至{{ as_of_cn }}）</title>
<style>
:root { --red: #a31515; --ink: #263238; --muted: #607d8b; --line: #e3e7ea;
        --ok: #2e7d32; --bad: #c62828; --na: #78909c; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef0f3; color: var(--ink);
       font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
                    "WenQuanYi Zen Hei", "Hiragino Sans GB", sans-serif;
       font-size: 14px; line-height: 1.65; }
.page { max-width: 1100px; margin: 28px auto; background: #fff; padding: 44px 60px 36px;
        box-shadow: 0 1px 4px rgba(0, 0, 0, .08); }
.masthead { text-align: center; border-bottom: 3px solid var(--red); padding-bottom: 16px;
            position: relative; }
.masthead::after { content: ""; position: absolute; left: 0; right: 0; bottom: -7px;
                   border-bottom: 1px solid var(--red); }
.issuer { color: var(--red); font-size: 15px; letter-spacing: .35em; }
h1 { color: var(--red); font-size: 30px; margin: 6px 0 4px; letter-spacing: .06em; }
.subtitle { color: var(--muted); font-size: 14px; }
.meta { display: flex; flex-wrap: wrap; justify-content: center; gap: 6px 22px;
        margin-top: 10px; font-size: 13px; color: var(--muted); }
.meta b { color: var(--ink); font-weight: 600; }
.summary { margin: 30px 0 8px; padding: 14px 18px; background: #fbf7f2;
           border-left: 4px solid #d4a373; font-size: 15px; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 18px 0 6px; }
.card { border: 1px solid var(--line); border-top: 4px solid var(--c, var(--na));
        border-radius: 6px; padding: 10px 14px 12px; }
.card.ok { --c: var(--ok); } .card.bad { --c: var(--bad); } .card.na { --c: var(--na); }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 28px; font-weight: 700; color: var(--c, var(--ink)); line-height: 1.3;
               font-variant-numeric: tabular-nums; }
.card .sub { font-size: 12px; color: var(--muted); }
h2 { font-size: 19px; margin: 38px 0 12px; padding-left: 10px; border-left: 5px solid var(--red); }
p.note, .caption { font-size: 12.5px; color: var(--muted); margin: 4px 0 10px; }
figure { margin: 10px 0 14px; }
figure img { display: block; width: 100%; height: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; margin: 6px 0 4px; }
th { background: #f1f3f5; text-align: left; font-weight: 600; padding: 7px 8px;
     border-bottom: 2px solid #cfd8dc; white-space: nowrap; }
td { padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; background: #fafbfc; border-top: 2px solid #cfd8dc; }
tr.sev td { background: #fff5f5; }
.badge { display: inline-block; padding: 0 7px; border-radius: 3px; font-size: 12px;
         line-height: 1.7; white-space: nowrap; }
.badge.ok { background: #e8f5e9; color: var(--ok); }
.badge.bad { background: #ffebee; color: var(--bad); }
.badge.na { background: #eceff1; color: var(--na); }
.empty { color: var(--muted); padding: 12px 0; }
footer { margin-top: 40px; padding-top: 14px; border-top: 1px solid var(--line);
         font-size: 12.5px; color: var(--muted); }
footer ol { padding-left: 20px; margin: 6px 0; }
@media (max-width: 900px) { .page { padding: 24px 18px; } .cards { grid-template-columns: 1fr 1fr; } }
@media print {
  body { background: #fff; font-size: 12px; }
  .page { box-shadow: none; margin: 0; max-width: none; padding: 0; }
  h2 { break-after: avoid; } figure, tr { break-inside: avoid; }
  @page { size: A4; margin: 16mm 14mm; }
}
</style>
</head>
<body>
<main class="page">
<header class="masthead">
  <div class="issuer">{{ office }}</div>
  <h1>{{ title }}</h1>
  <div class="subtitle">{{ campaign_name }}</div>
  <div class="meta">
    <span>统计截至 <b>{{ as_of_cn }}（{{ weekday }}）</b></span>
    <span>当前阶段 <b>{{ phase }}</b></span>
    <span>活动周期 {{ period }}</span>
    <span>生成时间 {{ generated }}</span>
  </div>
</header>

<section class="summary">{{ summary }}</section>

<section class="cards">
{% for c in cards %}
  <div class="card {{ c.tone }}">
    <div class="label">{{ c.label }}</div>
    <div class="value">{{ c.value }}</div>
    {% for line in c.sub %}<div class="sub">{{ line }}</div>{% endfor %}
  </div>
{% endfor %}
</section>

<h2 id="domains">一、分领域创建情况</h2>
<figure>
  <img src="data:image/png;base64,{{ charts.coverage }}" alt="各领域创建覆盖率与达标率对照目标">
</figure>
<table>
  <thead><tr>
    <th>领域</th><th>牵头单位</th><th class="num">创建单位</th><th class="num">已覆盖</th>
    <th class="num">覆盖率</th><th class="num">已验收</th><th class="num">达标</th>
    <th class="num">一票否决</th><th class="num">达标率</th><th class="num">尚差达标</th>
    <th class="num">已命名</th><th class="num">逾期未报</th>
  </tr></thead>
  <tbody>
  {% for d in domains %}
    <tr class="{{ 'total' if d.total else '' }}">
      <td>{{ d.name }}</td><td>{{ d.lead }}</td>
      <td class="num">{{ d.cells }}</td><td class="num">{{ d.covered }}</td>
      <td class="num">{{ d.coverage }} <span class="badge {{ d.coverage_tone }}">{{ d.coverage_mark }}</span></td>
      <td class="num">{{ d.assessed }}</td><td class="num">{{ d.passed }}</td>
      <td class="num">{{ d.vetoed }}</td>
      <td class="num">{{ d.pass_rate }} <span class="badge {{ d.pass_tone }}">{{ d.pass_mark }}</span></td>
      <td class="num">{{ d.shortfall }}</td><td class="num">{{ d.awarded }}</td>
      <td class="num">{{ d.overdue }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
<p class="note">目标：创建覆盖率 {{ coverage_target }}，达标率 {{ pass_rate_target }} 以上。“尚差达标”为按当前覆盖数计算，还需考核达标的单位数。</p>

<h2 id="progress">二、报送义务进度</h2>
<figure>
  <img src="data:image/png;base64,{{ charts.burndown }}" alt="报送义务状态变化（自活动开始至统计日期）">
</figure>
<p class="note">自 {{ start_cn }} 起逐日统计各状态的报送义务数（含考核验收事项；图例中为统计日期当天的数字），自下而上依次为已完成、逾期完成、已豁免、已逾期、临近截止、进行中、尚未开始。</p>

<h2 id="villages">三、逾期事项分布（按村、社区）</h2>
<figure>
  <img src="data:image/png;base64,{{ charts.villages }}" alt="各村（社区）逾期未报与逾期补报事项">
</figure>
<p class="note">{{ villages_note }}创建单位的事项计入其所在村（社区）；村（社区）自身的事项计入本村（社区）；街道各单位的事项计入“街道直属单位”。</p>

<h2 id="notifications">四、通知与督办</h2>
<figure>
  <img src="data:image/png;base64,{{ charts.notifications }}" alt="通知投递情况（按渠道和状态）">
</figure>
<p class="note">{{ kinds }}。每条通知按收件单位登记的联系方式逐一投递；“未能投递”为收件单位未登记可用联系方式的通知。</p>

<h2 id="red">五、逾期未报事项清单（共 {{ red_total }} 项）</h2>
{% if red_rows %}
<table>
  <thead><tr>
    <th class="num">序号</th><th>领域</th><th>村（社区）</th><th>单位</th><th>事项</th>
    <th>截止日期</th><th class="num">逾期工作日</th><th class="num">督办次数</th><th>已报告至</th>
  </tr></thead>
  <tbody>
  {% for r in red_rows %}
    <tr class="{{ 'sev' if r.severe else '' }}">
      <td class="num">{{ loop.index }}</td><td>{{ r.domain }}</td><td>{{ r.village }}</td>
      <td>{{ r.unit }}</td><td>{{ r.gate }}</td><td>{{ r.due_on }}</td>
      <td class="num">{{ r.days }}</td><td class="num">{{ r.level }}</td><td>{{ r.told }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
{% if red_more %}<p class="note">以上为逾期最久的 {{ red_rows | length }} 项，另有 {{ red_more }} 项见同名 XLSX 工作簿“逾期事项”工作表。</p>{% endif %}
{% else %}
<p class="empty">截至统计日期，没有逾期未报的事项。</p>
{% endif %}
{% if late_assessments %}<p class="note">另有 {{ late_assessments }} 个创建单位已过考核验收截止日期仍未验收，由考核组办理，不发督办，名单见 XLSX 工作簿“逾期事项”工作表。</p>{% endif %}

<h2 id="failed">六、考核未达标及一票否决单位（共 {{ failed_total }} 个）</h2>
{% if failed_rows %}
<table>
  <thead><tr>
    <th class="num">序号</th><th>领域</th><th>村（社区）</th><th>单位</th>
    <th class="num">验收轮次</th><th>验收日期</th><th class="num">得分</th><th>结论</th><th>原因</th>
  </tr></thead>
  <tbody>
  {% for f in failed_rows %}
    <tr>
      <td class="num">{{ loop.index }}</td><td>{{ f.domain }}</td><td>{{ f.village }}</td>
      <td>{{ f.unit }}</td><td class="num">第 {{ f.round }} 轮</td><td>{{ f.assessed_on }}</td>
      <td class="num">{{ f.total }}</td>
      <td><span class="badge {{ 'bad' if f.vetoed else 'na' }}">{{ '一票否决' if f.vetoed else '未达标' }}</span></td>
      <td>{{ f.reasons }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
{% if failed_more %}<p class="note">另有 {{ failed_more }} 个单位见 XLSX 工作簿“未达标单位”工作表。</p>{% endif %}
{% else %}
<p class="empty">{{ failed_empty }}</p>
{% endif %}

<footer>
  <div>口径说明：</div>
  <ol>
    <li>创建覆盖率 = 已报送自查报告的在册创建单位 ÷ 在册创建单位；达标率 = 考核达标的单位 ÷ 已覆盖单位，以各单位截至统计日期最近一轮验收（含复查）结果为准。</li>
    <li>逾期：截止日期已过、截至统计日期仍未报送且未经批准豁免的事项；逾期工作日按法定节假日及调休安排计算。</li>
    <li>逐级督办：{{ ladder }}。</li>
    <li>本报告由 pingan 依据报送登记、验收评分和通知投递记录自动生成；同名 XLSX 工作簿含完整清单，供年度综治工作（平安创建）考核使用。</li>
  </ol>
  <div>{{ office }} · {{ issuer }}</div>
</footer>
</main>
</body>
</html>
"""  # noqa: E501  (HTML and Chinese prose read better unwrapped)


def _env() -> Environment:
    return Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True)


def _mark(met: bool | None) -> tuple[str, str]:
    """(css tone, word) for a target check."""
    if met is None:
        return "na", "—"
    return ("ok", "达标") if met else ("bad", "未达")


def _domain_row(
    name: str, lead: str, k: DomainKpi, awarded: int, overdue: int, total: bool
) -> dict[str, Any]:
    cov_tone, cov_mark = _mark(k.coverage_met)
    pass_tone, pass_mark = _mark(k.pass_rate_met if k.assessed else None)
    return {
        "name": name,
        "lead": lead,
        "cells": f"{k.cells:,}",
        "covered": f"{k.covered:,}",
        "coverage": pct(k.coverage),
        "coverage_tone": cov_tone,
        "coverage_mark": cov_mark,
        "assessed": f"{k.assessed:,}",
        "passed": f"{k.passed:,}",
        "vetoed": f"{k.vetoed:,}",
        # Before acceptance a 0% pass rate would read as failure: say it is not known yet.
        "pass_rate": pct(k.pass_rate) if k.assessed else "未验收",
        "pass_tone": pass_tone,
        "pass_mark": pass_mark if k.assessed else "",
        "shortfall": f"{k.shortfall:,}" if k.assessed else "—",
        "awarded": f"{awarded:,}",
        "overdue": f"{overdue:,}",
        "total": total,
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
            + (f"，其中 {top:,} 项已逐级督办至街道综治委" if top else "")
        )
    else:
        parts.append("目前没有逾期未报的事项")
    if data.late_assessments:
        parts.append(f"另有 {data.late_assessments:,} 个创建单位逾期未完成考核验收")
    if data.awarded:
        parts.append(f"已命名挂牌 {data.awarded:,} 个")
    return "；".join(parts) + "。"


def _cards(data: ReportData) -> list[dict[str, Any]]:
    k = data.overall
    sent = sum(c.count for c in data.notifications if c.state == "sent")
    stuck = sum(c.count for c in data.notifications if c.state in ("failed", "dead"))
    total = sum(c.count for c in data.notifications)
    red = len(data.late_submissions)
    top = data.red_at_coordinator
    cov_tone, _ = _mark(k.coverage_met)
    pass_tone, _ = _mark(k.pass_rate_met if k.assessed else None)
    return [
        {
            "label": "创建覆盖率",
            "value": pct(k.coverage),
            "sub": [
                f"已覆盖 {k.covered:,} / {k.cells:,}",
                f"目标 {pct(data.coverage_target)}，"
                + (f"尚差 {k.coverage_shortfall:,} 个" if k.coverage_met is False else "已达到"),
            ],
            "tone": cov_tone,
        },
        {
            "label": "达标率",
            "value": pct(k.pass_rate) if k.assessed else "未验收",
            "sub": [
                f"达标 {k.passed:,} / 已覆盖 {k.covered:,}",
                f"目标 {pct(data.pass_rate_target)} 以上"
                + (f"，尚差 {k.shortfall:,} 个" if k.assessed and k.pass_rate_met is False else ""),
            ],
            "tone": pass_tone,
        },
        {
            "label": "逾期未报事项",
            "value": f"{red:,}",
            "sub": [f"涉及 {data.red_units:,} 个单位", f"已报{data.coordinator} {top:,} 项"],
            "tone": "bad" if red else "ok",
        },
        {
            "label": "已命名挂牌",
            "value": f"{data.awarded:,}",
            "sub": [f"考核达标 {k.passed:,} 个", f"一票否决 {k.vetoed:,} 个"],
            "tone": "ok" if data.awarded else "na",
        },
        {
            "label": "通知已送达",
            "value": f"{sent:,}",
            "sub": [f"投递 {total:,} 条", f"失败待重试或已放弃 {stuck:,} 条"],
            "tone": "bad" if stuck else ("ok" if sent else "na"),
        },
    ]


def ladder_text(data: ReportData) -> str:
    steps = "，".join(f"逾期 {after} 个工作日告知{who}" for after, who in data.ladder)
    if data.repeat_every:
        steps += f"，此后每 {data.repeat_every} 个工作日再次督办"
    return steps


def render_html(data: ReportData, charts: Mapping[str, bytes]) -> str:
    """The report page; ``charts`` are PNG bytes keyed as
    pingan.adapters.render.report.charts names."""
    from pingan.adapters.render.report.charts import TOP_VILLAGES

    k = data.overall
    domains = [
        _domain_row(d.name, d.lead, d.kpi, d.awarded, d.overdue, False) for d in data.domains
    ]
    domains.append(
        _domain_row(
            data.area,
            data.coordinator,
            k,
            data.awarded,
            len(data.late_submissions),
            True,
        )
    )
    red_rows = [
        {
            "domain": r.domain,
            "village": r.village,
            "unit": r.unit_name,
            "gate": r.gate,
            "due_on": r.due_on.isoformat(),
            "days": r.days_overdue,
            "level": f"{r.level} 次" if r.level else "—",
            "told": r.told,
            "severe": r.target == "coordinator",
        }
        for r in data.late_submissions[:HTML_ROW_LIMIT]
    ]
    failed_rows = [
        {
            "domain": f.domain,
            "village": f.village,
            "unit": f.unit_name,
            "round": f.round,
            "assessed_on": f.assessed_on.isoformat(),
            "total": f"{f.total:g}",
            "vetoed": f.vetoed,
            "reasons": "；".join(f.reasons),
        }
        for f in data.failed_cells[:HTML_ROW_LIMIT]
    ]
    kinds = "，".join(
        f"{KIND_LABELS.get(kind, kind)} {n:,} 条" for kind, n in data.notification_kinds.items()
    )
    local = data.generated_at
    return (
        _env()
        .from_string(TEMPLATE)
        .render(
            title=f"{data.short_name}工作进展报告",
            campaign_name=data.campaign_name,
            office=data.office,
            issuer=data.issuer,
            as_of_cn=cn_date(data.as_of),
            weekday=f"星期{WEEKDAYS[data.as_of.weekday()]}",
            phase=data.phase or ("尚未开始" if data.as_of < data.starts_on else "已结束"),
            period=f"{cn_date(data.starts_on)}—{cn_date(data.ends_on)}",
            start_cn=cn_date(min(data.starts_on, data.as_of)),
            generated=f"{local:%Y-%m-%d %H:%M}",
            summary=summary_text(data),
            cards=_cards(data),
            domains=domains,
            coverage_target=pct(data.coverage_target),
            pass_rate_target=pct(data.pass_rate_target),
            charts={name: base64.b64encode(png).decode("ascii") for name, png in charts.items()},
            kinds=f"已安排通知：{kinds}" if kinds else "尚未安排任何通知",
            red_total=f"{len(data.late_submissions):,}",
            red_rows=red_rows,
            red_more=max(len(data.late_submissions) - HTML_ROW_LIMIT, 0),
            late_assessments=data.late_assessments,
            failed_total=f"{len(data.failed_cells):,}",
            failed_rows=failed_rows,
            failed_more=max(len(data.failed_cells) - HTML_ROW_LIMIT, 0),
            failed_empty=f"{data.acceptance}。" if not k.assessed else "所有已验收单位均已达标。",
            ladder=ladder_text(data),
            villages_note=(
                f"图中列出逾期事项最多的 {TOP_VILLAGES} 处，另有 {more} 处见 XLSX 工作簿"
                "“逾期分布”工作表。"
                if (more := len(data.late_by_village) - TOP_VILLAGES) > 0
                else ""
            ),
        )
    )
