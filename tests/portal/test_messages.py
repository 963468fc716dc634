"""Personal links in rendered reminders, escalations and digests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from pingan import root
from pingan.adapters.db.messages import RenderedMessage
from pingan.core.links import verify
from pingan.services.links import revoke_links
from tests.factories import Loaded, load_seed
from tests.portal.conftest import SECRET

BASE = "https://pa.example.cn/pingan"
LINK = re.compile(re.escape(BASE) + r"/u/([A-Za-z0-9_.-]+)")


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PINGAN_PORTAL_BASE_URL", BASE)
    monkeypatch.setenv("PINGAN_PORTAL_SECRET", SECRET)
    root.reset()
    yield
    root.reset()


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PINGAN_PORTAL_BASE_URL", raising=False)
    monkeypatch.delenv("PINGAN_PORTAL_SECRET", raising=False)
    root.reset()
    yield
    root.reset()


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=12)


def previews(seeded: Loaded, day: date) -> list[RenderedMessage]:
    return seeded.tick(day, dry_run=True).previews


def token_in(message: RenderedMessage) -> str:
    found = LINK.findall(message.body)
    assert len(found) == 1, message.body
    return str(found[0])


def test_a_reminder_carries_the_units_own_link_valid_from_its_day(
    configured: None, seeded: Loaded
) -> None:
    day = date(2017, 10, 26)  # three working days before the self-check is due
    reminders = [m for m in previews(seeded, day) if m.kind == "reminder"]
    assert reminders

    for m in reminders:
        assert "网上报送（本单位专用链接，请勿转发）" in m.body
        midnight = datetime(2017, 10, 26, tzinfo=ZoneInfo("Asia/Shanghai"))
        claims = verify(token_in(m), SECRET, midnight)
        assert (claims.campaign, claims.unit, claims.version) == (
            "xucheng-2017",
            m.recipient_code,
            1,
        )
        assert claims.expires_at == (midnight + timedelta(days=60)).astimezone(UTC)


def test_escalations_and_lead_digests_carry_a_link_and_the_coordinators_digest_none(
    configured: None, seeded: Loaded
) -> None:
    messages = previews(seeded, date(2017, 11, 7))  # five working days overdue
    kinds = {(m.kind, m.recipient_code == "zzw") for m in messages}
    assert {("escalation", False), ("digest", False), ("digest", True)} <= kinds

    for m in messages:
        if m.recipient_code == "zzw":
            assert "/u/" not in m.body
        else:
            assert verify(token_in(m), SECRET, datetime(2017, 11, 7, tzinfo=UTC)).unit == (
                m.recipient_code
            )


def test_without_base_url_and_secret_messages_carry_no_link(
    unconfigured: None, seeded: Loaded
) -> None:
    messages = previews(seeded, date(2017, 11, 7))

    assert messages
    assert not any("网上报送" in m.body or "/u/" in m.body for m in messages)


def test_rendering_the_same_message_twice_gives_the_same_link(
    configured: None, seeded: Loaded
) -> None:
    first = {m.notification_id: m.body for m in previews(seeded, date(2017, 10, 26))}
    again = {m.notification_id: m.body for m in previews(seeded, date(2017, 10, 26))}

    assert sorted(first.values()) == sorted(again.values())


def test_after_a_revocation_new_messages_carry_the_new_version(
    configured: None, seeded: Loaded
) -> None:
    day = date(2017, 10, 26)
    unit = next(m.recipient_code for m in previews(seeded, day) if m.kind == "reminder")

    revoke_links(seeded.engine, seeded.cid, [unit], actor="test", now=datetime.now(UTC))

    messages = [m for m in previews(seeded, day) if m.recipient_code == unit]
    midnight = datetime(2017, 10, 26, tzinfo=UTC)
    assert messages
    assert {verify(token_in(m), SECRET, midnight).version for m in messages} == {2}
