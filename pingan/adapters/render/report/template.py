"""The report page's Jinja2 template: one self-contained HTML file, stylesheet inline, charts
embedded, nothing fetched from anywhere."""

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

<h2 id="villages">三、逾期事项分布（按{{ org.grouping }}）</h2>
<figure>
  <img src="data:image/png;base64,{{ charts.villages }}" alt="各{{ org.grouping }}逾期未报与逾期补报事项">
</figure>
<p class="note">{{ villages_note }}创建单位的事项计入其所在{{ org.grouping }}；{{ org.grouping }}自身的事项计入其本身；{{ org.own_units }}的事项计入“{{ org.direct }}”。</p>

<h2 id="notifications">四、通知与督办</h2>
<figure>
  <img src="data:image/png;base64,{{ charts.notifications }}" alt="通知投递情况（按渠道和状态）">
</figure>
<p class="note">{{ kinds }}。每条通知按收件单位登记的联系方式逐一投递；“未能投递”为收件单位未登记可用联系方式的通知。{{ receipts }}</p>

<h2 id="red">五、逾期未报事项清单（共 {{ red_total }} 项）</h2>
{% if red_rows %}
<table>
  <thead><tr>
    <th class="num">序号</th><th>领域</th><th>{{ org.grouping }}</th><th>单位</th><th>事项</th>
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
    <th class="num">序号</th><th>领域</th><th>{{ org.grouping }}</th><th>单位</th>
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
