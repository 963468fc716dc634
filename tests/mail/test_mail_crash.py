"""A mail intake killed (SIGKILL) in the middle of a batch loses nothing and takes nothing
twice when it runs again; so does one that stops between commit and marking the mails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from pingan.adapters.intake.mail.imap import Mailbox
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign import load_campaign
from pingan.services.collect import IntakeStores
from pingan.services.load import load
from pingan.services.mail import collect_mailbox
from pingan.services.synth import write_roster
from pingan.services.tick import open_campaign
from tests.conftest import ROOT
from tests.mail.conftest import SECRET_REF, mail_campaign
from tests.mail.dovecot import PASSWORD, Dovecot
from tests.mail.messages import mail, pdf

MAILS = 120
BATCH = 10


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def _setup(engine: Engine, server: Dovecot, tmp_path: Path) -> IntakeStores:
    config = mail_campaign(tmp_path, server, batch_size=BATCH)
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(config), 20, 1, roster)
    load(engine, config, roster)
    with engine.connect() as conn:
        cells = [
            r[0]
            for r in conn.execute(text("SELECT code FROM unit WHERE kind = 'cell' ORDER BY code"))
        ]
    server.append_many(
        [
            mail(
                f"{cells[i % len(cells)].lower()}@example.com",
                "【自查报告】",
                [(f"报告{i}.pdf", pdf(f"r{i}"))],
            )
            for i in range(MAILS)
        ]
    )
    return IntakeStores(tmp_path / "evidence", tmp_path / "quarantine", 20 * 1024 * 1024)


def _collect(engine: Engine, stores: IntakeStores) -> None:
    handle = open_campaign(engine, "xucheng-2017")
    resolver = MappingSecretResolver({SECRET_REF: PASSWORD})
    collect_mailbox(engine, handle, stores, resolver, as_of=date(2017, 6, 1))


def _assert_each_mail_once(engine: Engine, server: Dovecot) -> None:
    assert _count(engine, "SELECT count(*) FROM submission_file") == MAILS
    assert _count(engine, "SELECT count(*) FROM mail_item WHERE state = 'accepted'") == MAILS
    assert _count(engine, "SELECT count(DISTINCT message_key) FROM mail_item") == MAILS
    assert _count(engine, "SELECT count(*) FROM notification WHERE kind = 'mail_receipt'") == MAILS
    assert _count(engine, "SELECT count(*) FROM delivery") == MAILS
    flags = server.flags()
    assert len(flags) == MAILS and all("$PinganDone" in f for f in flags.values())


def test_sigkill_mid_batch_then_rerun_loses_nothing_and_duplicates_nothing(
    engine: Engine, db_url: str, dovecot: Dovecot, tmp_path: Path
) -> None:
    stores = _setup(engine, dovecot, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.mail._mail_child", db_url, str(tmp_path)], cwd=ROOT, env=env
    )
    deadline = time.monotonic() + 120
    recorded = 0
    while time.monotonic() < deadline and child.poll() is None:
        recorded = _count(engine, "SELECT count(*) FROM mail_item")
        if recorded >= BATCH:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert BATCH <= recorded < MAILS, "the child must be killed between its first and last batch"
    assert _count(engine, "SELECT count(*) FROM mail_item") < MAILS

    _collect(engine, stores)

    _assert_each_mail_once(engine, dovecot)


def test_stopping_between_commit_and_marking_reprocesses_without_duplicates(
    engine: Engine, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = _setup(engine, dovecot, tmp_path)

    class Crash(Exception):
        pass

    def crash(self: Mailbox, uids: Sequence[int], *, ignored: bool = False) -> None:
        raise Crash

    with monkeypatch.context() as m:
        m.setattr(Mailbox, "mark", crash)
        with pytest.raises(Crash):
            _collect(engine, stores)
    assert _count(engine, "SELECT count(*) FROM mail_item") == BATCH

    _collect(engine, stores)

    _assert_each_mail_once(engine, dovecot)
