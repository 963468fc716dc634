"""deployments/prefect.yaml: generated from the campaign's dates, every entrypoint a flow,
every schedule inside the campaign, and `pingan deploy` failing in plain Chinese.

Schedules are expanded with Prefect's own RRuleSchedule, i.e. as the server reads them.
"""

from __future__ import annotations

import importlib
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import typer
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import RRuleSchedule
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.callables import parameter_schema
from pydantic import ValidationError
from typer.testing import CliRunner

from deployments.build import deployment_specs, prefect_yaml
from deployments.steps import enter_project
from pingan.cli.deploy import register
from pingan.core.campaign import Campaign, ScheduleConfig, load_campaign, working_calendar
from tests.factories import SEED_CODE, SEED_CONFIG

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "deployments" / "prefect.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ENTRYPOINTS = {
    "tick": "flows/tick.py:tick",
    "collect": "flows/collect.py:collect",
    "dispatch": "flows/dispatch.py:dispatch",
    "acceptance": "flows/acceptance.py:acceptance",
    "award": "flows/award.py:award",
    "report": "flows/report.py:report",
    "alert": "flows/alert.py:alert",
}


def checked_in() -> dict[str, Any]:
    return yaml.safe_load(CHECKED_IN.read_text(encoding="utf-8"))


def seed() -> Campaign:
    return load_campaign(SEED_CONFIG)


def by_kind() -> dict[str, dict[str, Any]]:
    return {d["entrypoint"].split(":")[1]: d for d in checked_in()["deployments"]}


def fires(deployment: dict[str, Any]) -> list[datetime]:
    """Every occurrence of the deployment's schedules, local time, as Prefect reads them."""
    out: list[datetime] = []
    for s in deployment["schedules"]:
        rule = RRuleSchedule(rrule=s["rrule"], timezone=s["timezone"]).to_rrule()
        out += [d.astimezone(ZoneInfo(s["timezone"])) for d in rule]
    return sorted(out)


def local(d: date, hh: int, mm: int = 0, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=tz)


