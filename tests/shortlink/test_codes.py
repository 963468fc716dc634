"""The pure short code: deterministic from the secret and the link's claims, short, typed
back as written, and never readable from its fingerprint."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pingan.core.links import LinkClaims, personal_link, sign
from pingan.core.short_links import (
    ALPHABET,
    CODE_LENGTH,
    ShortLinkRequest,
    claims_for,
    code_fingerprint,
    parse_code,
    short_code,
    short_link,
    short_url,
)
from tests.shortlink.conftest import BASE, portal_settings

SECRET = "unit-test-secret-0123456789abcdef-0123"
NOW = datetime(2017, 10, 27, 2, 0, 30, 123456, tzinfo=UTC)
CLAIMS = LinkClaims("xucheng-2017", "SYN-C0000001", 1, NOW + timedelta(days=60))
codes = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@given(campaign=codes, unit=codes, version=st.integers(1, 10_000))
def test_a_code_is_ten_characters_of_the_alphabet(campaign: str, unit: str, version: int) -> None:
    code = short_code(LinkClaims(campaign, unit, version, NOW), SECRET)

    assert len(code) == CODE_LENGTH == 10
    assert set(code) <= set(ALPHABET)


def test_the_same_claims_and_secret_give_the_same_code() -> None:
    again = LinkClaims(CLAIMS.campaign, CLAIMS.unit, CLAIMS.version, CLAIMS.expires_at)

    assert short_code(again, SECRET) == short_code(CLAIMS, SECRET)


def test_each_claim_and_the_secret_change_the_code() -> None:
    base = short_code(CLAIMS, SECRET)
    variants = [
        short_code(replace(CLAIMS, campaign="other-2018"), SECRET),
        short_code(replace(CLAIMS, unit="SYN-C0000002"), SECRET),
        short_code(replace(CLAIMS, version=2), SECRET),
        short_code(replace(CLAIMS, expires_at=CLAIMS.expires_at + timedelta(seconds=1)), SECRET),
        short_code(CLAIMS, SECRET + "x"),
    ]

    assert base not in variants
    assert len(set(variants)) == len(variants)


def test_a_request_has_the_claims_of_the_personal_link_for_the_same_moment() -> None:
    settings = portal_settings(portal_secret=SECRET)
    request = ShortLinkRequest("SYN-C0000001", 3, NOW)

    claims = claims_for("xucheng-2017", request, settings.portal_link_days)
    link = personal_link("xucheng-2017", "SYN-C0000001", 3, NOW, settings)

    assert link == f"{BASE}u/{sign(claims, SECRET)}"
    assert claims.expires_at == datetime(2017, 12, 26, 2, 0, 30, tzinfo=UTC)


def test_a_rendering_later_in_the_same_second_gives_the_same_code() -> None:
    first = short_link("c", ShortLinkRequest("u", 1, NOW), 60, SECRET)
    later = short_link("c", ShortLinkRequest("u", 1, NOW + timedelta(microseconds=5)), 60, SECRET)

    assert first == later


def test_the_fingerprint_is_a_sha256_that_does_not_hold_the_code() -> None:
    code = short_code(CLAIMS, SECRET)
    fp = code_fingerprint(code)

    assert len(fp) == 64 and int(fp, 16) >= 0
    assert code not in fp
    assert code_fingerprint(code) == fp


def test_a_code_typed_in_capitals_or_with_look_alikes_is_read_as_written() -> None:
    code = "0123456789"

    assert parse_code("O123456789") == code
    assert parse_code("0I23456789") == code
    assert parse_code("0l23456789") == code
    assert parse_code("ABCDEFGHJK") == "abcdefghjk"


def test_text_that_cannot_be_a_code_is_refused() -> None:
    assert parse_code("012345678") is None  # too short
    assert parse_code("0123456789a") is None  # too long
    assert parse_code("u123456789") is None  # u is not in the alphabet
    assert parse_code("01234567.9") is None


def test_the_short_url_leaves_the_code_after_the_k_prefix() -> None:
    code = short_code(CLAIMS, SECRET)

    url = short_url(BASE, code)

    assert url == f"https://pa.example.cn/k/{code}"
    assert url.removeprefix("https://pa.example.cn/k/") == code
