"""A private Dovecot per test, and the seed campaign with a mail_intake section."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.mail.dovecot import USER, Dovecot, running

SECRET_REF = "secret:test-mail"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    with running() as server:
        yield server


def mail_campaign(folder: Path, server: Dovecot, **options: object) -> Path:
    """The seed campaign YAML plus a mail_intake section for server, written in folder."""
    text = (ROOT / "config" / "campaigns" / "xucheng-2017.yaml").read_text("utf-8")
    text = text.replace(
        "overrides_dir: ../calendars", f"overrides_dir: {ROOT / 'config' / 'calendars'}"
    )
    section = {
        "host": "127.0.0.1",
        "port": server.imaps_port,
        "security": "imaps",
        "user": USER,
        "password": SECRET_REF,
        "ca_file": str(server.ca_file),
        **options,
    }
    lines = ["mail_intake:"] + [f"  {k}: {v}" for k, v in section.items() if v is not None]
    path = folder / "campaign.yaml"
    path.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path
