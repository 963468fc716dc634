"""The short reference a certificate prints, and the name check (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pingan.core.awards import AwardListing
from pingan.core.verification import (
    certificate_ref,
    check_named_certificate,
    names_match,
    parse_ref,
    verify_url,
)


def _award(**kw: object) -> AwardListing:
    base: dict[str, object] = {
        "id": 42,
        "domain": "campus",
        "title": "平安校园",
        "seq": 1,
        "number": "徐城平安校园〔2017〕第001号",
        "cell_code": "C1",
        "cell_name": "徐城第一小学",
        "village": "一村",
        "lead_unit": "教育办",
        "issued_on": date(2017, 11, 20),
        "verification_code": "7KQ4-M2XD",
        "revoked_at": None,
        "revoked_reason": None,
    }
    base.update(kw)
    return AwardListing(**base)  # type: ignore[arg-type]


def test_a_reference_round_trips_through_its_url() -> None:
    ref = certificate_ref(42, "7kq4 m2xd")
    assert verify_url("https://pa.example.cn/", ref) == "https://pa.example.cn/v/42-7KQ4M2XD"
    assert parse_ref("42-7KQ4M2XD") == ref


def test_text_that_is_not_a_reference_parses_to_none() -> None:
    too_big = f"{2**31}-7KQ4M2XD"  # past the database's integer ids
    for text in ("", "42", "0-7KQ4M2XD", "42-7KQ4", "42-7KQ4M2XD/..", "x-7KQ4M2XD", too_big):
        assert parse_ref(text) is None, text


def test_names_match_across_widths_and_spaces_but_not_other_names() -> None:
    assert names_match(" 徐城 第一小学 ", "徐城第一小学")
    assert names_match("ＡＢＣ小学", "ABC小学")
    assert not names_match("徐城第二小学", "徐城第一小学")
    assert not names_match("", "")


def test_a_real_number_and_code_on_another_name_is_refused_without_naming_the_owner() -> None:
    v = check_named_certificate("徐城平安校园〔2017〕第001号", "7KQ4-M2XD", "假冒单位", _award())
    assert not v.valid and "单位名称不符" in v.message
    assert "徐城第一小学" not in v.message and v.award is None


def test_the_right_name_with_the_right_code_is_valid() -> None:
    assert check_named_certificate("N", "7kq4m2xd", "徐城第一小学", _award()).valid


def test_a_wrong_code_is_reported_as_forged_before_the_name_is_compared() -> None:
    v = check_named_certificate("N", "AAAA-AAAA", "假冒单位", _award())
    assert not v.valid and "验证码不符" in v.message


def test_a_revoked_award_with_the_right_name_is_not_valid() -> None:
    at = datetime(2018, 1, 5, tzinfo=UTC)
    v = check_named_certificate("N", "7KQ4-M2XD", "徐城第一小学", _award(revoked_at=at))
    assert not v.valid and "撤销" in v.message
