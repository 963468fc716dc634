"""`pingan campaign init` at its edges, found by the suite's no-traceback check: a target
that is a folder (or ".") and a date option that does not exist end with one Chinese
problem naming the option or path, exit code 2 and nothing written — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pingan.cli.app import app

ANSWERS = [
    "--code",
    "bj-2024",
    "--organisation",
    "滨江区",
    "--level",
    "区",
    "--domains",
    "平安市场=区市场监管局",
    "--starts-on",
    "2024-03-01",
    "--ends-on",
    "2024-12-31",
]


def init(*args: str) -> Result:
    return CliRunner().invoke(app, ["campaign", "init", *args], env={"COLUMNS": "250"})


@pytest.mark.parametrize("target", [".", "folder", "folder/.."])
def test_a_folder_as_the_target_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()

    result = init(target, *ANSWERS, "--force")

    assert result.exit_code == 2, result.output
    assert "不能是文件夹" in result.output and target in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    assert list((tmp_path / "folder").iterdir()) == []


@pytest.mark.parametrize("target", ["a-file/x.yaml", "a-file/sub/x.yaml"])
def test_a_target_under_a_file_is_named_with_a_chinese_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")

    result = init(target, *ANSWERS)

    assert result.exit_code == 2
    assert (
        f"{target}: 无法写入：路径中有一段不是文件夹" in result.output
        and ".tmp" not in result.output
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("option", ["--starts-on", "--ends-on"])
def test_a_date_that_does_not_exist_names_its_own_option(tmp_path: Path, option: str) -> None:
    result = init(str(tmp_path / "x.yaml"), *ANSWERS, option, "2024-02-30")

    assert result.exit_code == 2
    assert f"参数: {option}: " in result.output and "--as-of" not in result.output
    assert list(tmp_path.iterdir()) == []
