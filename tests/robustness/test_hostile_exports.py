"""Spreadsheet exports keep outside text as text: a unit, village or rubric named
"=HYPERLINK(…)", "+1", "-1" or "@SUM(…)" never becomes a formula in the operator's
spreadsheet program — every export passes such text through pingan.adapters.render.cells.safe_cell.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pingan.adapters.intake.scores import write_template
from pingan.adapters.render.late_list import late_list_xlsx
from pingan.adapters.render.public_list import PublicListEntry, write_public_list_xlsx
from pingan.core.campaign import Campaign, load_campaign
from pingan.core.scores import CellRef
from tests.robustness._hostile import hostile_settings, nasty_text

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN: Campaign = load_campaign(REPO / "config" / "campaigns" / "xucheng-2017.yaml")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SETTINGS = hostile_settings(30)

formula = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(["=", "+", "-", "@", "\t", "\r", "＝"]),
    st.sampled_from(['HYPERLINK("http://x","点此")', "cmd|' /C calc'!A0", "1+1", "SUM(A1)", ""]),
)
hostile = st.one_of(formula, nasty_text).map(
    # What a spreadsheet can hold at all (openpyxl refuses other control characters).
    lambda s: "".join(ch for ch in s if ch >= " " or ch in "\t\n\r").replace("\ud800", "")
)


def assert_no_formula(data: bytes, *, formula_keys: tuple[str, ...] = ()) -> None:
    """No cell is a formula, except in the columns whose hidden key (row 3 of a score
    template) is one of formula_keys: the template's own 总分 and 是否达标."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    for ws in book.worksheets:
        own = {c.column for c in ws[3] if c.value in formula_keys} if formula_keys else set()
        for row in ws.iter_rows():
            for cell in row:
                where = f"{ws.title}!{cell.coordinate}"
                if cell.column in own and cell.row > 3:
                    continue
                assert cell.data_type != "f", f"{where} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), f"{where}: {cell.value!r}"


@SETTINGS
@given(title=hostile, texts=st.lists(st.tuples(hostile, hostile, hostile, hostile), max_size=4))
@example(title='=HYPERLINK("http://x")', texts=[])  # the title once became a formula
def test_late_list_keeps_hostile_names_as_text(title: str, texts: list[tuple[str, ...]]) -> None:
    items = [
        {
            "domain": d,
            "village": v,
            "unit": u,
            "gate": g,
            "due_on": date(2017, 10, 31),
            "days_overdue": 3,
            "level": 1,
        }
        for d, v, u, g in texts
    ]
    assert_no_formula(late_list_xlsx(title, items))


@SETTINGS
@given(
    names=st.lists(st.tuples(hostile, hostile), min_size=1, max_size=3),
    short_name=hostile,
    criterion=hostile,
)
def test_score_template_keeps_hostile_names_as_text(
    tmp_path_factory: pytest.TempPathFactory,
    names: list[tuple[str, str]],
    short_name: str,
    criterion: str,
) -> None:
    data = CAMPAIGN.model_dump()
    data["short_name"] = short_name.strip() or None
    if criterion.strip():
        data["domains"][0]["rubric"]["criteria"][0]["name"] = criterion
    campaign = Campaign.model_validate(data)
    domain = campaign.domains[0].key
    cells = [
        CellRef(f"C{i:03d}", name or "名", domain, village or None)
        for i, (name, village) in enumerate(names)
    ]
    out = tmp_path_factory.mktemp("template") / "评分表.xlsx"
    template = write_template(campaign, cells, out).read_bytes()
    assert_no_formula(template, formula_keys=("total", "passed"))


@SETTINGS
@given(
    title=hostile,
    rows=st.lists(st.tuples(hostile, hostile, hostile, st.booleans()), min_size=1, max_size=4),
)
def test_public_list_keeps_hostile_names_as_text(
    tmp_path_factory: pytest.TempPathFactory, title: str, rows: list[tuple[str, str, str, bool]]
) -> None:
    entries = [
        PublicListEntry(
            domain="平安校园",
            number=f"〔2017〕第{i:03d}号",
            cell_name=name,
            cell_code=f"C{i:03d}",
            village=village,
            lead_unit=lead,
            issued_on=date(2017, 12, 1),
            revoked=revoked,
            revoked_reason=name if revoked else None,
        )
        for i, (name, village, lead, revoked) in enumerate(rows)
    ]
    out = tmp_path_factory.mktemp("public") / "公示名单.xlsx"
    write_public_list_xlsx(title, entries, out)
    assert_no_formula(out.read_bytes())


# --- every exporter is one of the above -------------------------------------------------

EXPORTS = re.compile(r"\bWorkbook\(|csv\.writer\(|csv\.DictWriter\(")
# Writers of data this program generates itself, which no outsider can name.
SYNTHETIC = {
    "pingan/services/synth.py": "the synthetic roster: every name is drawn from fixed word lists",
    "pingan/demo/sim.py": "the demo's score sheets: codes and numbers only",
}


def test_every_spreadsheet_writer_uses_safe_cell_or_writes_only_its_own_data() -> None:
    writers: dict[str, Any] = {}
    for path in sorted((REPO / "pingan").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if EXPORTS.search(text):
            writers[path.relative_to(REPO).as_posix()] = "safe_cell" in text
    unsafe = {name for name, uses in writers.items() if not uses} - set(SYNTHETIC)
    assert not unsafe, f"spreadsheet writers without safe_cell: {sorted(unsafe)}"
    assert "pingan/adapters/render/late_list.py" in writers  # the scan itself still finds exporters
