from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingan.core.calendar import (
    CalendarError,
    WorkingCalendar,
    YearOverride,
    load_overrides,
    parse_date,
    today_in,
)

CN = WorkingCalendar("cn")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --------------------------------------------------------------------------- cn mode, real data


@pytest.mark.parametrize("day", _days(date(2017, 10, 1), date(2017, 10, 8)))
def test_cn_2017_national_day_oct_1_to_8_are_holidays(day: date) -> None:
    assert not CN.is_working_day(day)


def test_cn_2017_saturday_sep_30_is_make_up_workday() -> None:
    assert date(2017, 9, 30).weekday() == 5
    assert CN.is_working_day(date(2017, 9, 30))


def test_cn_2017_oct_9_after_national_day_is_working() -> None:
    assert CN.is_working_day(date(2017, 10, 9))


@pytest.mark.parametrize("day", _days(date(2017, 1, 27), date(2017, 2, 2)))
def test_cn_2017_spring_festival_jan_27_to_feb_2_are_holidays(day: date) -> None:
    assert not CN.is_working_day(day)


@pytest.mark.parametrize("day", [date(2017, 1, 22), date(2017, 2, 4)])
def test_cn_2017_spring_festival_make_up_weekend_days_are_workdays(day: date) -> None:
    assert day.weekday() >= 5
    assert CN.is_working_day(day)


@pytest.mark.parametrize("day", _days(date(2026, 10, 1), date(2026, 10, 7)))
def test_cn_2026_national_day_oct_1_to_7_are_holidays(day: date) -> None:
    assert not CN.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 9, 20), date(2026, 10, 10)])
def test_cn_2026_national_day_make_up_sun_sep_20_and_sat_oct_10_are_workdays(day: date) -> None:
    assert day.weekday() >= 5
    assert CN.is_working_day(day)


@pytest.mark.parametrize("day", _days(date(2026, 2, 15), date(2026, 2, 23)))
def test_cn_2026_spring_festival_feb_15_to_23_are_holidays(day: date) -> None:
    assert not CN.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_cn_2026_spring_festival_make_up_saturdays_feb_14_and_28_are_workdays(day: date) -> None:
    assert day.weekday() == 5
    assert CN.is_working_day(day)


def test_cn_ordinary_weekend_is_not_working() -> None:
    assert not CN.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CN.is_working_day(date(2026, 3, 8))  # Sunday


def test_cn_ordinary_weekday_is_working() -> None:
    assert CN.is_working_day(date(2026, 3, 9))


# --------------------------------------------------------------------------- add_working_days


def test_add_one_working_day_from_friday_lands_on_make_up_saturday() -> None:
    assert CN.add_working_days(date(2017, 9, 29), 1) == date(2017, 9, 30)


def test_add_two_working_days_skips_whole_national_day_holiday() -> None:
    assert CN.add_working_days(date(2017, 9, 29), 2) == date(2017, 10, 9)


def test_add_working_days_from_inside_holiday_counts_from_first_day_after() -> None:
    assert CN.add_working_days(date(2017, 10, 3), 1) == date(2017, 10, 9)


def test_add_zero_working_days_returns_same_day_even_on_holiday() -> None:
    assert CN.add_working_days(date(2017, 10, 1), 0) == date(2017, 10, 1)


def test_add_negative_working_days_goes_back_across_holiday() -> None:
    assert CN.add_working_days(date(2017, 10, 9), -1) == date(2017, 9, 30)
    assert CN.add_working_days(date(2017, 10, 9), -2) == date(2017, 9, 29)


def test_add_negative_working_days_from_holiday_finds_last_working_day_before() -> None:
    assert CN.add_working_days(date(2017, 10, 5), -1) == date(2017, 9, 30)


def test_add_working_days_crosses_year_boundary() -> None:
    # 2017-12-29 Fri; 2017-12-30..2018-01-01 is the New Year break.
    assert CN.add_working_days(date(2017, 12, 29), 1) == date(2018, 1, 2)


# --------------------------------------------------------------------------- working_days_between


