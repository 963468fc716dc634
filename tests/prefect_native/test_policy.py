"""Run policy, alerts and rest days without a server: which failures are retried, what run
names say, what the shipped automations watch, what an alert tells the office."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from deployments.automations import campaign_automations
from deployments.build import deployment_specs
from pingan.core.alerts import AlertFacts, AlertKind, alert_text
from pingan.core.calendar import CalendarError
from pingan.core.campaign import load_campaign, working_calendar
from pingan.core.problems import InputError, Problem
from pingan.core.rest_days import rest_day_warnings
from tasks.policy import retry_unless_input_error, run_day
from tests.factories import ROOT, SEED_CONFIG

SECOND = ROOT / "config" / "campaigns" / "binjiang-2025.yaml"


class FailedWith:
    """A failed state as retry_condition_fn sees it: result() raises what the task raised."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def result(self) -> None:
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [InputError([Problem("参数", "as_of", "x")]), CalendarError("2031 年未知")],
    ids=["input", "calendar"],
)
def test_input_errors_are_not_retried(exc: BaseException) -> None:
    assert retry_unless_input_error(None, None, FailedWith(exc)) is False


def test_other_failures_are_retried() -> None:
    assert retry_unless_input_error(None, None, FailedWith(OSError("database is locked")))


def test_a_run_name_gives_the_date_asked_for() -> None:
    assert run_day("xucheng-2017", date(2017, 10, 31)) == "2017-10-31"
    assert run_day("xucheng-2017", "2017-10-31") == "2017-10-31"


def test_validate_warns_of_the_seeds_saturday_acceptance_and_due_date() -> None:
    c = load_campaign(SEED_CONFIG)
    lines = rest_day_warnings(c, working_calendar(c, SEED_CONFIG).is_working_day)
    assert any(
        "考核验收开始日 2017-11-11（星期六）" in line and "2017-11-13" in line for line in lines
    )
    assert any("2017-11-18（星期六）" in line for line in lines)


def test_the_failed_run_automation_watches_the_campaigns_runs_and_runs_its_alert() -> None:
    alert_id = uuid4()
    failed, signoff = campaign_automations("binjiang-2025", alert_id, 24)
    trigger = failed.trigger.model_dump()
    assert {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"} <= set(trigger["expect"])
    related = trigger["match_related"]
    assert related["prefect.resource.id"] == "prefect.tag.binjiang-2025"
    action = failed.actions[0].model_dump()
    assert action["deployment_id"] == alert_id
    assert action["parameters"]["campaign"] == "binjiang-2025"
    assert action["parameters"]["reason"]["__prefect_kind"] == "jinja"
    assert signoff.trigger.model_dump()["within"].total_seconds() == 24 * 3600


def test_the_alert_deployment_is_not_watched_by_the_failed_run_automation() -> None:
    specs = {s.kind: s for s in deployment_specs(load_campaign(SECOND))}
    assert {"pingan", "binjiang-2025"} <= set(specs["tick"].tags)
    # A failing alert run must not raise an alert about itself: none of the watched tags.
    assert not {"pingan", "binjiang-2025"} & set(specs["alert"].tags)
    assert specs["alert"].parameters == {"campaign": "binjiang-2025"}


def test_a_failure_alert_names_the_run_and_speaks_to_the_campaigns_own_office() -> None:
    c = load_campaign(SECOND)
    facts = AlertFacts(
        AlertKind.run_failed,
        "run-1",
        run_name="巡检 binjiang-2025 2031-06-10",
        flow_name="pingan-tick",
        state="Failed",
        reason="工作日历只载入到 2026-12-31",
    )
    subject, body = alert_text(c, facts)
    assert "巡检 binjiang-2025 2031-06-10" in subject
    assert body.startswith("区综治中心：")
    assert "工作日历只载入到 2026-12-31" in body
    assert "街道" not in subject + body


def test_a_rest_day_whose_next_working_day_the_calendar_cannot_tell_is_left_in_place() -> None:
    from datetime import date

    from pingan.core.calendar.overrides import CalendarError
    from pingan.core.rest_days import next_working_day

    def is_working(d: date) -> bool:
        if d.year > 2028:
            raise CalendarError("2029 年的工作日历未提供")
        return d.weekday() < 5

    assert next_working_day(date(2028, 12, 31), is_working) == date(2028, 12, 31)
