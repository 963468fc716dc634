"""Loading a campaign and its roster: all or nothing, history kept, every change audited."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.campaigns import CampaignRow, WorkdayRow
from pingan.adapters.db.obligations import ObligationRow
from pingan.adapters.db.session import ensure_schema
from pingan.adapters.db.units import ContactRow, UnitRow
from pingan.core.campaign import load_campaign
from pingan.core.problems import InputError
from pingan.services.load import load
from pingan.services.synth import HEADER, write_roster


def _roster(tmp_path: Path, config: Path, cells: int = 30, name: str = "r.csv") -> Path:
    path = tmp_path / name
    write_roster(load_campaign(config), cells, 3, path)
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(HEADER))
        w.writeheader()
        w.writerows(rows)
    return path


def _count(engine: Engine, stmt: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)  # type: ignore[call-overload]


def _status_of(engine: Engine, code: str) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(UnitRow.status).where(UnitRow.code == code)))


def test_first_load_creates_units_contacts_obligations_and_workdays(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    result = load(engine, seed_config, _roster(tmp_path, seed_config))
    cells = _count(engine, select(func.count()).where(UnitRow.kind == "cell"))
    assert cells == 30
    assert _count(engine, select(func.count()).select_from(ContactRow)) >= 30
    assert result.obligations_created == _count(
        engine, select(func.count()).select_from(ObligationRow)
    )
    # 2017 and 2018 (the calendar knows the following year) fully tabulated.
    assert _count(engine, select(func.count()).select_from(WorkdayRow)) == 365 * 2


def test_loading_the_same_files_twice_changes_nothing(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    roster = _roster(tmp_path, seed_config)
    load(engine, seed_config, roster)
    again = load(engine, seed_config, roster)
    s = again.summary
    assert (s.added, s.changed, s.withdrawn, s.contacts_written) == (0, 0, 0, 0)
    assert again.obligations_created == 0


def test_a_cell_left_out_of_a_new_roster_is_withdrawn_not_deleted(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    roster = _roster(tmp_path, seed_config)
    load(engine, seed_config, roster)
    rows = _rows(roster)
    gone = next(r for r in rows if r["type"] == "cell")
    load(engine, seed_config, _write(tmp_path / "r2.csv", [r for r in rows if r is not gone]))
    assert _status_of(engine, gone["code"]) == "withdrawn"
    assert _count(engine, select(func.count()).where(UnitRow.code == gone["code"])) == 1


def test_a_withdrawn_cell_that_returns_is_reactivated(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    roster = _roster(tmp_path, seed_config)
    rows = _rows(roster)
    gone = next(r for r in rows if r["type"] == "cell")
    load(engine, seed_config, roster)
    load(engine, seed_config, _write(tmp_path / "r2.csv", [r for r in rows if r is not gone]))
    back = load(engine, seed_config, roster)
    assert back.summary.reactivated == 1
    assert _status_of(engine, gone["code"]) == "active"


def test_every_roster_change_is_in_the_audit_log(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    roster = _roster(tmp_path, seed_config)
    load(engine, seed_config, roster, actor="张科员")
    rows = _rows(roster)
    cells = [r for r in rows if r["type"] == "cell"]
    renamed, gone = cells[0], cells[1]
    renamed["name"] = "改名后的单位"
    load(
        engine,
        seed_config,
        _write(tmp_path / "r2.csv", [r for r in rows if r is not gone]),
        actor="李科员",
    )
    with engine.connect() as conn:
        events = conn.execute(
            select(AuditEventRow.actor, AuditEventRow.action, AuditEventRow.after)
            .where(AuditEventRow.action == "roster.import")
            .order_by(AuditEventRow.id)
        ).all()
    assert [e.actor for e in events] == ["张科员", "李科员"]
    first, second = events[0].after, events[1].after
    assert len(first["added"]) == len(rows)
    assert second["withdrawn"] == [gone["code"]]
    assert second["changed"][renamed["code"]]["name"][1] == "改名后的单位"


def test_a_bad_row_writes_nothing_at_all(engine: Engine, seed_config: Path, tmp_path: Path) -> None:
    rows = _rows(_roster(tmp_path, seed_config))
    rows[5]["mobile"] = "1381234"
    with pytest.raises(InputError) as err:
        load(engine, seed_config, _write(tmp_path / "bad.csv", rows))
    assert any("第 7 行" in p.where for p in err.value.problems)
    ensure_schema(engine)
    # Not even the campaign row: the upsert ran in the same transaction.
    assert _count(engine, select(func.count()).select_from(CampaignRow)) == 0


def test_skip_invalid_loads_the_rest_and_never_withdraws_a_rejected_code(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    roster = _roster(tmp_path, seed_config)
    load(engine, seed_config, roster)
    rows = _rows(roster)
    typo = next(r for r in rows if r["type"] == "cell")
    typo["mobile"] = "12345"
    result = load(engine, seed_config, _write(tmp_path / "typo.csv", rows), skip_invalid=True)
    assert result.roster is not None and result.roster.problems
    assert result.summary.withdrawn == 0
    assert _status_of(engine, typo["code"]) == "active"


def test_a_contact_change_replaces_the_old_contact(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    roster = _roster(tmp_path, seed_config)
    load(engine, seed_config, roster)
    rows = _rows(roster)
    cell = next(r for r in rows if r["type"] == "cell")
    cell["mobile"] = "19912345678"
    load(engine, seed_config, _write(tmp_path / "r2.csv", rows))
    with engine.connect() as conn:
        mobiles = conn.scalars(
            select(ContactRow.mobile)
            .join(UnitRow, UnitRow.id == ContactRow.unit_id)
            .where(UnitRow.code == cell["code"])
        ).all()
    assert mobiles == ["19912345678"]


def test_cells_answer_to_their_domain_lead_and_villages_to_the_coordinator(
    engine: Engine, seed_config: Path, tmp_path: Path
) -> None:
    load(engine, seed_config, _roster(tmp_path, seed_config))
    with engine.connect() as conn:
        pairs = set(
            conn.execute(
                select(UnitRow.kind, UnitRow.category, UnitRow.supervisor_id).where(
                    UnitRow.kind.in_(("cell", "village"))
                )
            ).all()
        )
        ids = dict(conn.execute(select(UnitRow.code, UnitRow.id)).all())
    lead = {"家庭": ids["jdfl"], "企业": ids["ajb"], "小学": ids["jdjb"], "卫生室": ids["xcwsy"]}
    for kind, category, supervisor in pairs:
        if kind == "village":
            assert supervisor == ids["zzw"]
        elif category in lead:
            assert supervisor == lead[category]


def test_cli_roster_synth_then_load_then_units(
    db_url: str, seed_config: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from pingan.cli.app import app

    runner = CliRunner()
    out = tmp_path / "synth.csv"
    synth = runner.invoke(
        app,
        ["roster", "synth", str(seed_config), "--cells", "50", "--seed", "9", "--out", str(out)],
    )
    assert synth.exit_code == 0, synth.output
    assert "50 个创建单位" in synth.output
    upgraded = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert upgraded.exit_code == 0, upgraded.output
    loaded = runner.invoke(app, ["load", str(seed_config), "--roster", str(out), "--db", db_url])
    assert loaded.exit_code == 0, loaded.output
    assert "新增 53" in loaded.output  # 50 cells and 3 villages (the minimum)
    listed = runner.invoke(app, ["units", "xucheng-2017", "--domain", "平安家庭", "--db", db_url])
    assert listed.exit_code == 0 and "创建单位" in listed.output


def test_a_gate_for_some_categories_is_owed_only_by_cells_of_those_categories(
    engine: Engine, tmp_path: Path
) -> None:
    from pingan.adapters.db.campaigns import GateRow

    config = Path(__file__).resolve().parents[2] / "config" / "campaigns" / "binjiang-2025.yaml"
    roster = _roster(tmp_path, config, cells=60)
    load(engine, config, roster)
    owed = select(UnitRow.category).join(ObligationRow, ObligationRow.unit_id == UnitRow.id)
    with engine.connect() as conn:
        drill = set(conn.scalars(owed.join(GateRow).where(GateRow.key == "drill")))
        wanted = {r["category"] for r in _rows(roster)} & {"农贸市场", "A级旅游景区"}
    assert drill == wanted == {"农贸市场", "A级旅游景区"}