def import_entrypoint(entrypoint: str) -> Any:
    path, _, name = entrypoint.partition(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


# --- the checked-in file ------------------------------------------------------------------


def test_checked_in_prefect_yaml_is_what_the_generator_writes_now() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == prefect_yaml(seed()), (
        "deployments/prefect.yaml 已过期：运行 pingan deploy config/campaigns/xucheng-2017.yaml "
        "--write-yaml deployments/prefect.yaml"
    )


def test_one_deployment_per_flow_named_after_the_campaign_on_the_process_pool() -> None:
    deployments = checked_in()["deployments"]
    assert sorted(d["entrypoint"] for d in deployments) == sorted(ENTRYPOINTS.values())
    assert {d["name"] for d in deployments} == {SEED_CODE}
    assert {d["work_pool"]["name"] for d in deployments} == {"pingan-process"}


def test_workers_enter_the_project_directory_before_loading_an_entrypoint() -> None:
    assert checked_in()["pull"] == [{"deployments.steps.enter_project": {}}]


@pytest.mark.parametrize("kind", sorted(ENTRYPOINTS))
def test_entrypoint_imports_a_prefect_flow(kind: str) -> None:
    assert isinstance(import_entrypoint(ENTRYPOINTS[kind]), Flow)


@pytest.mark.parametrize("kind", sorted(ENTRYPOINTS))
def test_parameters_are_flat_with_chinese_labels_and_a_required_campaign(kind: str) -> None:
    deployment = by_kind()[kind]
    flow = import_entrypoint(deployment["entrypoint"])
    schema = parameter_schema(flow).model_dump()
    # Top-level parameters: a run's -p as_of=… merges with the deployment's campaign.
    assert deployment["parameters"] == {"campaign": SEED_CODE}
    assert "campaign" in schema["required"]
    for name, prop in schema["properties"].items():
        assert re.search(r"[\u4e00-\u9fff]", prop["title"]), (name, prop)
        assert prop.get("description"), name
    assert deployment["enforce_parameter_schema"] is True


@pytest.mark.parametrize("kind", sorted(ENTRYPOINTS))
def test_dates_are_offered_with_the_date_widget(kind: str) -> None:
    flow = import_entrypoint(ENTRYPOINTS[kind])
    props = parameter_schema(flow).model_dump()["properties"]
    if "as_of" in props:
        assert {"format": "date", "type": "string"} in props["as_of"]["anyOf"]


@pytest.mark.parametrize("kind", sorted(ENTRYPOINTS))
def test_every_deployment_sets_its_own_concurrency_limit(kind: str) -> None:
    limit = by_kind()[kind]["concurrency_limit"]
    assert limit["limit"] == 1
    assert limit["collision_strategy"] in {"ENQUEUE", "CANCEL_NEW"}


@pytest.mark.parametrize("kind", sorted(set(ENTRYPOINTS) - {"alert"}))
def test_description_is_chinese_and_tags_name_campaign_and_flow(kind: str) -> None:
    deployment = by_kind()[kind]
    assert deployment["tags"] == ["pingan", SEED_CODE, kind]
    assert deployment["description"].startswith(seed().name)


# --- schedules against the seed campaign's dates ------------------------------------------


def campaign_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_tick_fires_at_nine_on_every_working_day_of_2017_and_on_no_other_day() -> None:
    c = seed()
    calendar = working_calendar(c, SEED_CONFIG)
    dates = fires(by_kind()["tick"])
    assert c.award.issued_on == date(2017, 11, 20)
    working = [
        d for d in campaign_days(c.starts_on, c.award.issued_on) if calendar.is_working_day(d)
    ]
    assert [d.date() for d in dates] == working
    assert {d.time() for d in dates} == {time(9, 0)}
    fired = {d.date() for d in dates}
    # 调休: the make-up Saturdays of 2017 work; May Day, 端午 and the National Day week rest.
    assert {date(2017, 5, 27), date(2017, 9, 30)} <= fired
    assert not fired & {date(2017, 5, 1), date(2017, 5, 29), date(2017, 5, 30), date(2017, 10, 2)}
    assert dates[0] == local(date(2017, 5, 2), 9)  # 05-01 is Labour Day


def test_acceptance_on_a_saturday_moves_to_the_next_working_day() -> None:
    start = seed().phase("acceptance").starts_on
    assert start == date(2017, 11, 11) and start.weekday() == 5
    assert fires(by_kind()["acceptance"]) == [local(date(2017, 11, 13), 10)]
    assert "顺延" in by_kind()["acceptance"]["description"]


def test_report_fires_weekly_on_working_days_a_holiday_monday_moving_to_the_next() -> None:
    c = seed()
    calendar = working_calendar(c, SEED_CONFIG)
    dates = fires(by_kind()["report"])
    assert all(calendar.is_working_day(d.date()) for d in dates)
    assert dates[0] == local(date(2017, 5, 2), 10)  # Monday 05-01 is Labour Day
    assert local(date(2017, 5, 1), 10) not in dates
    assert local(date(2017, 10, 2), 10) not in dates  # 10-09 is the next working day anyway
    # Labour Day and 端午 (05-29, 05-30) move their week's report to the next working day.
    assert [d.date() for d in dates if d.weekday() != 0] == [date(2017, 5, 2), date(2017, 5, 31)]
    assert dates[-1].date() <= c.ends_on < dates[-1].date() + timedelta(days=7)


def test_dispatch_fires_only_inside_the_campaign_and_outside_quiet_hours() -> None:
    c = seed()
    dates = fires(by_kind()["dispatch"])
    assert dates[0].date() == c.starts_on
    assert dates[-1].date() == c.ends_on
    # quiet_hours 20:00-08:00
    assert all(time(8, 0) <= d.time() < time(20, 0) for d in dates)


@pytest.mark.parametrize("kind", ["collect", "award", "alert"])
def test_manual_flows_have_no_schedule(kind: str) -> None:
    assert by_kind()[kind]["schedules"] == []


def test_every_schedule_is_in_the_campaign_time_zone() -> None:
    zones = {s["timezone"] for d in checked_in()["deployments"] for s in d["schedules"]}
    assert zones == {seed().timezone}


# --- the generator reads the campaign, not constants --------------------------------------


def shifted(c: Campaign, days: int, timezone: str) -> Campaign:
    phases = [
        p.model_copy(
            update={
                "starts_on": p.starts_on + timedelta(days=days),
                "ends_on": p.ends_on + timedelta(days=days),
            }
        )
        for p in c.phases
    ]
    assert c.award.issued_on is not None
    award = c.award.model_copy(update={"issued_on": c.award.issued_on + timedelta(days=days)})
    return c.model_copy(update={"phases": phases, "award": award, "timezone": timezone})


def spec_fires(
    campaign: Campaign, kind: str, times: ScheduleConfig | None = None
) -> list[datetime]:
    [spec] = [s for s in deployment_specs(campaign, times) if s.kind == kind]
    return fires({"schedules": [s.as_yaml() for s in spec.schedules]})


def test_schedules_follow_the_campaign_dates_and_time_zone() -> None:
    c = shifted(seed(), 365, "Asia/Urumqi")
    urumqi = ZoneInfo("Asia/Urumqi")
    tick = spec_fires(c, "tick")
    assert (tick[0], tick[-1]) == (
        local(date(2018, 5, 2), 9, tz=urumqi),  # 2018-05-01 is Labour Day
        local(date(2018, 11, 20), 9, tz=urumqi),
    )
    assert spec_fires(c, "acceptance") == [local(date(2018, 11, 12), 10, tz=urumqi)]  # Sun → Mon
    report = spec_fires(c, "report")
    assert report[0] == local(date(2018, 5, 7), 10, tz=urumqi)  # first Monday on or after 05-01


def test_configured_times_move_the_tick_and_the_weekly_report() -> None:
    times = ScheduleConfig(tick_at=time(7, 30), report_weekday="FR", report_at=time(16, 0))
    assert spec_fires(seed(), "tick", times)[0] == local(date(2017, 5, 2), 7, 30)
    report = spec_fires(seed(), "report", times)
    assert report[0] == local(date(2017, 5, 5), 16)
    assert {d.weekday() for d in report} <= {4, 0}  # a holiday Friday moves to Monday


def test_dispatch_runs_round_the_clock_without_quiet_hours_and_can_be_manual() -> None:
    c = seed()
    loud = c.model_copy(
        update={"notifications": c.notifications.model_copy(update={"quiet_hours": None})}
    )
    hours = {d.hour for d in spec_fires(loud, "dispatch")}
    assert hours == set(range(24))
    manual = ScheduleConfig(dispatch_every_minutes=None)
    assert spec_fires(c, "dispatch", manual) == []


def test_a_schedule_section_in_the_campaign_sets_the_times() -> None:
    times = ScheduleConfig(tick_at="08:15", dispatch_every_minutes=None)
    c = seed().model_copy(update={"schedule": times})
    assert spec_fires(c, "tick")[0] == local(date(2017, 5, 2), 8, 15)
    assert spec_fires(c, "dispatch") == []
    assert spec_fires(c, "report")[0] == local(date(2017, 5, 2), 10)  # default kept


def test_an_unquoted_time_in_the_schedule_is_explained() -> None:
    with pytest.raises(ValidationError, match="时间须加引号"):
        ScheduleConfig.model_validate({"tick_at": 600})


# --- the pull step ------------------------------------------------------------------------


def test_pull_step_enters_pingan_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("PINGAN_ROOT", str(ROOT))
    assert enter_project() == {"directory": str(ROOT)}
    assert Path.cwd() == ROOT


def test_pull_step_without_pingan_root_enters_where_the_code_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir("/")
    monkeypatch.delenv("PINGAN_ROOT", raising=False)
    enter_project()
    assert (Path.cwd() / "flows" / "tick.py").is_file()


def test_pull_step_refuses_a_directory_without_the_flows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PINGAN_ROOT", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="不是 pingan 项目目录"):
        enter_project()
    assert Path.cwd() == tmp_path


# --- pingan deploy ------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    register(app)
    return app


def test_write_yaml_writes_the_generated_file_without_a_server(
    cli: typer.Typer, tmp_path: Path
) -> None:
    target = tmp_path / "prefect.yaml"
    result = CliRunner().invoke(cli, ["deploy", str(SEED_CONFIG), "--write-yaml", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == prefect_yaml(seed())


def test_deploy_with_a_bad_campaign_lists_problems_and_exits_2(
    cli: typer.Typer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("code: x\nname: 测试\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["deploy", str(bad), "--dry-run"])
    assert result.exit_code == 2
    assert "缺少必填字段" in result.output
    assert "Traceback" not in result.output


def test_deploy_without_prefect_api_url_says_how_to_start_a_server(cli: typer.Typer) -> None:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(cli, ["deploy", str(SEED_CONFIG)])
    assert result.exit_code == 2
    assert "未设置 PREFECT_API_URL" in result.output
    assert "Traceback" not in result.output


def test_deploy_to_an_unreachable_server_exits_2_without_traceback(cli: typer.Typer) -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        result = CliRunner().invoke(cli, ["deploy", str(SEED_CONFIG)])
    assert result.exit_code == 2
    assert "无法连接 Prefect 服务器 http://127.0.0.1:9/api" in result.output
    assert "Traceback" not in result.output


def test_dry_run_loads_every_flow_and_lists_every_deployment(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["deploy", str(SEED_CONFIG), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "共 7 个部署" in result.output


def test_crash_after_shorter_than_a_heartbeat_is_refused(cli: typer.Typer) -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        result = CliRunner().invoke(cli, ["deploy", str(SEED_CONFIG), "--crash-after", "20"])
    assert result.exit_code == 2
    assert "--crash-after 须为 0（不设置）或大于 30 秒" in result.output


def test_prefect_deploy_reads_the_concurrency_and_working_day_schedules_of_the_yaml() -> None:
    """`prefect deploy --all --prefect-file deployments/prefect.yaml` parses the same file."""
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(checked_in())
    tick = next(d for d in model.deployments if d.entrypoint == ENTRYPOINTS["tick"])
    limit = tick.concurrency_limit
    assert getattr(limit, "limit", None) == 1
    assert getattr(limit, "collision_strategy", None) == "ENQUEUE"
    [schedule] = tick.schedules or []
    rrule = str(getattr(schedule, "rrule", ""))
    assert "EXDATE:" in rrule and "RDATE:" in rrule
