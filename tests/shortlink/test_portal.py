"""GET /k/<code> on the portal (SQLite and PostgreSQL): a 303 to the unit's personal link,
or the plain refusal page for an unknown, expired or revoked code; rate-limited and
audited without the code."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pingan.core.links import personal_link
from pingan.portal.ratelimit import Rate
from pingan.services.links import revoke_links
from tests.factories import Loaded
from tests.portal.conftest import IN_SELF_CHECK, Clock, Portal, make_portal
from tests.shortlink.conftest import BASE, cells, mint_one, portal_settings


def path_of(url: str) -> str:
    return "/" + url.removeprefix(BASE)


def unit_name(p: Portal, code: str) -> str:
    return str(p.seed.scalar("SELECT name FROM unit WHERE campaign_id = :c AND code = :k", k=code))


def test_a_short_link_redirects_to_the_units_personal_link(portal: Portal) -> None:
    unit = cells(portal.seed)[0]
    url = mint_one(portal.seed, unit)
    link = personal_link(
        portal.seed.handle.campaign.code, unit, 1, IN_SELF_CHECK, portal_settings()
    )
    assert link is not None

    answer = portal.client.get(path_of(url), follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == path_of(link)
    assert unit_name(portal, unit) not in answer.text


def test_following_the_short_link_opens_the_units_own_page(portal: Portal) -> None:
    unit = cells(portal.seed)[1]

    page = portal.client.get(path_of(mint_one(portal.seed, unit)))

    assert page.status_code == 200
    assert unit_name(portal, unit) in page.text


def test_a_code_typed_in_capitals_still_redirects(portal: Portal) -> None:
    url = mint_one(portal.seed, cells(portal.seed)[0])
    code = url.rsplit("/", 1)[1]

    answer = portal.client.get(f"/k/{code.upper()}", follow_redirects=False)

    assert answer.status_code == 303


def test_an_unknown_or_malformed_code_is_refused_with_a_plain_page(portal: Portal) -> None:
    unknown = portal.client.get("/k/0123456789", follow_redirects=False)
    malformed = portal.client.get("/k/not-a-code!", follow_redirects=False)

    for answer in (unknown, malformed):
        assert answer.status_code == 403
        assert "链接无效" in answer.text
        assert "location" not in answer.headers
    reasons = [e["reason"] for e in portal.audit("portal.refuse")]
    assert reasons == ["token_invalid", "token_invalid"]


def test_an_expired_short_link_is_refused(portal: Portal) -> None:
    unit = cells(portal.seed)[0]
    url = mint_one(portal.seed, unit, moment=IN_SELF_CHECK - timedelta(days=61))

    answer = portal.client.get(path_of(url), follow_redirects=False)

    assert answer.status_code == 410
    assert "链接已过期" in answer.text
    assert unit_name(portal, unit) not in answer.text


def test_a_short_link_of_a_revoked_version_is_refused(portal: Portal) -> None:
    unit = cells(portal.seed)[0]
    url = mint_one(portal.seed, unit)
    revoke_links(portal.engine, portal.seed.cid, [unit], actor="test", now=IN_SELF_CHECK)

    answer = portal.client.get(path_of(url), follow_redirects=False)

    assert answer.status_code == 410
    assert "链接已作废" in answer.text
    [event] = portal.audit("portal.refuse")
    assert (event["reason"], event["entity_id"], event["version"]) == ("token_revoked", unit, 1)


def test_a_new_short_link_after_revocation_works(portal: Portal) -> None:
    unit = cells(portal.seed)[0]
    revoke_links(portal.engine, portal.seed.cid, [unit], actor="test", now=IN_SELF_CHECK)

    answer = portal.client.get(path_of(mint_one(portal.seed, unit, version=2)))

    assert answer.status_code == 200


def test_too_many_requests_for_one_code_in_any_case_are_refused_with_429(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), token_rate=Rate(60, 3))
    path = path_of(mint_one(seeded, cells(seeded)[0]))

    code = path.rsplit("/", 1)[1]
    paths = [path, path, path, f"/k/{code.upper()}", path]
    statuses = [p.client.get(x, follow_redirects=False).status_code for x in paths]
    p.clock.mono += 2
    later = p.client.get(path, follow_redirects=False)

    assert statuses == [303, 303, 303, 429, 429]
    assert later.status_code == 303
    [event] = p.audit("portal.refuse")
    assert (event["reason"], event["limit"]) == ("rate_limited", "token")


def test_the_audit_never_holds_the_code(portal: Portal) -> None:
    unit = cells(portal.seed)[0]
    url = mint_one(portal.seed, unit)
    code = url.rsplit("/", 1)[1]
    revoke_links(portal.engine, portal.seed.cid, [unit], actor="test", now=IN_SELF_CHECK)
    portal.client.get(path_of(url))

    rows = portal.seed.rows("SELECT after FROM audit_event")

    assert rows and not any(code in str(r.after) for r in rows)
