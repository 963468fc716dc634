"""Award numbers and verification codes (pingan.core.awards, pure)."""

from __future__ import annotations

from datetime import date

from pingan.core.awards import (
    Candidate,
    assign_numbers,
    award_number,
    codes_match,
    normalise_code,
    verification_code,
)

KEY = b"k" * 32
FMT = "{prefix}{title}〔{year}〕第{seq:03d}号"


def _code(key: bytes = KEY, **over: object) -> str:
    args: dict[str, object] = {
        "campaign": "xucheng-2017",
        "number": "徐城平安校园〔2017〕第001号",
        "cell_code": "S0001",
        "cell_name": "徐城中心小学",
        "issued_on": date(2017, 11, 20),
    }
    args.update(over)
    return verification_code(key, **args)  # type: ignore[arg-type]


def test_number_follows_the_campaign_format() -> None:
    n = award_number(FMT, prefix="徐城", title="平安校园", year=2017, seq=1, domain="campus")
    assert n == "徐城平安校园〔2017〕第001号"


def test_verification_code_is_stable_for_the_same_award() -> None:
    assert _code() == _code()


def test_verification_code_reads_as_two_groups_of_four_unambiguous_characters() -> None:
    code = _code()
    assert len(code) == 9 and code[4] == "-"
    assert not set(code.replace("-", "")) & set("ILOU")


def test_verification_code_changes_with_the_cell_name_on_the_certificate() -> None:
    assert _code(cell_name="徐城第二小学") != _code()


def test_verification_code_changes_with_the_number() -> None:
    assert _code(number="徐城平安校园〔2017〕第002号") != _code()


def test_verification_code_depends_on_the_office_key() -> None:
    assert _code(key=b"other-key") != _code()


def test_codes_match_what_a_person_types() -> None:
    code = _code()
    typed = code.lower().replace("-", "").replace("0", "o")
    assert codes_match(typed, code)
    assert normalise_code(typed) == code


def test_codes_do_not_match_a_different_code() -> None:
    assert not codes_match("AAAA-AAAA", _code())


def test_numbers_run_per_domain_in_village_then_code_order() -> None:
    cands = [
        Candidate(3, "campus", "东村", "S3"),
        Candidate(1, "campus", "东村", "S1"),
        Candidate(2, "family", "西村", "F1"),
        Candidate(4, "campus", "北村", "S9"),
    ]
    got = {(a.unit_id, a.domain, a.seq) for a in assign_numbers(cands, {})}
    # 东村 (U+4E1C) sorts before 北村 (U+5317): a fixed order, not the input order.
    assert got == {(1, "campus", 1), (3, "campus", 2), (4, "campus", 3), (2, "family", 1)}


def test_numbers_continue_after_the_highest_already_issued() -> None:
    new = assign_numbers([Candidate(9, "campus", "东村", "S9")], {"campus": 41, "family": 3})
    assert [(a.unit_id, a.seq) for a in new] == [(9, 42)]


def test_the_same_candidates_always_get_the_same_numbers() -> None:
    cands = [Candidate(i, "campus", f"村{i % 3}", f"S{i:03d}") for i in range(30)]
    first = assign_numbers(cands, {})
    again = assign_numbers(list(reversed(cands)), {})
    assert first == again
