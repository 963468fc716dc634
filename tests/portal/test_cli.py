"""`pingan portal` and `pingan links` (registered on a local typer app, as pingan.cli.app does)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from pingan import root
from pingan.cli.portal import register
from pingan.core.links import verify
from tests.factories import SEED_CODE, Loaded, load_seed
from tests.portal.conftest import SECRET

BASE = "https://pa.example.cn"


def cli(*args: str) -> Result:
    app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    register(app)
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def portal_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PINGAN_PORTAL_BASE_URL", BASE)
    monkeypatch.setenv("PINGAN_PORTAL_SECRET", SECRET)
    root.reset()
    yield
    root.reset()


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> Loaded:
    return load_seed(engine, tmp_path, cells=6)


def listing(db_url: str, *args: str) -> list[dict[str, Any]]:
    result = cli("links", SEED_CODE, "--json", "--db", db_url, *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


@pytest.mark.parametrize(
    ("secret", "message"),
    [(None, "未设置 PINGAN_PORTAL_SECRET"), ("too-short", "PINGAN_PORTAL_SECRET 过短")],
)
def test_portal_refuses_to_start_without_a_usable_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None, message: str
) -> None:
    if secret is None:
        monkeypatch.delenv("PINGAN_PORTAL_SECRET", raising=False)
    else:
        monkeypatch.setenv("PINGAN_PORTAL_SECRET", secret)
    root.reset()
    db = tmp_path / "never.db"

    result = cli("portal", "--db", f"sqlite:///{db}")

    root.reset()
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not db.exists()


def test_links_lists_every_unit_with_a_link_to_its_own_page(
    portal_env: None, seeded: Loaded, db_url: str
) -> None:
    rows = listing(db_url)

    units = seeded.count("unit")
    assert len(rows) == units
    now = datetime.now(UTC)
    for row in rows:
        assert row["link"].startswith(f"{BASE}/u/")
        claims = verify(row["link"].rsplit("/", 1)[1], SECRET, now)
        assert (claims.unit, claims.version) == (row["unit"], row["version"]) == (row["unit"], 1)


def test_links_for_one_unit_and_its_revocation_are_audited(
    portal_env: None, seeded: Loaded, db_url: str
) -> None:
    code = str(seeded.scalar("SELECT code FROM unit WHERE kind = 'cell' ORDER BY code"))
    [before] = listing(db_url, "--unit", code)

    result = cli("links", SEED_CODE, "--unit", code, "--revoke", "--actor", "李四", "--db", db_url)

    assert result.exit_code == 0, result.output
    assert f"已作废 {code} 的全部旧链接（现为第 2 版）" in result.stdout
    [after] = listing(db_url, "--unit", code)
    assert (before["version"], after["version"], after["revoked_by"]) == (1, 2, "李四")
    assert after["link"] != before["link"]
    [event] = seeded.rows("SELECT actor, entity_id FROM audit_event WHERE action = 'portal.revoke'")
    assert (event.actor, event.entity_id) == ("李四", code)


def test_revoke_without_a_unit_is_refused(portal_env: None, seeded: Loaded, db_url: str) -> None:
    result = cli("links", SEED_CODE, "--revoke", "--db", db_url)

    assert result.exit_code == 2
    assert "须用 --unit 指明单位" in result.stderr
    assert seeded.count("portal_link") == 0


def test_an_unknown_unit_is_one_line_and_nothing_is_revoked(
    portal_env: None, seeded: Loaded, db_url: str
) -> None:
    code = str(seeded.scalar("SELECT code FROM unit WHERE kind = 'cell' ORDER BY code"))

    result = cli("links", SEED_CODE, "--unit", code, "--unit", "NOPE", "--revoke", "--db", db_url)

    assert result.exit_code == 2
    assert "单位编码 NOPE 不在本创建活动中" in result.stderr
    assert seeded.count("portal_link") == 0


def test_links_without_portal_settings_show_no_link(
    monkeypatch: pytest.MonkeyPatch, seeded: Loaded, db_url: str
) -> None:
    monkeypatch.delenv("PINGAN_PORTAL_BASE_URL", raising=False)
    root.reset()

    table = cli("links", SEED_CODE, "--db", db_url)
    rows = listing(db_url)

    root.reset()
    assert table.exit_code == 0
    assert "无法生成链接" in table.stderr
    assert all(r["link"] is None for r in rows)
