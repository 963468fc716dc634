"""`pingan leader-link`: prints a signed link to the leader's view and audits its
fingerprint; refuses an unknown domain or a portal that is not configured."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from pingan import root
from pingan.cli.app import app
from pingan.core.leader import verify_leader
from pingan.core.links import fingerprint
from tests.factories import SEED_CODE, Loaded, load_seed
from tests.portal.conftest import SECRET

BASE = "https://pa.example.cn"


@pytest.fixture
def seed(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Loaded:
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_PORTAL_BASE_URL", BASE)
    monkeypatch.setenv("PINGAN_PORTAL_SECRET", SECRET)
    root.reset()
    return load_seed(engine, tmp_path, cells=6)


def _run(seed: Loaded, *args: str) -> object:
    db = seed.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["leader-link", SEED_CODE, *args, "--db", db])
    root.reset()
    return result


def test_a_lead_units_link_is_scoped_to_its_domain_and_audited(seed: Loaded) -> None:
    r = _run(seed, "--domain", "campus", "--days", "7")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    [url] = re.findall(re.escape(BASE) + r"/l/\S+", r.output)  # type: ignore[attr-defined]
    token = url.rsplit("/", 1)[1]
    claims = verify_leader(token, SECRET, datetime.now(UTC))
    assert (claims.campaign, claims.scope) == (SEED_CODE, "campus")
    [row] = seed.rows("SELECT entity_id, after FROM audit_event WHERE action = 'leader_link.issue'")
    after = row.after if isinstance(row.after, dict) else json.loads(row.after)
    assert row.entity_id == "campus" and after["token"] == fingerprint(token)
    assert token not in json.dumps(after)


def test_an_unknown_domain_is_refused_in_one_chinese_line(seed: Loaded) -> None:
    r = _run(seed, "--domain", "nope")
    assert r.exit_code == 2 and "领域 nope 不存在" in r.output  # type: ignore[attr-defined]
    assert seed.scalar("SELECT count(*) FROM audit_event WHERE action = 'leader_link.issue'") == 0


def test_without_the_portal_configured_no_link_is_made(
    seed: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PINGAN_PORTAL_BASE_URL")
    root.reset()
    r = _run(seed)
    assert r.exit_code == 2 and "PINGAN_PORTAL_SECRET" in r.output  # type: ignore[attr-defined]
