"""Issue 17, finding 9: a file is judged by all of its content, not its first bytes.

A content/extension mismatch (a PNG named .pdf, a PDF/HTML polyglot named .html) and an
unsafe ZIP-based file (a bomb, zip-slip names, a program inside, a macro in a .docx or a
.doc) are refused with their reason, and an inbox quarantines them with a reason note,
all from the central directory alone: nothing is extracted."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from pingan.adapters.intake.checks import inspect_file
from pingan.adapters.intake.checks.names import is_windows_device_name
from pingan.adapters.intake.collect import IntakeRun, collect
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from tests.factories import load_seed
from tests.robustness._hostile import CJK, hostile_settings
from tests.unit.test_intake_checks import cfb_bytes, docx_bytes, png_bytes

MIB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
POLYGLOT = PDF + b"<html><body><script>alert(document.cookie)</script></body></html>\n"

# Letters and digits only, never a Windows device name ("COM1" is refused for its name,
# before its content is looked at).
stems = st.text(
    alphabet=st.characters(whitelist_categories=("Lo", "Ll", "Lu", "Nd")), min_size=1, max_size=20
).filter(lambda stem: not is_windows_device_name(stem))


def verdict(data: bytes, name: str) -> tuple[str | None, str]:
    v = inspect_file(lambda: io.BytesIO(data), name, 64 * MIB)
    assert v.ok == (v.reason_code is None)
    return v.reason_code, v.reason or ""


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- content against extension ------------------------------------------------------------


@hostile_settings(30)
@given(stem=stems, ext=st.sampled_from([".pdf", ".doc", ".docx", ".xls", ".zip", ".ofd"]))
def test_png_under_another_type_s_extension_is_refused(stem: str, ext: str) -> None:
    code, reason = verdict(png_bytes(), f"{stem}{ext}")
    assert code == "type_mismatch"
    assert ext in reason and "PNG" in reason and CJK.search(reason)


@hostile_settings(30)
@given(stem=stems, ext=st.sampled_from([".html", ".htm", ".svg", ".txt", ".js"]))
def test_pdf_html_polyglot_named_as_a_page_is_refused(stem: str, ext: str) -> None:
    code, reason = verdict(POLYGLOT, f"{stem}{ext}")
    assert code == "type_mismatch"
    assert ext in reason and "PDF" in reason


# --- what a ZIP holds ---------------------------------------------------------------------


def test_zip_bomb_is_refused_from_its_directory() -> None:
    bomb = zip_of({"报告.pdf": b"\0" * (64 * MIB)})
    assert len(bomb) < MIB
    code, reason = verdict(bomb, "材料.zip")
    assert code == "unsafe_archive" and "压缩" in reason


def test_zip_with_too_many_entries_is_refused() -> None:
    many = zip_of({f"{i}.txt": b"" for i in range(12_000)})
    code, reason = verdict(many, "材料.zip")
    assert code == "unsafe_archive" and "条目过多" in reason


@hostile_settings(30)
@given(
    escape=st.sampled_from(["../", "../../", "/", "C:", "a/../../", "..\\", "a\\..\\..\\"]),
    stem=stems,
)
def test_zip_slip_names_are_refused(escape: str, stem: str) -> None:
    code, reason = verdict(zip_of({"自查报告.pdf": PDF, f"{escape}{stem}.pdf": PDF}), "材料.zip")
    assert code == "unsafe_archive" and "包外" in reason


@hostile_settings(30)
@given(stem=stems, ext=st.sampled_from([".exe", ".bat", ".scr", ".js", ".vbs", ".lnk", ".EXE"]))
def test_program_inside_a_zip_is_refused(stem: str, ext: str) -> None:
    code, reason = verdict(zip_of({"自查报告.pdf": PDF, f"附件/{stem}{ext}": b"MZ"}), "材料.zip")
    assert code == "unsafe_archive" and "可执行" in reason


def test_macro_enabled_docx_is_refused() -> None:
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as plain:
        members = {name: plain.read(name) for name in plain.namelist()}
    macro = zip_of({**members, "word/vbaProject.bin": b"\xd0\xcf\x11\xe0"})
    code, reason = verdict(macro, "自查报告.docx")
    assert code == "macro_document" and "宏" in reason


def test_word_97_document_with_macros_is_refused() -> None:
    doc = cfb_bytes(["WordDocument", "1Table"], {"Macros": ["PROJECT"]})
    code, reason = verdict(doc, "自查报告.doc")
    assert code == "macro_document" and "宏" in reason


# --- an inbox quarantines each with its reason -------------------------------------------


@pytest.fixture
def inbox_run(engine: Engine, tmp_path: Path) -> Iterator[tuple[IntakeRun, Path, str]]:
    loaded = load_seed(engine, tmp_path, cells=3)
    with engine.connect() as conn:
        cell = conn.execute(
            text("SELECT min(code) FROM unit WHERE campaign_id = :c AND kind = 'cell'"),
            {"c": loaded.cid},
        ).scalar_one()
    run = IntakeRun(
        engine=engine,
        campaign_id=loaded.cid,
        tz="Asia/Shanghai",
        received_at=datetime(2017, 6, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")),
        evidence=EvidenceStore(tmp_path / "evidence"),
        quarantine=Quarantine(tmp_path / "quarantine"),
        max_bytes=64 * MIB,
    )
    yield run, tmp_path, cell


def test_inbox_quarantines_mismatched_and_unsafe_files_with_their_reasons(
    inbox_run: tuple[IntakeRun, Path, str],
) -> None:
    run, root, cell = inbox_run
    folder = root / "inbox" / "self_check" / cell
    folder.mkdir(parents=True)
    (folder / "照片.pdf").write_bytes(png_bytes())
    (folder / "页面.html").write_bytes(POLYGLOT)
    (folder / "炸弹.zip").write_bytes(zip_of({"a.pdf": b"\0" * (16 * MIB)}))
    (folder / "程序.zip").write_bytes(zip_of({"setup.exe": b"MZ"}))

    report = collect(run, str(root / "inbox"))

    assert report.accepted == 0 and report.rejected == 4
    assert report.by_reason == {"type_mismatch": 2, "unsafe_archive": 2}
    notes = sorted((root / "quarantine").rglob("*.reason.txt"))
    assert len(notes) == 4
    texts = [n.read_text(encoding="utf-8") for n in notes]
    codes = sorted(t.split("原因代码:")[1].split("\n")[0] for t in texts)
    assert codes == ["type_mismatch", "type_mismatch", "unsafe_archive", "unsafe_archive"]
    assert not any(folder.iterdir())
