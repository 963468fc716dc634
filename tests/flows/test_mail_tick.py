"""Done-when of mail intake: a roster contact mails the self-check report to the campaign's
mailbox (a real Dovecot); one pingan-tick later `pingan status --json` counts the cell as
covered and the sender's receipt, with its number, has gone out on the email channel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.tick import tick
from pingan.adapters.db.session import make_engine
from pingan.cli.app import app
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster
from tests.mail.conftest import mail_campaign
from tests.mail.dovecot import PASSWORD, Dovecot, running
from tests.mail.messages import mail, pdf


@pytest.fixture
def imap_server() -> Iterator[Dovecot]:
    with running() as server:
        yield server


def _status(db_url: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["status", "xucheng-2017", "--as-of", "2017-06-01", "--json", "--db", db_url]
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_a_mailed_self_check_report_is_covered_after_one_tick_and_answered(
    pingan_env: str, imap_server: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("PINGAN_SECRET_TEST_MAIL", PASSWORD)
    monkeypatch.setenv("PINGAN_CHANNEL_OVERRIDE", "file")
    monkeypatch.setenv("PINGAN_OUTBOX_FILE", str(outbox))
    config = mail_campaign(tmp_path, imap_server)
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(config), 20, 1, roster)
    engine = make_engine(pingan_env)
    load(engine, config, roster)
    engine.dispose()
    before = _status(pingan_env)
    imap_server.append(
        mail("SYN-C0000001@example.com", "【自查报告】SYN-C0000001", [("自查报告.pdf", pdf("x"))])
    )

    tick(campaign="xucheng-2017", as_of=date(2017, 6, 1), respect_quiet_hours=False)

    after = _status(pingan_env)
    assert after["overall"]["covered"] == before["overall"]["covered"] + 1
    sent = [json.loads(line) for line in outbox.read_text("utf-8").splitlines()]
    receipts = [m for m in sent if "报送回执" in json.dumps(m, ensure_ascii=False)]
    assert len(receipts) == 1
    text = json.dumps(receipts[0], ensure_ascii=False)
    assert "回执号 " in text and "syn-c0000001@example.com" in text


def test_an_unreachable_mailbox_does_not_stop_the_tick(
    pingan_env: str, imap_server: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINGAN_SECRET_TEST_MAIL", PASSWORD)
    config = mail_campaign(tmp_path, imap_server)
    imap_server.stop()  # the mailbox's server is down
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(config), 20, 1, roster)
    engine = make_engine(pingan_env)
    load(engine, config, roster)
    engine.dispose()

    out = tick(campaign="xucheng-2017", as_of=date(2017, 5, 12), dispatch=False)

    assert out.reminders > 0 and out.intake is None
