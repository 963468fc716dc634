"""pingan.core.acceptance and the award decisions in pingan.core.awards (pure)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from pingan.core.acceptance import (
    DomainResult,
    SignOff,
    SignOffRequest,
    parse_exclusions,
    shortfall,
    signoff_problems,
)
from pingan.core.awards import AwardListing, approved_signoff, check_certificate
from pingan.core.problems import InputError

AT = datetime(2017, 11, 18, 9, 0)


def _award(**over: object) -> AwardListing:
    args: dict[str, object] = {
        "id": 1,
        "domain": "campus",
        "title": "平安校园",
        "seq": 1,
        "number": "徐城平安校园〔2017〕第001号",
        "cell_code": "S0001",
        "cell_name": "徐城中心小学",
        "village": None,
        "lead_unit": "教育办",
        "issued_on": date(2017, 11, 20),
        "verification_code": "ABCD-EFGH",
        "revoked_at": None,
        "revoked_reason": None,
    }
    args.update(over)
    return AwardListing(**args)  # type: ignore[arg-type]


def test_shortfall_counts_the_cells_still_needed_for_the_target() -> None:
    d = DomainResult("campus", "平安校园", assessed=10, passed=8)
    assert shortfall(d, 0.9) == 1
    assert shortfall(DomainResult("x", "x", assessed=10, passed=9), 0.9) == 0


def test_exclusions_parse_either_colon_and_refuse_a_missing_reason() -> None:
    assert parse_exclusions(["S1:理由", " S2 ：另一理由 "]) == {"S1": "理由", "S2": "另一理由"}
    with pytest.raises(InputError) as exc:
        parse_exclusions(["S3", "S4:"])
    assert len(exc.value.problems) == 2


def test_sign_off_problems_name_each_bad_field() -> None:
    request = SignOffRequest(" ", False, "", {"S1": "x", "S2": " ", "S9": "y"})
    fields = [p.where for p in signoff_problems(request, {"S1", "S2"})]
    assert fields == ["approver", "comment", "exclusions.S2", "exclusions.S9"]
    assert signoff_problems(SignOffRequest("王主任", True, None, {}), set()) == []


def test_awards_need_an_approving_sign_off() -> None:
    with pytest.raises(InputError):
        approved_signoff(None)
    with pytest.raises(InputError, match="退回"):
        approved_signoff(SignOff(1, "王主任", False, "请复查", {}, AT))
    ok = SignOff(2, "王主任", True, None, {}, AT)
    assert approved_signoff(ok) is ok


def test_a_certificate_is_valid_only_when_found_matching_and_standing() -> None:
    assert not check_certificate("X", "ABCD-EFGH", None).valid
    assert check_certificate("N", "abcd efgh", _award()).valid
    assert "伪造" in check_certificate("N", "AAAA-AAAA", _award()).message
    revoked = check_certificate("N", "ABCD-EFGH", _award(revoked_at=AT, revoked_reason="事故"))
    assert not revoked.valid and "2017-11-18 撤销：事故" in revoked.message
