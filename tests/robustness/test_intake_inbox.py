"""Issue 17, findings 10 and 15 (first item): the inbox reports and quarantines each thing
it will not take, with its reason — unit folders named ``..\\..\\x`` or ``..%2F..``, links
to files or folders outside it, pipes — instead of skipping them silently for ever; an
inbox type that cannot be collected (``zip://``) is refused before anything is recorded;
an unreadable file is one clear line, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from pingan.adapters.intake.collect import PROCESSED_DIR, IntakeRun, collect
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from pingan.core.problems import InputError
from pingan.services.collect import IntakeStores, collect_inbox
from pingan.services.tick import open_campaign
from tests.factories import ROOT, SEED_CODE, load_seed
from tests.robustness._hostile import CJK, hostile_settings

PDF = b"%PDF-1.4\n%%EOF\n"
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Inbox:
    def __init__(self, engine: Engine, cid: int, root: Path, cell: str) -> None:
        self.engine, self.cid, self.root, self.cell = engine, cid, root, cell
        self.n = 0

    def fresh(self) -> Path:
        self.n += 1
        return self.root / f"inbox-{self.n}"

    def collect(self, inbox: Path) -> tuple[int, dict[str, int], list[tuple[str, str, str]]]:
        run = IntakeRun(
            engine=self.engine,
            campaign_id=self.cid,
            tz="Asia/Shanghai",
            received_at=datetime(2017, 6, 1, 10, tzinfo=SHANGHAI),
            evidence=EvidenceStore(self.root / "evidence"),
            quarantine=Quarantine(self.root / "quarantine"),
            max_bytes=1 << 20,
        )
        report = collect(run, str(inbox))
        return report.accepted, report.by_reason, report.rejections

    def notes(self) -> list[str]:
        return [p.read_text(encoding="utf-8") for p in (self.root / "quarantine").rglob("*.txt")]


@pytest.fixture
def inbox(engine: Engine, tmp_path: Path) -> Iterator[Inbox]:
    loaded = load_seed(engine, tmp_path, cells=3)
    with engine.connect() as conn:
        cell = conn.execute(
            text("SELECT min(code) FROM unit WHERE campaign_id = :c AND kind = 'cell'"),
            {"c": loaded.cid},
        ).scalar_one()
    yield Inbox(engine, loaded.cid, tmp_path, cell)


def waiting(inbox: Path) -> list[Path]:
    return [
        p
        for p in inbox.rglob("*")
        if (p.is_file() or p.is_symlink()) and PROCESSED_DIR not in p.relative_to(inbox).parts
    ]


@hostile_settings(20, HealthCheck.function_scoped_fixture)
@given(
    climb=st.sampled_from(["..\\..\\", "..%2F..", "..%2f", "..%5C..%5C", "..", "...\\"]),
    tail=st.text(
        alphabet=st.characters(whitelist_categories=("Lo", "Ll", "Nd")), min_size=1, max_size=8
    ),
    folder_level=st.sampled_from(["kind", "unit"]),
)
def test_climbing_folder_names_are_quarantined_with_their_reason(
    inbox: Inbox, climb: str, tail: str, folder_level: str
) -> None:
    folder = f"{climb}{tail}"
    box = inbox.fresh()
    parts = [folder, inbox.cell] if folder_level == "kind" else ["self_check", folder]
    target = box.joinpath(*parts)
    target.mkdir(parents=True)
    (target / "自查报告.pdf").write_bytes(PDF)

    accepted, by_reason, rejections = inbox.collect(box)

    assert accepted == 0 and by_reason == {"unsafe_folder": 1}
    (_rel, _code, reason), *_ = rejections
    assert "不安全" in reason and CJK.search(reason)
    assert waiting(box) == []


def test_link_to_a_file_outside_is_quarantined_without_being_read(inbox: Inbox) -> None:
    secret = inbox.root / "机密.pdf"
    secret.write_bytes(PDF + b"% secret\n")
    box = inbox.fresh()
    folder = box / "self_check" / inbox.cell
    folder.mkdir(parents=True)
    (folder / "报告.pdf").symlink_to(secret)

    accepted, by_reason, rejections = inbox.collect(box)

    assert accepted == 0 and by_reason == {"symlink": 1}
    assert str(secret) in rejections[0][2]
    assert waiting(box) == []
    assert secret.read_bytes() == PDF + b"% secret\n"  # the target is untouched
    copies = [p for p in (inbox.root / "quarantine").rglob("报告.pdf")]
    assert [p.stat().st_size for p in copies] == [0]  # only the note, never the content
    assert any("原因代码:symlink" in note for note in inbox.notes())


def test_linked_folder_is_quarantined_and_not_walked(inbox: Inbox) -> None:
    elsewhere = inbox.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.pdf").write_bytes(PDF)
    box = inbox.fresh()
    (box / "self_check").mkdir(parents=True)
    (box / "self_check" / inbox.cell).symlink_to(elsewhere, target_is_directory=True)

    accepted, by_reason, _ = inbox.collect(box)

    assert accepted == 0 and by_reason == {"symlink": 1}
    assert waiting(box) == [] and (elsewhere / "a.pdf").read_bytes() == PDF


def test_pipe_in_the_inbox_is_quarantined_without_blocking(inbox: Inbox) -> None:
    box = inbox.fresh()
    folder = box / "self_check" / inbox.cell
    folder.mkdir(parents=True)
    os.mkfifo(folder / "报告.pdf")

    accepted, by_reason, _ = inbox.collect(box)

    assert accepted == 0 and by_reason == {"special_file": 1}
    assert waiting(box) == []


def test_zip_inbox_is_refused_before_anything_is_recorded(inbox: Inbox) -> None:
    archive = inbox.root / "inbox.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"self_check/{inbox.cell}/自查报告.pdf", PDF)
        zf.writestr(f"self_check/{inbox.cell}/附件.pdf", PDF + b"% 2\n")
    stores = IntakeStores(inbox.root / "evidence", inbox.root / "quarantine", 1 << 20)
    handle = open_campaign(inbox.engine, SEED_CODE)

    for _ in range(2):  # and again on a re-run
        with pytest.raises(InputError) as caught:
            url = f"zip://::{archive}"
            collect_inbox(inbox.engine, handle, url, stores, as_of=date(2017, 6, 1))
        (problem,) = caught.value.problems
        assert "zip://" in problem.message and CJK.search(problem.message)
    with inbox.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM submission")).scalar_one() == 0


# --- unreadable files: one clear line from the CLI -----------------------------------------

# Root reads any file: the command then runs without the two capabilities that let it.
SETPRIV = shutil.which("setpriv")
WITHOUT_DAC = [SETPRIV or "setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_unreadable_inbox_file_is_one_clear_line_not_a_traceback(
    engine: Engine, tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("one backend is enough: the file system is what is tested")
    if os.geteuid() == 0 and SETPRIV is None:
        pytest.skip("running as root without setpriv (util-linux): root reads every file")
    db = tmp_path / "pingan.db"
    cell = load_seed_file(db, tmp_path)
    folder = tmp_path / "inbox" / "self_check" / cell
    folder.mkdir(parents=True)
    (folder / "可读.pdf").write_bytes(PDF)
    (folder / "不可读.pdf").write_bytes(PDF + b"% locked\n")
    (folder / "不可读.pdf").chmod(0o000)
    env = {
        **os.environ,
        "COLUMNS": "250",
        "PINGAN_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "PINGAN_QUARANTINE_DIR": str(tmp_path / "quarantine"),
    }
    command = [sys.executable, "-m", "pingan.cli.app", "collect", SEED_CODE]
    command += ["--inbox", str(tmp_path / "inbox"), "--as-of", "2017-06-01"]
    command += ["--db", f"sqlite:///{db}"]
    proc = subprocess.run(
        (WITHOUT_DAC if os.geteuid() == 0 else []) + command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-3000:]
    assert proc.returncode == 0, output[-3000:]
    assert "合格 1 份" in proc.stdout
    (line,) = [ln for ln in proc.stderr.splitlines() if "不可读.pdf" in ln]
    assert "无法读取" in line
    assert (folder / "不可读.pdf").exists()


def load_seed_file(db: Path, folder: Path) -> str:
    from pingan.adapters.db.session import make_engine

    engine = make_engine(f"sqlite:///{db}")
    try:
        loaded = load_seed(engine, folder, cells=3)
        with engine.connect() as conn:
            return str(
                conn.execute(
                    text("SELECT min(code) FROM unit WHERE campaign_id = :c AND kind = 'cell'"),
                    {"c": loaded.cid},
                ).scalar_one()
            )
    finally:
        engine.dispose()