def test_working_days_between_across_national_day_counts_end_not_start() -> None:
    assert CN.working_days_between(date(2017, 9, 29), date(2017, 10, 9)) == 2


def test_working_days_between_reversed_is_negative() -> None:
    assert CN.working_days_between(date(2017, 10, 9), date(2017, 9, 29)) == -2


def test_working_days_between_same_day_is_zero() -> None:
    assert CN.working_days_between(date(2017, 10, 1), date(2017, 10, 1)) == 0


def test_working_days_between_inside_holiday_is_zero() -> None:
    assert CN.working_days_between(date(2017, 10, 1), date(2017, 10, 8)) == 0


def test_working_days_between_spans_several_years() -> None:
    start, end = date(2016, 6, 15), date(2019, 3, 2)
    expected = sum(CN.is_working_day(d) for d in _days(start + timedelta(days=1), end))
    assert CN.working_days_between(start, end) == expected


def test_cn_2017_has_249_working_days() -> None:
    assert CN.working_days_between(date(2016, 12, 31), date(2017, 12, 31)) == 249


_SPAN = st.dates(min_value=date(2017, 1, 1), max_value=date(2026, 11, 1))


@given(d=_SPAN, n=st.integers(min_value=-30, max_value=30))
def test_working_days_between_inverts_add_working_days(d: date, n: int) -> None:
    # Going back from a non-working day, (target, d] lacks d itself, so the
    # count is one short; that is the only exception (see the test below).
    expected = n if n >= 0 or CN.is_working_day(d) else n + 1
    assert CN.working_days_between(d, CN.add_working_days(d, n)) == expected


@given(d=_SPAN.filter(CN.is_working_day), n=st.integers(min_value=-30, max_value=30))
def test_working_days_between_inverts_add_working_days_from_working_day(d: date, n: int) -> None:
    assert CN.working_days_between(d, CN.add_working_days(d, n)) == n


def test_going_back_from_holiday_is_not_exactly_inverted_by_working_days_between() -> None:
    # 2017-01-01 (holiday) -1 -> Fri 2016-12-30; (12-30, 01-01] holds no working day.
    assert CN.add_working_days(date(2017, 1, 1), -1) == date(2016, 12, 30)
    assert CN.working_days_between(date(2017, 1, 1), date(2016, 12, 30)) == 0


@given(d=_SPAN, n=st.integers(min_value=-30, max_value=30).filter(bool))
def test_add_nonzero_working_days_always_lands_on_working_day(d: date, n: int) -> None:
    assert CN.is_working_day(CN.add_working_days(d, n))


@given(a=_SPAN, b=_SPAN)
def test_working_days_between_is_antisymmetric(a: date, b: date) -> None:
    assert CN.working_days_between(a, b) == -CN.working_days_between(b, a)


# --------------------------------------------------------------------------- other modes


def test_weekdays_mode_ignores_chinese_holidays_and_make_up_days() -> None:
    cal = WorkingCalendar("weekdays")
    assert cal.is_working_day(date(2017, 10, 2))  # Monday of National Day
    assert not cal.is_working_day(date(2017, 9, 30))  # make-up Saturday in cn


def test_weekdays_mode_skips_weekend_when_adding() -> None:
    cal = WorkingCalendar("weekdays")
    assert cal.add_working_days(date(2031, 1, 3), 1) == date(2031, 1, 6)  # Fri -> Mon
    assert cal.working_days_between(date(2031, 1, 3), date(2031, 1, 10)) == 5


def test_calendar_mode_counts_every_day() -> None:
    cal = WorkingCalendar("calendar")
    assert cal.is_working_day(date(2017, 10, 1))
    assert cal.add_working_days(date(2031, 12, 30), 3) == date(2032, 1, 2)
    assert cal.working_days_between(date(2031, 1, 1), date(2032, 1, 1)) == 365


