"""No stored message body holds a personal link (ISSUE17 finding 5): the outbox stores a
placeholder, and each send signs the recipient's link again for the message's day."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import Engine

from pingan.adapters.channels.file import FileChannel
from pingan.adapters.db.messages import LINK_PLACEHOLDER
from pingan.core.links import verify
from pingan.services.dispatch import Delivery, run_dispatch
from pingan.services.links import revoke_links
from tests.factories import load_seed

BASE = "https://pa.example.cn/pingan"
SECRET = "s" * 40
LINK = re.compile(re.escape(BASE) + r"/u/([A-Za-z0-9_.-]+)")
DAY = date(2017, 5, 22)


class Portal:
    portal_base_url: str | None = BASE
    portal_secret: SecretStr | None = SecretStr(SECRET)
    portal_link_days = 30


def test_stored_bodies_hold_no_link_and_each_send_signs_the_current_one(
    engine: Engine, tmp_path: Path
) -> None:
    db = load_seed(engine, tmp_path, cells=12)
    db.tick(DAY)
    sink = tmp_path / "sent.jsonl"
    delivery = Delivery({"file": FileChannel(sink)}, override="file")
    run_dispatch(engine, db.handle, delivery, Portal(), respect_quiet_hours=False)

    stored = db.rows("SELECT subject, body, last_error FROM notification")
    stored += db.rows("SELECT address, last_error, endpoint FROM delivery")
    text = "\n".join(str(v) for row in stored for v in row if v)
    assert "/u/" not in text and BASE not in text
    assert LINK_PLACEHOLDER in text  # the link's place is kept, so it can be re-derived

    sent = [json.loads(line) for line in sink.read_text("utf-8").splitlines()]
    tokens = [t for r in sent for t in LINK.findall(r["body"])]
    assert tokens and not any(LINK_PLACEHOLDER in r["body"] for r in sent)
    claims = verify(tokens[0], SECRET, datetime(2017, 5, 22, tzinfo=UTC))
    assert (claims.campaign, claims.version) == ("xucheng-2017", 1)

    # A re-send after a revocation carries the unit's new version, not the stored text's.
    unit = claims.unit
    revoke_links(engine, db.cid, [unit], actor="test", now=datetime(2017, 5, 22, tzinfo=UTC))
    db.execute(
        "UPDATE delivery SET state = 'queued', attempts = 0 WHERE notification_id IN "
        "(SELECT n.id FROM notification n JOIN unit u ON u.id = n.recipient_unit_id "
        " WHERE u.code = :k)",
        {"k": unit},
    )
    sink.unlink()
    run_dispatch(engine, db.handle, delivery, Portal(), respect_quiet_hours=False)
    again = [json.loads(line) for line in sink.read_text("utf-8").splitlines()]
    versions = {
        verify(t, SECRET, datetime(2017, 5, 22, tzinfo=UTC)).version
        for r in again
        for t in LINK.findall(r["body"])
    }
    assert versions == {2}
