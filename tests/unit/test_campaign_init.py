"""`pingan campaign init`: a skeleton `validate` accepts, a roster template that matches it,
and no file overwritten without --force."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pingan.adapters.intake.roster.columns import LABELS
from pingan.cli.campaign import register
from pingan.core.campaign import load_campaign

FLAGS = [
    "--code",
    "jiangcheng-2025",
    "--organisation",
    "江城县",
    "--level",
    "县",
    "--domains",
    "平安市场=县市场监管局，平安工地=县住建局、平安景区=县市场监管局",
    "--starts-on",
    "2025-04-01",
    "--ends-on",
    "2025-11-30",
    "--pass-rate",
    "0.85",
]


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    register(app)
    return app


def _init(cli: typer.Typer, target: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["campaign", "init", str(target), *FLAGS, *extra])
    return result.exit_code, result.output


def test_init_writes_a_campaign_validate_accepts(cli: typer.Typer, tmp_path: Path) -> None:
    code, output = _init(cli, tmp_path / "jc.yaml")
    assert code == 0, output
    c = load_campaign(tmp_path / "jc.yaml")
    assert [d.name for d in c.domains] == ["平安市场", "平安工地", "平安景区"]
    assert c.wording.whole == "全县" and c.targets.pass_rate == 0.85
    assert [u.name for u in c.units] == ["县市场监管局", "县住建局"]  # one unit per lead


def test_init_roster_template_has_chinese_headers_and_the_campaigns_domains(
    cli: typer.Typer, tmp_path: Path
) -> None:
    _init(cli, tmp_path / "jc.yaml")
    with (tmp_path / "jc-roster.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == LABELS
    c = load_campaign(tmp_path / "jc.yaml")
    cells = [r for r in rows[1:] if r[2] == "创建单位"]
    assert {r[3] for r in cells} == {d.key for d in c.domains}
    assert all(r[5] in c.domain(r[3]).cell_categories for r in cells)


def test_init_refuses_to_overwrite_without_force(cli: typer.Typer, tmp_path: Path) -> None:
    target = tmp_path / "jc.yaml"
    target.write_text("# 已有的配置\n", encoding="utf-8")
    code, output = _init(cli, target)
    assert code == 2 and "文件已存在，未覆盖（确需覆盖请加 --force）" in output
    assert target.read_text(encoding="utf-8") == "# 已有的配置\n"
    assert not (tmp_path / "jc-roster.csv").exists()
    assert _init(cli, target, "--force")[0] == 0
    assert load_campaign(target).code == "jiangcheng-2025"


def test_init_explains_a_malformed_domain_list_and_writes_nothing(
    cli: typer.Typer, tmp_path: Path
) -> None:
    flags = [*FLAGS[:6], "--domains", "平安市场", *FLAGS[8:]]
    result = CliRunner().invoke(cli, ["campaign", "init", str(tmp_path / "jc.yaml"), *flags])
    assert result.exit_code == 2
    assert "应写作“领域名称=牵头单位”" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_init_ceremony_example_is_valid_once_uncommented(cli: typer.Typer, tmp_path: Path) -> None:
    _init(cli, tmp_path / "jc.yaml")
    text = (tmp_path / "jc.yaml").read_text(encoding="utf-8")
    example = text.split("ceremonies: []         # 如 - ", 1)[1].splitlines()[0]
    target = tmp_path / "with-ceremony.yaml"
    target.write_text(text.replace("ceremonies: []", f"ceremonies:\n    - {example}\n  #"), "utf-8")
    (held,) = load_campaign(target).award.ceremonies
    assert held.held_on.isoformat() == "2025-11-30"  # the campaign's year, not another's