@pytest.mark.parametrize("mode", ["weekdays", "calendar"])
def test_non_cn_modes_cover_every_year(mode: str) -> None:
    cal = WorkingCalendar(mode)  # type: ignore[arg-type]
    assert cal.covers_year(1999) and cal.covers_year(2031) and cal.covers_year(2999)
    assert cal.check_years([1999, 2031]) == []


def test_unknown_mode_is_rejected() -> None:
    with pytest.raises(CalendarError, match="bogus"):
        WorkingCalendar("bogus")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- uncovered years


def test_cn_2031_is_not_covered() -> None:
    assert not CN.covers_year(2031)
    assert CN.covers_year(2017)


def test_cn_is_working_day_in_2031_raises_naming_the_year() -> None:
    with pytest.raises(CalendarError, match="2031 年") as info:
        CN.is_working_day(date(2031, 3, 3))
    assert "2031.yaml" in str(info.value)
    assert "2004–2026" in str(info.value)


def test_cn_calendar_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        CN.is_working_day(date(2031, 3, 3))


def test_cn_add_working_days_into_uncovered_year_raises() -> None:
    with pytest.raises(CalendarError, match="2027"):
        CN.add_working_days(date(2026, 12, 30), 5)


def test_cn_working_days_between_over_uncovered_year_raises() -> None:
    with pytest.raises(CalendarError, match="2031"):
        CN.working_days_between(date(2026, 6, 1), date(2031, 6, 1))


def test_check_years_lists_one_message_per_uncovered_year() -> None:
    problems = CN.check_years([2031, 2026, 2030, 2031])
    assert len(problems) == 2
    assert "2030 年" in problems[0] and "2031 年" in problems[1]


def test_check_years_is_empty_for_covered_years() -> None:
    assert CN.check_years([2017, 2026]) == []


def test_uncovered_message_names_the_configured_directory(tmp_path: Path) -> None:
    cal = WorkingCalendar.from_config("cn", tmp_path)
    [message] = cal.check_years([2031])
    assert f"{tmp_path.as_posix()}/ 下没有 2031.yaml" in message


# --------------------------------------------------------------------------- override files


