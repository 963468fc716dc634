"""What people read about a sign-off: above the Prefect form, in messages, in the artifact."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pingan.adapters.render.acceptance import (
    form_description,
    signoff_markdown,
    signoff_notice,
)
from pingan.core.acceptance import AcceptanceResults, DomainResult, FailedCell, SignOff

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _results() -> AcceptanceResults:
    campus = DomainResult("campus", "平安校园", cells=10, assessed=4, passed=2, failed=2, vetoed=1)
    family = DomainResult("family", "平安家庭", cells=10, assessed=3, passed=3)
    failed = [
        FailedCell("campus", "S0002", "实验小学", "东村", 1, 55, True, ("发生刑事案件",)),
    ]
    return AcceptanceResults(date(2017, 11, 18), 0.9, [campus, family], failed)


def test_the_form_shows_each_domains_results_the_failed_cells_and_what_signing_means() -> None:
    text = form_description(_results(), datetime(2017, 11, 21, 10, 0, tzinfo=SHANGHAI))
    assert "| 平安校园 | 4 | 2 | 2 | 1 | 50.0% | 90% | 🔴 未达目标（尚差 2 个） |" in text
    assert "实验小学（S0002）" in text and "发生刑事案件" in text
    assert "2017年11月21日 10:00" in text
    assert "签批的含义" in text


def test_a_rejected_answer_is_shown_above_the_form_with_the_attempts_left() -> None:
    text = form_description(
        _results(),
        datetime(2017, 11, 21, 10, 0, tzinfo=SHANGHAI),
        ["签批: exclusions.S9999: 单位 S9999 不是考核达标的在册创建单位"],
        2,
    )
    assert text.startswith("### ⚠️ 上次提交未被接受")
    assert "S9999 不是考核达标的在册创建单位" in text and "还可提交 2 次" in text


def test_the_sign_off_artifact_gives_its_time_in_the_campaigns_time_zone() -> None:
    # 07:52 in Beijing is 23:52 UTC the day before: the artifact says 07:52.
    s = SignOff(1, "王主任", True, None, {}, datetime(2017, 11, 20, 23, 52))
    text = signoff_markdown(s, "Asia/Shanghai")
    assert "2017年11月21日 07:52" in text and "UTC" not in text


def test_the_approvers_message_names_them_the_results_the_deadline_and_the_link() -> None:
    subject, body = signoff_notice(
        "平安细胞创建",
        "王主任",
        _results(),
        datetime(2017, 11, 21, 10, 0, tzinfo=SHANGHAI),
        "〔链接〕",
    )
    assert "待您签批" in subject
    assert body.startswith("王主任：") and "〔链接〕" in body
    assert "平安校园：达标 2/4" in body and "2017年11月21日 10:00" in body
