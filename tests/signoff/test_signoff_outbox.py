"""Sign-off links through the outbox: one message per approver on their own channel, the
link signed at send time and never stored, single use, closing, and working-day reminders."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from pydantic import SecretStr

from pingan.adapters.channels.fake import RecordingChannel
from pingan.adapters.db.awarding.signoff_links import PauseRef
from pingan.core.links import PortalSettings, fingerprint
from pingan.core.signoff import verify_signoff
from pingan.services import acceptance
from pingan.services.dispatch import Delivery, run_dispatch
from pingan.services.signoff import (
    close_signoff_links,
    issue_signoff_links,
    remind_approvers,
    take_link,
)
from tests.signoff.conftest import AS_OF, BASE_URL, SECRET, Scored

RUN = "5f0c7a36-2b59-4c4e-8f5e-1d2a3b4c5d6e"
LINK = re.compile(re.escape(BASE_URL) + r"/s/([A-Za-z0-9_.-]+)")
NOW = datetime(2017, 11, 20, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


class Portal:
    portal_base_url: str | None = BASE_URL
    portal_secret: SecretStr | None = SecretStr(SECRET)
    portal_link_days = 30


class NoPortal:
    portal_base_url: str | None = None
    portal_secret: SecretStr | None = None
    portal_link_days = 30


def _issue(s: Scored, portal: PortalSettings | None = None, hours: float = 72) -> int:
    res = acceptance.results(s.engine, s.seed.handle, AS_OF)
    pause = PauseRef(RUN, AS_OF, NOW + timedelta(hours=hours))
    return issue_signoff_links(s.engine, s.seed.handle, pause, res, portal or Portal(), NOW.date())


def _send(s: Scored) -> RecordingChannel:
    rec = RecordingChannel()
    delivery = Delivery({"sms": rec, "email": rec})
    run_dispatch(s.engine, s.seed.handle, delivery, Portal(), respect_quiet_hours=False)
    return rec


def test_each_approver_is_sent_a_personal_link_on_their_own_channel(scored: Scored) -> None:
    assert _issue(scored) == 2
    rec = _send(scored)
    by_target = {(t.channel, t.address): m for t, m in rec.sent}
    # Never by SMS (a template cannot carry the link): 王主任's email, not his mobile.
    assert set(by_target) == {("email", "wang@example.cn"), ("email", "li@example.cn")}
    wang = by_target[("email", "wang@example.cn")]
    assert wang.body.startswith("王主任：") and "待您签批" in wang.subject
    [token] = LINK.findall(wang.body)
    assert wang.action_url == f"{BASE_URL}/s/{token}" and wang.action_label == "查看并签批"
    claims = verify_signoff(token, SECRET)
    assert (claims.campaign, claims.run) == ("xucheng-2017", RUN)


def test_no_link_is_stored_only_its_fingerprint(scored: Scored) -> None:
    _issue(scored)
    rec = _send(scored)
    tokens = [t for _, m in rec.sent for t in LINK.findall(m.body)]
    stored = scored.seed.rows("SELECT subject, body FROM notification")
    stored += scored.seed.rows("SELECT fingerprint, address FROM signoff_link")
    text = "\n".join(str(v) for row in stored for v in row if v)
    assert tokens and not any(t in text for t in tokens) and "/s/" not in text
    fps = {r.fingerprint for r in scored.seed.rows("SELECT fingerprint FROM signoff_link")}
    assert fps == {fingerprint(t) for t in tokens}


def test_expansion_adds_no_other_delivery_to_a_sign_off_message(scored: Scored) -> None:
    _issue(scored)
    _send(scored)
    rows = scored.seed.rows(
        "SELECT d.channel FROM delivery d JOIN notification n ON n.id = d.notification_id "
        "WHERE n.kind = 'signoff'"
    )
    assert sorted(r.channel for r in rows) == ["email", "email"]


def test_without_a_configured_portal_no_link_is_issued(scored: Scored) -> None:
    assert _issue(scored, NoPortal()) == 0
    assert scored.seed.count("signoff_link") == 0


def test_a_link_is_taken_once_only(scored: Scored) -> None:
    _issue(scored)
    link_id = scored.seed.scalar("SELECT min(id) FROM signoff_link")
    assert take_link(scored.engine, link_id, NOW) is True
    assert take_link(scored.engine, link_id, NOW) is False


def test_a_link_cannot_be_taken_after_its_wait_ran_out(scored: Scored) -> None:
    _issue(scored, hours=1)
    link_id = scored.seed.scalar("SELECT min(id) FROM signoff_link")
    assert take_link(scored.engine, link_id, NOW + timedelta(hours=2)) is False


def test_closing_a_runs_links_cancels_messages_not_yet_sent(scored: Scored) -> None:
    _issue(scored)
    assert close_signoff_links(scored.engine, scored.seed.handle, RUN, "answered") == 2
    link_id = scored.seed.scalar("SELECT min(id) FROM signoff_link")
    assert take_link(scored.engine, link_id, NOW) is False
    states = {r.state for r in scored.seed.rows("SELECT state FROM notification")}
    assert states == {"cancelled"}
    assert _send(scored).sent == []


def test_waiting_approvers_are_reminded_once_on_a_working_day(scored: Scored) -> None:
    _issue(scored)
    handle = scored.seed.handle
    tuesday = date(2017, 11, 21)
    at = NOW + timedelta(days=1)
    assert remind_approvers(scored.engine, handle, tuesday, at) == 2
    assert remind_approvers(scored.engine, handle, tuesday, at) == 0  # once a day
    saturday = date(2017, 11, 25)
    assert remind_approvers(scored.engine, handle, saturday, at) == 0
    rec = _send(scored)
    reminders = [m for _, m in rec.sent if "仍待您签批" in m.subject]
    assert len(reminders) == 2 and all(LINK.search(m.body) for m in reminders)


def test_no_reminder_once_the_link_is_used(scored: Scored) -> None:
    _issue(scored)
    for link_id in [r.id for r in scored.seed.rows("SELECT id FROM signoff_link")]:
        take_link(scored.engine, link_id, NOW)
    assert remind_approvers(scored.engine, scored.seed.handle, date(2017, 11, 21), NOW) == 0