OVERRIDE_2031 = """\
year: 2031
holidays:
  - 2031-01-01
  - {from: 2031-01-22, to: 2031-01-28, name: 春节}
workdays:
  - 2031-01-18
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_overrides_reads_dates_and_inclusive_ranges(tmp_path: Path) -> None:
    _write(tmp_path, "2031.yaml", OVERRIDE_2031)
    overrides = load_overrides(tmp_path)
    assert overrides == {
        2031: YearOverride(
            year=2031,
            holidays=frozenset({date(2031, 1, 1), *_days(date(2031, 1, 22), date(2031, 1, 28))}),
            workdays=frozenset({date(2031, 1, 18)}),
        )
    }


def test_load_overrides_of_none_or_missing_directory_is_empty(tmp_path: Path) -> None:
    assert load_overrides(None) == {}
    assert load_overrides(tmp_path / "nope") == {}


def test_load_overrides_ignores_non_yaml_files(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "# 说明")
    assert load_overrides(tmp_path) == {}


def test_override_file_makes_uncovered_year_usable(tmp_path: Path) -> None:
    _write(tmp_path, "2031.yaml", OVERRIDE_2031)
    cal = WorkingCalendar.from_config("cn", tmp_path)
    assert cal.covers_year(2031)
    assert cal.check_years([2031]) == []
    assert not cal.is_working_day(date(2031, 1, 1))  # listed holiday (Wed)
    assert not cal.is_working_day(date(2031, 1, 24))  # inside the range (Fri)
    assert cal.is_working_day(date(2031, 1, 18))  # make-up Saturday
    assert not cal.is_working_day(date(2031, 1, 19))  # plain Sunday
    assert cal.is_working_day(date(2031, 1, 2))  # plain Thursday
    # Fri 2031-01-17 -> Sat 01-18 (make-up) -> Mon 01-20
    assert cal.add_working_days(date(2031, 1, 17), 2) == date(2031, 1, 20)
    assert cal.add_working_days(date(2031, 1, 21), 1) == date(2031, 1, 29)


def test_override_file_for_covered_year_corrects_single_days(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "2026.yaml",
        "year: 2026\nholidays: [2026-03-09]\nworkdays: [2026-10-07]\n",
    )
    cal = WorkingCalendar.from_config("cn", tmp_path)
    assert not cal.is_working_day(date(2026, 3, 9))  # was a plain Monday
    assert cal.is_working_day(date(2026, 10, 7))  # was National Day
    assert not cal.is_working_day(date(2026, 10, 6))  # untouched: still chinese_calendar
    assert cal.is_working_day(date(2026, 2, 28))  # untouched make-up Saturday


def test_overrides_are_ignored_outside_cn_mode(tmp_path: Path) -> None:
    _write(tmp_path, "2031.yaml", OVERRIDE_2031)
    cal = WorkingCalendar.from_config("weekdays", tmp_path)
    assert cal.is_working_day(date(2031, 1, 1))


def test_override_accepts_yml_extension_and_empty_lists(tmp_path: Path) -> None:
    _write(tmp_path, "2031.yml", "year: 2031\nholidays:\nworkdays: []\n")
    assert load_overrides(tmp_path)[2031].holidays == frozenset()


def test_override_mapping_key_must_match_its_year() -> None:
    override = YearOverride(2031, frozenset(), frozenset())
    with pytest.raises(CalendarError, match="2030"):
        WorkingCalendar("cn", {2030: override})


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param("2031.yaml", "year: 2030\n", "与文件名 2031 不一致", id="year-mismatch"),
        pytest.param("2031.yaml", "holidays: []\n", "缺少 year", id="year-missing"),
        pytest.param("2031.yaml", "year: '2031'\n", "不是整数", id="year-not-int"),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [2030-12-31]\n",
            "2030-12-31 不在 2031 年内",
            id="date-outside-year",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [{from: 2031-12-30, to: 2032-01-02}]\n",
            "2032-01-02 不在 2031 年内",
            id="range-outside-year",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [2031-02-30]\n",
            "'2031-02-30' 不存在",
            id="impossible-date",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [2031-1-1]\n",
            "'2031-1-1' 格式不正确",
            id="not-zero-padded",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [20310101]\n",
            "20310101 不是 YYYY-MM-DD",
            id="number-not-date",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [{from: 2031-02-03, to: 2031-02-01}]\n",
            "晚于",
            id="range-reversed",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [{from: 2031-02-01}]\n",
            "必须同时写 from 和 to",
            id="range-missing-to",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [{from: 2031-02-01, to: 2031-02-02, until: x}]\n",
            "未知字段 until",
            id="range-unknown-key",
        ),
        pytest.param(
            "2031.yaml",
            "year: 2031\nholidays: [{from: 2031-02-01, to: 2031-02-07}]\n"
            "workdays: [2031-02-02, 2031-01-25]\n",
            "2031-02-02 同时出现在 holidays 和 workdays 中",
            id="holiday-and-workday",
        ),
        pytest.param(
            "2031.yaml", "year: 2031\nholiday: [2031-01-01]\n", "未知字段 holiday", id="unknown-key"
        ),
        pytest.param("2031.yaml", "year: 2031\nholidays: 2031-01-01\n", "应为列表", id="not-list"),
        pytest.param("2031.yaml", "year: 2031\nsource: [a]\n", "source 应为", id="source-not-text"),
        pytest.param("2031.yaml", "- 2031\n", "顶层应为", id="top-level-list"),
        pytest.param("2031.yaml", "", "顶层应为", id="empty-file"),
        pytest.param("2031.yaml", "year: [2031\n", "不是合法的 YAML", id="yaml-syntax"),
        pytest.param("calendar.yaml", "year: 2031\n", "文件名应为四位年份", id="bad-file-name"),
    ],
)
def test_malformed_override_file_raises_one_line_message_naming_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(CalendarError) as info:
        load_overrides(tmp_path)
    text_of_error = str(info.value)
    assert message in text_of_error
    assert str(path) in text_of_error
    assert "\n" not in text_of_error


def test_two_files_for_same_year_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "2031.yaml", "year: 2031\n")
    _write(tmp_path, "2031.yml", "year: 2031\n")
    with pytest.raises(CalendarError, match="同一年只能有一个文件"):
        load_overrides(tmp_path)


def test_from_config_propagates_bad_override_file(tmp_path: Path) -> None:
    _write(tmp_path, "2031.yaml", "year: 2030\n")
    with pytest.raises(CalendarError, match=r"2031\.yaml"):
        WorkingCalendar.from_config("cn", tmp_path)


# --------------------------------------------------------------------------- working_day_table


def test_working_day_table_ordinals_across_national_day() -> None:
    rows = CN.working_day_table(date(2017, 9, 28), date(2017, 10, 10))
    assert rows[0] == (date(2017, 9, 28), True, 1)
    assert rows[1] == (date(2017, 9, 29), True, 2)
    assert rows[2] == (date(2017, 9, 30), True, 3)
    assert all(row[1:] == (False, 3) for row in rows[3:11])  # Oct 1..8
    assert rows[11] == (date(2017, 10, 9), True, 4)
    assert rows[12] == (date(2017, 10, 10), True, 5)
    assert [row[0] for row in rows] == _days(date(2017, 9, 28), date(2017, 10, 10))


def test_working_day_table_starting_on_holiday_starts_at_zero() -> None:
    rows = CN.working_day_table(date(2017, 10, 1), date(2017, 10, 9))
    assert rows[0] == (date(2017, 10, 1), False, 0)
    assert rows[-1] == (date(2017, 10, 9), True, 1)


def test_working_day_table_is_empty_when_end_before_start() -> None:
    assert CN.working_day_table(date(2017, 10, 2), date(2017, 10, 1)) == []


def test_working_day_table_ordinal_difference_equals_working_days_between() -> None:
    rows = CN.working_day_table(date(2025, 1, 1), date(2026, 12, 31))
    ordinal = {day: n for day, _, n in rows}
    for due, as_of in [
        (date(2025, 9, 30), date(2025, 10, 9)),
        (date(2026, 2, 13), date(2026, 3, 2)),
        (date(2025, 12, 31), date(2026, 1, 5)),
        (date(2026, 10, 1), date(2026, 10, 7)),
    ]:
        assert ordinal[as_of] - ordinal[due] == CN.working_days_between(due, as_of)


def test_working_day_table_for_a_full_year_has_one_row_per_day() -> None:
    rows = CN.working_day_table(date(2024, 1, 1), date(2024, 12, 31))
    assert len(rows) == 366
    assert rows[-1][2] == CN.working_days_between(date(2023, 12, 31), date(2024, 12, 31))


# --------------------------------------------------------------------------- helpers


def test_parse_date_accepts_strict_iso_date() -> None:
    assert parse_date("2027-02-06") == date(2027, 2, 6)
    assert type(parse_date("2027-02-06")) is date


@pytest.mark.parametrize(
    "text", ["2027-2-6", "20270206", "2027/02/06", " 2027-02-06", "2027-W05-6"]
)
def test_parse_date_rejects_non_strict_format_naming_text(text: str) -> None:
    with pytest.raises(ValueError, match="格式不正确") as info:
        parse_date(text)
    assert repr(text) in str(info.value)


def test_parse_date_rejects_impossible_date() -> None:
    with pytest.raises(ValueError, match="'2027-02-29' 不存在"):
        parse_date("2027-02-29")


def test_today_in_returns_plain_date_close_to_utc_today() -> None:
    from datetime import UTC, datetime

    today = today_in("Asia/Shanghai")
    assert type(today) is date
    assert abs((today - datetime.now(UTC).date()).days) <= 1


def test_today_in_differs_by_time_zone_only_within_a_day() -> None:
    assert abs((today_in("Pacific/Kiritimati") - today_in("Pacific/Pago_Pago")).days) <= 2


def test_today_in_rejects_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        today_in("Mars/Olympus")
