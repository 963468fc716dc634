"""An operator alert in the outbox: one message per coordinator unit, queued once per key,
delivered like any other message."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from pingan.core.alerts import AlertFacts, AlertKind
from pingan.services.alert import queue_alert
from tests.factories import load_seed

FACTS = AlertFacts(
    AlertKind.run_failed,
    "run-0b7c",
    run_name="巡检 xucheng-2017 2031-06-10",
    flow_name="pingan-tick",
    state="Failed",
    reason="工作日历只载入到 2026-12-31",
)


def alerts(engine: Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT u.code, n.state, n.subject, n.body FROM notification n "
                    "JOIN unit u ON u.id = n.recipient_unit_id WHERE n.kind = 'alert'"
                )
            )
        ]


def test_an_alert_is_queued_for_the_coordinator_once_per_key(
    engine: Engine, tmp_path: Path
) -> None:
    loaded = load_seed(engine, tmp_path, cells=6)

    first = queue_alert(engine, loaded.handle, FACTS)
    again = queue_alert(engine, loaded.handle, FACTS)

    assert (first, again) == (1, 0)
    [(unit, state, subject, body)] = alerts(engine)
    assert unit == "zzw" and state == "queued"
    assert "巡检 xucheng-2017 2031-06-10" in subject
    assert body.startswith("街道综治中心：") and "工作日历只载入到 2026-12-31" in body


def test_a_sign_off_alert_asks_the_office_to_have_the_coordinator_sign(
    engine: Engine, tmp_path: Path
) -> None:
    loaded = load_seed(engine, tmp_path, cells=6)
    queue_alert(engine, loaded.handle, AlertFacts(AlertKind.signoff_waiting, "signoff-1"))
    [(_, _, subject, body)] = alerts(engine)
    assert "等待签批" in subject and "街道综治委" in body
