"""`pingan demo --campaign` walks the seed, the district campaign and a county campaign (written
from docs/campaign.md alone) end to end; every text a person reads (messages, bulletins, the
report, the public list, the certificates) speaks in the running organisation's words: only the
seed's outputs say 街道. One demo per campaign, shared by every test of this module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SEED_WORD = "街道"
COUNTY = "tests/fixtures/campaigns/qingshan-2024.yaml"


def _demo(out: Path, campaign: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PINGAN_"))}
    env["PREFECT_HOME"] = str(out.parent / "prefect-home")
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
    args = ["demo", "--campaign", campaign, "--cells", "60", "--seed", "7", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "pingan.cli.app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _texts(out: Path, stdout: str) -> Iterator[tuple[str, str]]:
    """(where, text) for every people-facing text the demo produced."""
    yield "stdout", stdout
    for line in (out / "messages.jsonl").read_text(encoding="utf-8").splitlines():
        m = json.loads(line)
        yield f"message {m['subject']}", json.dumps(m, ensure_ascii=False)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    paths = summary["paths"]
    outputs = Path(paths["certificates"]).parent
    for html in outputs.rglob("*.html"):
        yield html.name, html.read_text(encoding="utf-8")
    for book in outputs.rglob("*.xlsx"):
        for ws in load_workbook(book, read_only=True).worksheets:
            for row in ws.iter_rows(values_only=True):
                yield f"{book.name}/{ws.title}", " ".join(str(v) for v in row if v is not None)
    pdfs = list(outputs.rglob("*.pdf"))
    assert len(pdfs) > 1  # the public list and at least one certificate
    for pdf in pdfs:
        yield pdf.name, "".join(page.extract_text() for page in PdfReader(pdf).pages)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("xucheng-2017", id="xucheng-2017"),
        pytest.param("binjiang-2025", id="binjiang-2025"),
        pytest.param(COUNTY, id="qingshan-2024"),  # a path: campaigns need not live in config/
    ],
)
def walked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    code = Path(request.param).stem
    out = tmp_path_factory.mktemp(code) / "run"
    stdout = _demo(out, request.param)
    return code, list(_texts(out, stdout))


def test_demo_walks_the_campaign_to_its_awards_and_bulletins(walked: tuple) -> None:
    code, texts = walked
    subjects = [where for where, _ in texts if where.startswith("message ")]
    for kind in ("报送提醒", "逾期督办", "督办汇总", "周通报", "命名通知", "命名通报"):
        assert any(kind in s for s in subjects), f"{code}: no {kind}"


def test_only_a_street_campaign_speaks_of_streets(walked: tuple) -> None:
    code, texts = walked
    hits = [(where, text[:120]) for where, text in texts if SEED_WORD in text]
    if code == "xucheng-2017":
        assert hits  # the seed is a 街道's: the search finds its words
    else:
        assert hits == []


def test_district_outputs_use_its_grouping_and_phrases(walked: tuple) -> None:
    code, texts = walked
    if code != "binjiang-2025":
        pytest.skip("the district's phrases")
    joined = "\n".join(t for _, t in texts)
    assert "镇（街）" in joined and "滨江区综治委" in joined and "全区" in joined
    assert "村（社区）" not in joined


def test_county_outputs_use_its_grouping_and_phrases(walked: tuple) -> None:
    code, texts = walked
    if code != "qingshan-2024":
        pytest.skip("the county's phrases")
    joined = "\n".join(t for _, t in texts)
    assert "一、乡镇" in joined  # the 乡镇 owe their own plan: summaries group them as 乡镇
    assert "青山县综治委" in joined and "全县" in joined
    for other in ("村（社区）", "全区", "区直属", "平安细胞"):  # nor the seed's own term
        assert other not in joined
