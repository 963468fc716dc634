"""Minting short links in the database (SQLite and PostgreSQL): one row per code, keyed by
the code's fingerprint only, idempotent, set-based for many links at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from pingan.adapters.db.short_links import CHUNK, short_links
from pingan.core.links import personal_link
from pingan.core.short_links import ShortLinkRequest, code_fingerprint
from tests.factories import Loaded
from tests.portal.conftest import IN_SELF_CHECK
from tests.shortlink.conftest import BASE, cells, mint_one, portal_settings


def mint(seed: Loaded, requests: dict[Any, ShortLinkRequest], **settings: object) -> dict[Any, Any]:
    with Session(seed.engine) as session, session.begin():
        return short_links(session, seed.handle.campaign, portal_settings(**settings), requests)


def test_a_short_link_is_the_portal_base_k_and_a_ten_character_code(seeded: Loaded) -> None:
    url = mint_one(seeded, cells(seeded)[0])

    assert url.startswith(f"{BASE}k/")
    assert len(url.removeprefix(f"{BASE}k/")) == 10


def test_the_database_holds_the_fingerprint_and_claims_never_the_code_or_link(
    seeded: Loaded,
) -> None:
    unit = cells(seeded)[0]
    code = mint_one(seeded, unit).rsplit("/", 1)[1]
    token = personal_link(seeded.handle.campaign.code, unit, 1, IN_SELF_CHECK, portal_settings())
    assert token is not None

    [row] = seeded.rows("SELECT * FROM short_link")
    values = [str(v) for v in row]

    assert row.fingerprint == code_fingerprint(code)
    assert (row.unit_code, row.version, row.campaign_id) == (unit, 1, seeded.cid)
    assert not any(code in v for v in values)
    assert not any(token.rsplit("/", 1)[1] in v for v in values)


def test_minting_again_gives_the_same_urls_and_adds_no_rows(seeded: Loaded) -> None:
    units = cells(seeded)
    requests = {u: ShortLinkRequest(u, 1, IN_SELF_CHECK) for u in units}

    first = mint(seeded, requests)
    second = mint(seeded, requests)

    assert first == second
    assert len(set(first.values())) == len(units)
    assert seeded.count("short_link") == len(units)


def test_many_links_are_minted_at_once_across_chunks(seeded: Loaded) -> None:
    units = cells(seeded)
    days = CHUNK // len(units) + 2  # more requests than one statement takes
    requests = {
        (u, d): ShortLinkRequest(u, 1, IN_SELF_CHECK + timedelta(days=d))
        for u in units
        for d in range(days)
    }

    urls = mint(seeded, requests)

    assert len(requests) > CHUNK
    assert None not in urls.values()
    assert len(set(urls.values())) == len(requests)
    assert seeded.count("short_link") == len(requests)


def test_a_unit_outside_the_campaign_gets_no_link(seeded: Loaded) -> None:
    urls = mint(seeded, {"gone": ShortLinkRequest("NO-SUCH-UNIT", 1, IN_SELF_CHECK)})

    assert urls == {"gone": None}
    assert seeded.count("short_link") == 0


def test_without_a_configured_portal_nothing_is_minted(seeded: Loaded) -> None:
    request = {"x": ShortLinkRequest(cells(seeded)[0], 1, IN_SELF_CHECK)}

    assert mint(seeded, request, portal_base_url=None) == {"x": None}
    assert mint(seeded, request, portal_secret=None) == {"x": None}
    assert seeded.count("short_link") == 0


def test_a_code_already_standing_for_other_claims_is_not_handed_out(seeded: Loaded) -> None:
    first, second = cells(seeded)[:2]
    code = mint_one(seeded, first).rsplit("/", 1)[1]
    # As if the second unit's claims had hashed to the same code.
    seeded.execute(
        "UPDATE short_link SET unit_code = :u WHERE fingerprint = :f",
        {"u": second, "f": code_fingerprint(code)},
    )

    urls = mint(seeded, {"x": ShortLinkRequest(first, 1, IN_SELF_CHECK)})

    assert urls == {"x": None}
