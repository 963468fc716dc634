"""An awarded unit's notice (命名通知) tells it where anyone can verify its certificate: the
public verification URL its certificate's QR code holds, when the portal has a public
address; without one the notice says nothing of it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from pingan import root
from pingan.adapters.channels.file import FileChannel
from pingan.core.acceptance import SignOffRequest
from pingan.core.awards import AwardListing
from pingan.services import acceptance
from pingan.services import award as awarding
from pingan.services.dispatch import Delivery, run_dispatch
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import Loaded
from tests.verify.conftest import AS_OF, Awarded, verify_portal

BASE_URL = "https://pa.example.cn/"  # a trailing slash, as an operator may well write it
LINE = "证书真伪可通过以下网址公开查验"


class PublicOnly:
    """The portal's public address without its link secret: no personal links, but the
    verification page is public."""

    portal_base_url: str | None = BASE_URL
    portal_secret = None
    portal_link_days = 30


class NoPortal(PublicOnly):
    portal_base_url = None


def _award_and_send(seed: Loaded, sink: Path, portal: PublicOnly) -> list[AwardListing]:
    """Two campus cells passed, signed off and awarded with notices, which are then sent to
    ``sink``; the listing."""
    campus = cells_by_domain(seed.engine, seed.handle)["campus"]
    score_cells(seed.engine, seed.handle, {campus[0]: "pass", campus[1]: "pass"})
    request = SignOffRequest("王主任", True, "同意", {})
    acceptance.sign_off(seed.engine, seed.handle, request, actor="test", source="test")
    key = root.container().award_key()
    awarding.grant(seed.engine, seed.handle, key=key, as_of=AS_OF, actor="test")
    delivery = Delivery({"file": FileChannel(sink)}, override="file")
    run_dispatch(seed.engine, seed.handle, delivery, portal, respect_quiet_hours=False)
    return awarding.listing(seed.engine, seed.handle)


def _notices(sink: Path) -> list[str]:
    """The bodies of the awarded units' own notices (not the lead unit's list)."""
    records = [json.loads(line) for line in sink.read_text("utf-8").splitlines()]
    return [r["body"] for r in records if "命名通知" in r["subject"]]


def test_each_award_notice_gives_the_url_that_verifies_its_own_certificate(
    to_award: Loaded, tmp_path: Path
) -> None:
    sink = tmp_path / "sent.jsonl"
    awards = _award_and_send(to_award, sink, PublicOnly())
    bodies = _notices(sink)
    assert len(bodies) == len(awards) == 2
    portal = verify_portal(Awarded(to_award, awards), tmp_path / "portal")
    for a in awards:
        [body] = [b for b in bodies if a.number in b]
        [line] = [x for x in body.splitlines() if LINE in x]
        url = line.split("：", 1)[1]
        ref = f"{a.id}-{a.verification_code.replace('-', '')}"
        assert url == f"https://pa.example.cn/v/{ref}"
        page = portal.client.get(urlsplit(url).path)
        assert "证书有效" in page.text and a.cell_name in page.text and a.number in page.text


def test_without_a_portal_address_the_award_notice_names_no_verification_url(
    to_award: Loaded, tmp_path: Path
) -> None:
    sink = tmp_path / "sent.jsonl"
    awards = _award_and_send(to_award, sink, NoPortal())
    bodies = _notices(sink)
    assert len(bodies) == len(awards) == 2
    assert all(a.number in "".join(bodies) for a in awards)
    assert not any(LINE in b or "/v/" in b for b in bodies)
