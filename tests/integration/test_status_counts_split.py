"""The status report's cheaper statements give what the single statements they replace gave:
obligations per (domain, status) with each item's domain resolved per row, and read
receipts from a count statement plus a list statement.

The campaign is shaped for the edge cases: a withdrawn cell and a withdrawn organisation
(left out), lead units whose own items go to the domain they lead, villages and the
coordinator under "_other", messages sent and links opened before and after. Each item's
stored domain (obligation.domain_id) is the per-row resolution, also after a reload that
moves a cell to another domain, withdraws and brings back cells, or gives a domain another
lead unit."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from pingan.adapters.db.campaigns import DomainRow
from pingan.adapters.db.links import LinkViewRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.receipts import UNSEEN_LISTED, _latest_sent, receipts
from pingan.adapters.db.status import OTHER, obligation_domain_expr, status_counts
from pingan.adapters.db.units import UnitRow
from pingan.core.gates import STATUSES
from pingan.services.load import load
from tests.factories import SEED_CONFIG, Loaded, load_seed, read_csv, write_csv

DAY = date(2017, 11, 1)


def _per_row(session: Session, campaign_id: int) -> dict[str, dict[str, int]]:
    """The former statement: one GROUP BY on each item's resolved domain."""
    keys = dict(
        session.execute(
            select(DomainRow.id, DomainRow.key).where(DomainRow.campaign_id == campaign_id)
        ).all()
    )
    dom = obligation_domain_expr().label("dom")
    rows = session.execute(
        select(dom, ObligationRow.status, func.count())
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(ObligationRow.campaign_id == campaign_id, UnitRow.status == "active")
        .group_by(dom, ObligationRow.status)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for dom_id, status, n in sorted(rows, key=lambda r: (r[0] is not None, r[0] or 0)):
        out.setdefault(keys.get(dom_id, OTHER), {s: 0 for s in STATUSES})[status] += int(n)
    return out


def _two_statements(session: Session, campaign_id: int) -> dict[str, Any]:
    """The former receipts: a count statement and a list statement."""
    latest = _latest_sent(campaign_id)
    seen = and_(LinkViewRow.last_at.is_not(None), LinkViewRow.last_at >= latest.c.sent_at)
    joined = (
        select(UnitRow.code, UnitRow.name, latest.c.sent_at)
        .join(latest, latest.c.unit_id == UnitRow.id)
        .outerjoin(LinkViewRow, LinkViewRow.unit_id == UnitRow.id)
        .where(UnitRow.status == "active")
    )
    told, seen_n = session.execute(
        select(func.count(), func.count(LinkViewRow.unit_id).filter(seen))
        .select_from(UnitRow)
        .join(latest, latest.c.unit_id == UnitRow.id)
        .outerjoin(LinkViewRow, LinkViewRow.unit_id == UnitRow.id)
        .where(UnitRow.status == "active")
    ).one()
    unseen = session.execute(
        joined.where(or_(LinkViewRow.last_at.is_(None), LinkViewRow.last_at < latest.c.sent_at))
        .order_by(UnitRow.code)
        .limit(UNSEEN_LISTED)
    ).all()
    return {
        "told": int(told),
        "seen": int(seen_n),
        "unseen": int(told) - int(seen_n),
        "unseen_units": [
            {"code": r.code, "name": r.name, "sent_at": f"{r.sent_at:%Y-%m-%dT%H:%M:%S}Z"}
            for r in unseen
        ],
    }


@pytest.fixture
def db(engine: Engine, tmp_path: Path) -> Loaded:
    db = load_seed(engine, tmp_path, cells=120)
    db.tick(DAY)
    sent = datetime(2017, 11, 1, 2, 0)
    db.execute(
        "UPDATE notification SET state = 'sent', sent_at = :t WHERE id % 7 <> 0", {"t": sent}
    )
    db.execute(
        "INSERT INTO link_view (unit_id, campaign_id, first_at, last_at, views)"
        " SELECT id, campaign_id, :a, CASE WHEN id % 3 = 0 THEN :b ELSE :a END, 1 FROM unit"
        " WHERE id % 2 = 0",
        {"a": datetime(2017, 10, 1), "b": datetime(2017, 11, 2)},
    )
    db.execute(
        "UPDATE unit SET status = 'withdrawn' WHERE id IN ((SELECT min(id) FROM unit"
        " WHERE kind = 'cell'), (SELECT min(id) FROM unit WHERE kind = 'org'))"
    )
    return db


def test_status_counts_equal_the_per_item_domain_statement(db: Loaded) -> None:
    with Session(db.engine) as session:
        new, old = status_counts(session, db.cid), _per_row(session, db.cid)
    assert new == old
    assert list(new) == list(old)  # "_other" first, then domains in id order
    assert OTHER in new and len(new) > 2


def test_receipts_equal_the_count_and_list_statements(db: Loaded) -> None:
    with Session(db.engine) as session:
        new, old = receipts(session, db.cid), _two_statements(session, db.cid)
    assert new == old
    assert new["seen"] and new["unseen"] and new["unseen_units"]


def test_receipts_of_a_campaign_that_sent_nothing(engine: Engine, tmp_path: Path) -> None:
    db = load_seed(engine, tmp_path, cells=4)
    db.tick(DAY)
    with Session(db.engine) as session:
        assert receipts(session, db.cid) == {"told": 0, "seen": 0, "unseen": 0, "unseen_units": []}


def test_status_counts_when_only_cells_owe_anything(db: Loaded) -> None:
    db.execute("UPDATE unit SET status = 'withdrawn' WHERE domain_id IS NULL")
    with Session(db.engine) as session:
        new, old = status_counts(session, db.cid), _per_row(session, db.cid)
    assert new == old and OTHER not in new
    assert list(new) == list(old)


def _stale_domains(session: Session, campaign_id: int) -> list[Any]:
    """Items whose stored domain is not the one resolved from their unit."""
    dom = obligation_domain_expr()
    return session.execute(
        select(ObligationRow.id, ObligationRow.domain_id, dom)
        .join(UnitRow, UnitRow.id == ObligationRow.unit_id)
        .where(
            ObligationRow.campaign_id == campaign_id, ObligationRow.domain_id.is_distinct_from(dom)
        )
    ).all()


def _assert_counts_follow(db: Loaded) -> dict[str, dict[str, int]]:
    with Session(db.engine) as session:
        assert _stale_domains(session, db.cid) == []
        new, old = status_counts(session, db.cid), _per_row(session, db.cid)
    assert new == old
    assert list(new) == list(old)
    return new


def test_stored_domains_are_the_resolved_ones(db: Loaded) -> None:
    with Session(db.engine) as session:
        assert _stale_domains(session, db.cid) == []
        assert session.scalar(
            select(func.count()).where(
                ObligationRow.campaign_id == db.cid, ObligationRow.domain_id.is_(None)
            )
        )  # the coordinator's and the villages' items: "_other"


def test_a_reload_that_moves_withdraws_and_brings_back_cells(db: Loaded, tmp_path: Path) -> None:
    header, *rows = read_csv(db.roster)
    col = {name: i for i, name in enumerate(header)}
    families = [r for r in rows if r[col["type"]] == "cell" and r[col["domain"]] == "family"]
    moved, gone = families[0], families[1]
    moved[col["domain"]], moved[col["category"]] = "enterprise", "企业"
    shorter = [header, *(r for r in rows if r is not gone)]
    load(db.engine, SEED_CONFIG, write_csv(tmp_path / "r2.csv", shorter), actor="test")
    counts = _assert_counts_follow(db)
    enterprise = db.scalar("SELECT id FROM domain WHERE campaign_id = :c AND key = 'enterprise'")
    doms = db.rows(
        "SELECT DISTINCT o.domain_id FROM obligation o JOIN unit u ON u.id = o.unit_id"
        " WHERE u.code = :k",
        k=moved[col["code"]],
    )
    assert [d[0] for d in doms] == [enterprise]
    # The withdrawn cell returns: its items count again, in its domain.
    load(db.engine, SEED_CONFIG, write_csv(tmp_path / "r3.csv", [header, *rows]), actor="test")
    back = _assert_counts_follow(db)
    assert sum(back["family"].values()) == sum(counts["family"].values()) + db.scalar(
        "SELECT count(*) FROM obligation o JOIN unit u ON u.id = o.unit_id WHERE u.code = :k",
        k=gone[col["code"]],
    )


def test_a_domain_that_changes_its_lead_unit(db: Loaded, tmp_path: Path) -> None:
    config = SEED_CONFIG.read_text(encoding="utf-8").replace(
        "lead: ajb\n    participants: [jjb, ghb, qtajbm]",
        "lead: jjb\n    participants: [ajb, ghb, qtajbm]",
    )
    assert "lead: jjb" in config
    moved = tmp_path / "xucheng-2017.yaml"
    moved.write_text(config, encoding="utf-8")
    load(db.engine, moved, db.roster, actor="test")
    _assert_counts_follow(db)
    enterprise = db.scalar("SELECT id FROM domain WHERE campaign_id = :c AND key = 'enterprise'")
    led = db.rows(
        "SELECT u.code, o.domain_id FROM obligation o JOIN unit u ON u.id = o.unit_id"
        " WHERE u.code IN ('ajb', 'jjb')"
    )
    assert {(code, dom) for code, dom in led} == {("ajb", None), ("jjb", enterprise)}
