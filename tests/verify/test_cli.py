"""`pingan verify … --name`: a copied number and code on another unit's name is refused."""

from __future__ import annotations

from typer.testing import CliRunner

from pingan.cli.app import app
from tests.factories import SEED_CODE
from tests.verify.conftest import Awarded


def _verify(awarded: Awarded, number: str, code: str, name: str) -> object:
    db = awarded.engine.url.render_as_string(hide_password=False)
    args = ["verify", SEED_CODE, number, code, "--name", name, "--db", db]
    return CliRunner().invoke(app, args, env={"COLUMNS": "200"})


def test_the_name_on_the_certificate_must_be_the_awarded_unit(awarded: Awarded) -> None:
    a, other = awarded.award(0), awarded.award(1)
    ok = _verify(awarded, a.number, a.verification_code, a.cell_name)
    assert ok.exit_code == 0 and "证书有效" in ok.output  # type: ignore[attr-defined]
    copied = _verify(awarded, a.number, a.verification_code, other.cell_name)
    assert copied.exit_code == 1  # type: ignore[attr-defined]
    assert "单位名称不符" in copied.output and "证书有效" not in copied.output  # type: ignore[attr-defined]


def test_the_name_is_required() -> None:
    r = CliRunner().invoke(app, ["verify", SEED_CODE, "N", "ABCD-EFGH"])
    assert r.exit_code == 2 and "--name" in r.output
