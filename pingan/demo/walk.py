"""The demo's walk through a campaign (the seed unless another YAML is given), one stage at a
time: load, the daily ticks of the plan and implementation phases, the acceptance week with
its score sheets, the coordinator's sign-off and the awards, then the closing report. Every
date comes from the campaign: its phases, its assessment gate and its award date."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine

from pingan.adapters.shipped import shipped
from pingan.core.calendar import WorkingCalendar
from pingan.core.campaign import Campaign, load_campaign, working_calendar
from pingan.demo.coordinator import resume_when_paused
from pingan.demo.sim import (
    Drop,
    plan_assessment,
    plan_drops,
    reassessed,
    self_check_punctuality,
    write_scores_csv,
)
from pingan.demo.summary import summarise
from pingan.services.synth import write_roster
from pingan.services.tick import CampaignHandle

SEED_CONFIG = shipped("campaigns", "xucheng-2017.yaml")
CAMPAIGNS_DIR = SEED_CONFIG.parent


def campaign_file(name: str | Path | None) -> Path:
    """The YAML for ``--campaign``: a path, or the code of a campaign in config/campaigns/."""
    if name is None:
        return SEED_CONFIG
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return CAMPAIGNS_DIR / f"{name}.yaml"


@dataclass(frozen=True)
class Dates:
    """The walk's days: from the first phase to the end (the award and its ceremonies
    included); three scoring days from the assessment gate's opening, then the import day
    and the re-assessment (复查) day, all working days."""

    start: date
    end: date
    scoring: tuple[date, date, date]
    import_day: date
    reassess_day: date

    @classmethod
    def of(cls, c: Campaign, cal: WorkingCalendar) -> Dates:
        from pingan.core.awards import issue_date

        assessment = next(g for g in c.gates if g.evidence == "assessment")
        days: list[date] = []
        day = c.gate_opens_on(assessment)
        while len(days) < 5:
            if cal.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        last = max([c.ends_on, issue_date(c), *(x.held_on for x in c.award.ceremonies)])
        return cls(c.starts_on, last, (days[0], days[1], days[2]), days[3], days[4])


@dataclass
class Walk:
    engine: Engine
    out_dir: Path
    seed: int
    console: Console
    campaign: Campaign
    handle: CampaignHandle
    calendar: WorkingCalendar
    inbox: Path
    dates: Dates
    by_day: dict[date, list[Drop]] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(cls, engine: Engine, out_dir: Path, run: DemoRun, console: Console) -> Walk:
        """Synthesise and load the roster; plan what the simulated units will send."""
        from pingan.services.load import load
        from pingan.services.tick import open_campaign

        campaign = load_campaign(run.config)
        roster = out_dir / "roster.csv"
        synth = write_roster(campaign, run.cells, run.seed, roster)
        loaded = load(engine, run.config, roster, actor="demo")
        console.print(
            f"1. {campaign.name}：虚构名册 {synth.villages} 个{campaign.wording.grouping}，"
            f"{synth.cells} 个创建单位；生成报送义务 {loaded.obligations_created} 项",
            markup=False,
        )
        handle = open_campaign(engine, campaign.code)
        calendar = working_calendar(campaign, run.config)
        walk = cls(
            engine,
            out_dir,
            run.seed,
            console,
            campaign,
            handle,
            calendar,
            out_dir / "inbox",
            Dates.of(campaign, calendar),
        )
        walk.inbox.mkdir()
        for d in plan_drops(engine, handle.campaign_id, run.seed):
            walk.by_day.setdefault(d.day, []).append(d)
        return walk

    def tick_on(self, day: date) -> None:
        """Drop the day's files into the inbox; on a working day, run the real tick flow."""
        from flows.tick import tick

        for d in self.by_day.pop(day, []):
            folder = self.inbox / d.kind / d.unit
            folder.mkdir(parents=True, exist_ok=True)
            (folder / d.name).write_bytes(d.content)
        if not self.calendar.is_working_day(day):
            return  # files dropped over a weekend wait in the inbox for Monday's tick
        r = tick(
            campaign=self.campaign.code,
            as_of=day,
            inbox=str(self.inbox),
            respect_quiet_hours=False,
        )
        self.totals.update(ticks=1, sent=r.delivery.sent if r.delivery else 0)

    def days(self, first: date, last: date, label: str) -> None:
        with self.console.status(label) as status:
            day = first
            while day <= last:
                status.update(f"{label}：{day}")
                self.tick_on(day)
                day += timedelta(days=1)

    def implementation(self) -> None:
        self.days(
            self.dates.start, self.dates.scoring[0] - timedelta(days=1), "2. 方案与实施阶段逐日巡检"
        )
        self.console.print(
            f"2. 方案、实施、自查阶段：{self.totals['ticks']} 个工作日各运行一次巡检流程",
            markup=False,
        )

    def import_sheet(self, path: Path, today: date) -> dict[str, int]:
        """The assessment team's sheet, through the same path as `pingan assess import`."""
        from pingan.services.acceptance import import_score_sheet

        return import_score_sheet(
            self.engine, self.handle, path, today=today, actor="考核组（演示）"
        )

    def acceptance_week(self) -> None:
        """Scores on the import day, re-assessment (复查) of failed cells the day after."""
        from pingan.adapters.db.assessing import active_cells

        dates = self.dates
        self.days(dates.scoring[0], dates.import_day - timedelta(days=1), "3. 考核验收")
        cid = self.handle.campaign_id
        punctual = self_check_punctuality(self.engine, cid, self.campaign.targets.coverage_gate)
        refs = active_cells(self.engine, cid)
        verdicts = plan_assessment(list(refs.values()), punctual, dates.scoring, self.seed)
        sheet = self.out_dir / "scores.csv"
        write_scores_csv(self.campaign, verdicts, sheet, "考核组（演示）")
        first = self.import_sheet(sheet, dates.import_day)
        self.tick_on(dates.import_day)
        again = reassessed(verdicts, self.seed, dates.reassess_day)
        sheet2 = self.out_dir / "scores-reassessment.csv"
        write_scores_csv(self.campaign, again, sheet2, "复查组（演示）")
        second = self.import_sheet(sheet2, dates.reassess_day)
        self.tick_on(dates.reassess_day)
        self.console.print(
            f"3. 考核验收：评分 {first['assessed']} 个单位，达标 {first['passed']} 个；"
            f"复查 {second['reassessed']} 个，达标 {second['passed']} 个",
            markup=False,
        )

    def sign_off_and_award(self) -> dict[str, Any]:
        """The acceptance run pauses; the "coordinator" answers through the Prefect API."""
        import flows.acceptance
        from flows.acceptance import acceptance
        from flows.outputs import AcceptanceOutput

        flows.acceptance.POLL_S = 1
        approver = f"{self.campaign.wording.coordinator}主任（演示）"
        signer = resume_when_paused(
            {"approver": approver, "decision": "同意命名", "comment": "同意对考核达标单位命名挂牌"}
        )
        accepted = acceptance(
            campaign=self.campaign.code,
            as_of=self.dates.reassess_day,
            actor="demo",
            timeout_hours=1,
        )
        signer.join(5)
        assert isinstance(accepted, AcceptanceOutput)
        award = accepted.award.model_dump(mode="json") if accepted.award else {}
        self.console.print(
            f"4. {self.campaign.wording.coordinator}签批（{approver}）后命名挂牌："
            f"{award.get('awarded', 0)} 个单位，"
            f"通知 {award.get('notices', 0)} 条",
            markup=False,
        )
        return award

    def closing(self) -> dict[str, Any]:
        from flows.dispatch import dispatch
        from flows.report import report

        end = self.dates.end
        self.days(self.dates.reassess_day + timedelta(days=1), end, "5. 命名挂牌阶段巡检")
        final = report(campaign=self.campaign.code, as_of=end)
        # The bulletin was planned for today's real clock; send it now, whatever the hour.
        dispatch(campaign=self.campaign.code, respect_quiet_hours=False)
        self.console.print(f"5. 截至 {end} 的工作报告已生成，周通报已发送", markup=False)
        return final.model_dump(mode="json")


@dataclass(frozen=True)
class DemoRun:
    """What one demo walks: the campaign YAML, the synthetic roster's size and seed."""

    config: Path
    cells: int
    seed: int


def walk_campaign(engine: Engine, out_dir: Path, run: DemoRun, console: Console) -> dict[str, Any]:
    walk = Walk.start(engine, out_dir, run, console)
    walk.implementation()
    walk.acceptance_week()
    award = walk.sign_off_and_award()
    final = walk.closing()
    return summarise(engine, walk.handle, walk.dates.end, out_dir, walk.totals, award, final)
