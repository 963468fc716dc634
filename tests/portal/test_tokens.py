"""Signing and verifying personal links (pure), receipt numbers and the rate limiter."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from pingan.core.links import (
    LinkClaims,
    TokenExpired,
    TokenInvalid,
    fingerprint,
    personal_link,
    sign,
    verify,
)
from pingan.portal.ratelimit import Rate, RateLimiter
from pingan.portal.receipts import receipt_number
from pingan.root import Settings

SECRET = "unit-test-secret-0123456789abcdef-0123"
NOW = datetime(2017, 10, 27, 2, 0, tzinfo=UTC)
CLAIMS = LinkClaims("xucheng-2017", "SYN-C0000001", 1, NOW + timedelta(days=60))
codes = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "portal_base_url": "https://pa.example.cn/",
        "portal_secret": SecretStr(SECRET),
        "portal_link_days": 60,
        **overrides,
    }
    return Settings.model_validate(values)


@given(campaign=codes, unit=codes, version=st.integers(1, 10_000))
def test_a_signed_token_verifies_to_its_claims(campaign: str, unit: str, version: int) -> None:
    claims = LinkClaims(campaign, unit, version, NOW + timedelta(days=1))

    assert verify(sign(claims, SECRET), SECRET, NOW) == claims


@given(position=st.integers(0, 200), replacement=st.sampled_from("AQgw-_0"))
def test_changing_any_character_of_a_token_invalidates_it(position: int, replacement: str) -> None:
    token = sign(CLAIMS, SECRET)
    position %= len(token)
    if token[position] in (replacement, "."):
        return
    tampered = token[:position] + replacement + token[position + 1 :]

    with pytest.raises(TokenInvalid):
        verify(tampered, SECRET, NOW)


def test_claims_rewritten_to_another_unit_keep_no_valid_signature() -> None:
    signature = sign(CLAIMS, SECRET).split(".")[1]
    forged_claims = ["xucheng-2017", "SYN-C0000002", 1, int(CLAIMS.expires_at.timestamp())]
    forged = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()

    with pytest.raises(TokenInvalid):
        verify(f"{forged}.{signature}", SECRET, NOW)


def test_a_token_signed_with_another_secret_is_invalid() -> None:
    with pytest.raises(TokenInvalid):
        verify(sign(CLAIMS, "another-secret-0123456789abcdef-xyz"), SECRET, NOW)


@pytest.mark.parametrize(
    "token", ["", ".", "a.b", "x" * 2000, "管理.员", sign(CLAIMS, SECRET) + "="]
)
def test_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(TokenInvalid):
        verify(token, SECRET, NOW)


def test_a_token_is_expired_from_its_expiry_on_and_says_whose_it_was() -> None:
    token = sign(CLAIMS, SECRET)
    assert verify(token, SECRET, CLAIMS.expires_at - timedelta(seconds=1)) == CLAIMS

    with pytest.raises(TokenExpired) as caught:
        verify(token, SECRET, CLAIMS.expires_at)

    assert caught.value.claims.unit == "SYN-C0000001"


def test_the_fingerprint_is_short_stable_and_not_the_token() -> None:
    token = sign(CLAIMS, SECRET)

    assert fingerprint(token) == fingerprint(token)
    assert len(fingerprint(token)) == 12
    assert fingerprint(token) not in token
    assert fingerprint(token) != fingerprint(token + "x")


def test_personal_link_is_the_base_url_and_a_token_valid_for_the_configured_days() -> None:
    link = personal_link("xucheng-2017", "SYN-C0000001", 3, NOW, settings())

    assert link is not None and link.startswith("https://pa.example.cn/u/")
    claims = verify(link.rsplit("/", 1)[1], SECRET, NOW)
    assert (claims.unit, claims.version, claims.expires_at) == (
        "SYN-C0000001",
        3,
        NOW + timedelta(days=60),
    )


def test_personal_link_is_the_same_for_the_same_moment() -> None:
    s = settings()

    assert personal_link("c", "u", 1, NOW, s) == personal_link("c", "u", 1, NOW, s)


@pytest.mark.parametrize(
    "overrides",
    [{"portal_base_url": None}, {"portal_secret": None}, {"portal_secret": SecretStr("")}],
)
def test_personal_link_is_none_unless_base_url_and_secret_are_set(
    overrides: dict[str, object],
) -> None:
    assert personal_link("xucheng-2017", "SYN-C0000001", 1, NOW, settings(**overrides)) is None


def test_receipt_numbers_carry_the_day_and_differ_by_submission_and_content() -> None:
    day = date(2017, 6, 1)
    first = receipt_number(day, 1, "ab" * 32)

    assert first == receipt_number(day, 1, "AB" * 32)
    assert first.startswith("20170601-") and len(first) == 17
    assert first != receipt_number(day, 2, "ab" * 32)
    assert first != receipt_number(day, 1, "cd" * 32)


def test_a_bucket_allows_its_burst_then_one_request_per_refill_interval() -> None:
    limiter = RateLimiter(Rate(per_minute=60, burst=3))

    burst = [limiter.hit("k", 0.0).allowed for _ in range(4)]
    after_one_second = limiter.hit("k", 1.0).allowed
    again = limiter.hit("k", 1.0)

    assert burst == [True, True, True, False]
    assert after_one_second is True
    assert (again.allowed, again.retry_after_s) == (False, 1)


def test_buckets_are_per_key() -> None:
    limiter = RateLimiter(Rate(per_minute=60, burst=1))
    limiter.hit("a", 0.0)

    assert limiter.hit("b", 0.0).allowed is True
    assert limiter.hit("a", 0.0).allowed is False


def test_a_flood_of_refusals_is_audited_once_a_minute_with_its_count() -> None:
    limiter = RateLimiter(Rate(per_minute=1, burst=1))
    limiter.hit("k", 0.0)

    first = limiter.hit("k", 0.0)
    quiet = [limiter.hit("k", t).audit for t in (1.0, 2.0, 3.0)]
    next_minute = limiter.hit("k", 60.5)

    assert (first.audit, first.refused_since_audit) == (True, 1)
    assert quiet == [False, False, False]
    # 60.5 s refill a full token at one a minute: allowed, not refused.
    assert next_minute.allowed is True
    assert limiter.hit("k", 61.0).refused_since_audit == 4


def test_zero_per_minute_means_no_limit() -> None:
    limiter = RateLimiter(Rate(per_minute=0, burst=0))

    assert all(limiter.hit("k", 0.0).allowed for _ in range(1000))


def test_the_limiter_forgets_the_least_recently_used_keys_beyond_its_bound() -> None:
    limiter = RateLimiter(Rate(per_minute=60, burst=1), max_keys=2)
    limiter.hit("a", 0.0)
    limiter.hit("b", 0.0)
    limiter.hit("c", 0.0)  # drops "a", which comes back full

    assert limiter.hit("a", 0.0).allowed is True
