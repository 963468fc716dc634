"""Issue 17, finding 1: every input bomb — an endless file, a YAML alias bomb, a line of two
million columns, a workbook that unpacks to gigabytes — is refused with a Chinese problem
naming the file, in under 2 s and within 200 MB more than the imports take (enforced by
RLIMIT_AS in a child process), and the CLI says so in one line with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pingan.adapters.intake.collect.manifest import read_manifest
from pingan.core.problems import InputError
from tests.factories import ROOT
from tests.robustness._hostile import CJK

CHILD = "tests.robustness._bounded_child"
SECONDS = 2.0

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "",
    ]
)


def bounded_read(kind: str, path: Path) -> list[str]:
    """What the child reports after reading path as kind; asserts time and clean exit."""
    proc = subprocess.run(
        [sys.executable, "-m", CHILD, kind, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["elapsed"] < SECONDS, report
    problems: list[str] = report["problems"]
    assert problems, report
    assert all(str(path) in p and CJK.search(p) for p in problems), problems
    return problems


def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS, encoding="utf-8")
    assert len(bomb.read_bytes()) < 600
    (problem,) = bounded_read("campaign", bomb)
    assert "别名" in problem


def test_yaml_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.write_text("name: &x [1, *x]\n", encoding="utf-8")
    (problem,) = bounded_read("campaign", loop)
    assert "循环" in problem


def test_endless_campaign_file_is_refused_after_its_cap(tmp_path: Path) -> None:
    endless = tmp_path / "campaign.yaml"
    endless.symlink_to("/dev/zero")
    (problem,) = bounded_read("campaign", endless)
    assert "过大" in problem


def test_cli_validate_refuses_dev_zero_in_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pingan.cli.app", "validate", "/dev/zero"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "/dev/zero" in proc.stderr and "过大" in proc.stderr


@pytest.mark.parametrize("kind", ["roster", "scores"])
def test_csv_line_of_two_million_columns_is_refused(tmp_path: Path, kind: str) -> None:
    sheet = tmp_path / f"{kind}.csv"
    sheet.write_text("code,name,type\n" + "," * 2_000_000 + "\n", encoding="utf-8")
    (problem,) = bounded_read(kind, sheet)
    assert "第 2 行" in problem and "过长" in problem


@pytest.mark.parametrize("kind", ["roster", "scores"])
def test_csv_row_with_too_many_columns_is_refused(tmp_path: Path, kind: str) -> None:
    sheet = tmp_path / f"{kind}.csv"
    sheet.write_text("code,name,type\n" + "x," * 300 + "\n", encoding="utf-8")
    (problem,) = bounded_read(kind, sheet)
    assert "第 2 行" in problem and "列数过多" in problem


@pytest.mark.parametrize("kind", ["roster", "scores"])
def test_csv_that_never_ends_is_refused(tmp_path: Path, kind: str) -> None:
    endless = tmp_path / f"{kind}.csv"
    endless.symlink_to("/dev/zero")
    (problem,) = bounded_read(kind, endless)
    assert "不是普通文件" in problem


@pytest.fixture(scope="module")
def workbook_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real .xlsx whose shared strings unpack to 400 MB (openpyxl loads them whole)."""
    folder = tmp_path_factory.mktemp("bomb")
    plain = folder / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["code", "name", "type"])  # type: ignore[union-attr]
    book.active.append(["A1", "x", "cell"])  # type: ignore[union-attr]
    book.save(plain)
    bomb = folder / "bomb.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                out.writestr(info, src.read(info))
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            strings.write(b"<si><t>")
            block = b"A" * (1 << 20)
            for _ in range(400):
                strings.write(block)
            strings.write(b"</t></si></sst>")
    assert bomb.stat().st_size < 4 * 1024 * 1024
    return bomb


@pytest.mark.parametrize("kind", ["roster", "scores"])
def test_workbook_that_unpacks_to_hundreds_of_megabytes_is_refused(
    workbook_bomb: Path, kind: str
) -> None:
    (problem,) = bounded_read(kind, workbook_bomb)
    assert "压缩" in problem


def test_manifest_line_of_two_million_columns_is_refused_at_once(tmp_path: Path) -> None:
    manifest = tmp_path / "清单.csv"
    manifest.write_text("path,kind,unit\n" + "," * 2_000_000 + "\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        read_manifest(manifest)
    assert time.perf_counter() - started < SECONDS
    (problem,) = caught.value.problems
    assert problem.where == "第 2 行" and "过长" in problem.message
