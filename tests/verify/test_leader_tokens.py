"""Leaders' tokens (pure): they round-trip, expire, and are never interchangeable with a
unit's personal link, whichever way round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.core.leader import (
    ALL_DOMAINS,
    LeaderClaims,
    LeaderTokenExpired,
    sign_leader,
    verify_leader,
)
from pingan.core.links import LinkClaims, TokenInvalid, sign, verify

SECRET = "leader-test-secret-0123456789abcdef"
NOW = datetime(2017, 11, 20, 2, 0, tzinfo=UTC)


def test_a_token_round_trips_its_campaign_scope_and_expiry() -> None:
    claims = LeaderClaims("xucheng-2017", "campus", NOW + timedelta(days=30))
    back = verify_leader(sign_leader(claims, SECRET), SECRET, NOW)
    assert back == claims and back.domain == "campus"
    assert LeaderClaims("x", ALL_DOMAINS, NOW).domain is None


def test_an_expired_token_says_whose_it_was() -> None:
    token = sign_leader(LeaderClaims("xucheng-2017", ALL_DOMAINS, NOW), SECRET)
    with pytest.raises(LeaderTokenExpired) as caught:
        verify_leader(token, SECRET, NOW)
    assert caught.value.claims.campaign == "xucheng-2017"


def test_another_secret_or_a_changed_scope_is_refused() -> None:
    token = sign_leader(LeaderClaims("c", "campus", NOW + timedelta(days=1)), SECRET)
    with pytest.raises(TokenInvalid):
        verify_leader(token, SECRET + "x", NOW)
    forged = sign_leader(LeaderClaims("c", ALL_DOMAINS, NOW + timedelta(days=1)), "other" * 8)
    with pytest.raises(TokenInvalid):
        verify_leader(forged.split(".")[0] + "." + token.split(".")[1], SECRET, NOW)


def test_unit_links_and_leader_links_are_not_interchangeable() -> None:
    unit = sign(LinkClaims("c", "campus", 1, NOW + timedelta(days=1)), SECRET)
    leader = sign_leader(LeaderClaims("c", "campus", NOW + timedelta(days=1)), SECRET)
    with pytest.raises(TokenInvalid):
        verify_leader(unit, SECRET, NOW)
    with pytest.raises(TokenInvalid):
        verify(leader, SECRET, NOW)
