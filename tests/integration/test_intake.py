"""Submission intake against a real database: inbox and manifest, rejections, crash safety."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import fsspec
import pytest
from sqlalchemy import Engine, text

from pingan.adapters.intake.collect import (
    PROCESSED_DIR,
    IntakeReport,
    IntakeRun,
    batch,
    collect,
    collect_manifest,
    writing,
)
from pingan.adapters.intake.store import EvidenceStore, Quarantine
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
# self-check: opens 2017-05-16, due 2017-10-31; domain-plan and local-plan: 05-01 to 05-15.
IN_SELF_CHECK = datetime(2017, 6, 1, 10, 0, tzinfo=SHANGHAI)
AFTER_SELF_CHECK = datetime(2017, 11, 3, 10, 0, tzinfo=SHANGHAI)
BEFORE_SELF_CHECK = datetime(2017, 5, 10, 10, 0, tzinfo=SHANGHAI)
MAX_BYTES = 1024 * 1024


def pdf(text_: str) -> bytes:
    return b"%PDF-1.4\n%" + text_.encode() + b"\n%%EOF\n"


@dataclass
class Setup:
    engine: Engine
    campaign_id: int
    root: Path
    seed_config: Path
    roster: Path
    inbox: Path
    evidence: EvidenceStore
    quarantine: Quarantine

    def cell(self, domain: str = "campus") -> str:
        return str(
            self.scalar(
                "SELECT u.code FROM unit u JOIN domain d ON d.id = u.domain_id "
                "WHERE u.campaign_id = :c AND u.kind = 'cell' AND d.key = :d ORDER BY u.code",
                d=domain,
            )
        )

    def drop(self, rel: str, data: bytes) -> Path:
        path = self.inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def collect(self, *, at: datetime = IN_SELF_CHECK, **kwargs: Any) -> IntakeReport:
        inbox = str(kwargs.pop("inbox", self.inbox))
        return collect(self.run(at=at, **kwargs), inbox)

    def run(self, *, at: datetime = IN_SELF_CHECK, **kwargs: Any) -> IntakeRun:
        options: dict[str, Any] = {"max_bytes": MAX_BYTES, **kwargs}
        return IntakeRun(
            engine=self.engine,
            campaign_id=self.campaign_id,
            tz=TZ,
            received_at=at,
            evidence=self.evidence,
            quarantine=self.quarantine,
            **options,
        )

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), {"c": self.campaign_id, **params}).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), {"c": self.campaign_id, **params}))

    def inbox_files(self) -> list[Path]:
        """Files still waiting; handled ones are kept under .processed/, outside the queue."""
        return sorted(
            p
            for p in self.inbox.rglob("*")
            if p.is_file() and PROCESSED_DIR not in p.relative_to(self.inbox).parts
        )

    def processed_files(self) -> list[Path]:
        return sorted(p for p in (self.inbox / PROCESSED_DIR).rglob("*") if p.is_file())

    def reason_notes(self) -> list[str]:
        return [p.read_text("utf-8") for p in sorted(self.quarantine.root.rglob("*.reason.txt"))]


@pytest.fixture
def env(engine: Engine, seed_config: Path, tmp_path: Path) -> Setup:
    roster = tmp_path / "r.csv"
    write_roster(load_campaign(seed_config), 40, 1, roster)
    result = load(engine, seed_config, roster)
    return Setup(
        engine,
        result.summary.campaign_id,
        tmp_path,
        seed_config,
        roster,
        tmp_path / "inbox",
        EvidenceStore(tmp_path / "evidence"),
        Quarantine(tmp_path / "quarantine"),
    )


def file_rows(env: Setup) -> int:
    return int(env.scalar("SELECT count(*) FROM submission_file"))


def submission_rows(env: Setup) -> int:
    return int(env.scalar("SELECT count(*) FROM submission"))


def assert_rejected(env: Setup, report: IntakeReport, code: str) -> None:
    assert (report.accepted, report.rejected, report.by_reason) == (0, 1, {code: 1})
    assert [r[1] for r in report.rejections] == [code]
    notes = env.reason_notes()
    assert len(notes) == 1
    assert f"原因代码:{code}" in notes[0]
    assert env.inbox_files() == []
    assert file_rows(env) == 0


# --- accepted ---------------------------------------------------------------------------


def test_handled_file_is_kept_under_processed_with_the_day_and_its_path(env: Setup) -> None:
    cell = env.cell()
    env.drop(f"self_check/{cell}/自查报告.pdf", pdf("自查报告"))
    env.collect()
    [kept] = env.processed_files()
    assert kept.relative_to(env.inbox).parts == (
        PROCESSED_DIR,
        "20170601",
        "self_check",
        cell,
        "自查报告.pdf",
    )
    assert kept.read_bytes() == pdf("自查报告")


def test_accepted_file_is_recorded_stored_and_cleared_from_the_inbox(env: Setup) -> None:
    cell = env.cell()
    data = pdf("自查报告")
    env.drop(f"self_check/{cell}/2017/自查报告.pdf", data)

    report = env.collect()

    assert (report.accepted, report.duplicates, report.rejected, report.late) == (1, 0, 0, 0)
    assert report.submissions == 1
    sha = hashlib.sha256(data).hexdigest()
    [(received_at, received_on, late, source)] = env.rows(
        "SELECT received_at, received_on, late, source FROM submission"
    )
    assert str(received_at).startswith("2017-06-01 02:00:00")  # naive UTC
    assert str(received_on) == "2017-06-01"
    assert not late and source == "inbox"
    [(file_sha, size, original_name, media_type)] = env.rows(
        "SELECT sha256, size, original_name, media_type FROM submission_file"
    )
    assert (file_sha, size, original_name, media_type) == (
        sha,
        len(data),
        "2017/自查报告.pdf",
        "pdf",
    )
    done_on = env.scalar(
        "SELECT o.done_on FROM obligation o JOIN unit u ON u.id = o.unit_id "
        "JOIN gate g ON g.id = o.gate_id WHERE u.code = :u AND g.key = 'self-check'",
        u=cell,
    )
    assert str(done_on) == "2017-06-01"
    assert env.evidence.path_for(sha).read_bytes() == data
    assert env.inbox_files() == []


def test_submission_after_the_due_date_is_marked_late(env: Setup) -> None:
    env.drop(f"self_check/{env.cell()}/自查报告.pdf", pdf("迟交"))

    report = env.collect(at=AFTER_SELF_CHECK)

    assert (report.accepted, report.late) == (1, 1)
    assert env.scalar("SELECT late FROM submission") in (True, 1)


def test_uploaders_temp_files_are_left_alone(env: Setup) -> None:
    cell = env.cell()
    for name in (".~lock.报告.docx#", "~$报告.docx", "报告.pdf.part", "上传中.tmp"):
        env.drop(f"self_check/{cell}/{name}", b"still being written")

    report = env.collect()

    assert (report.accepted, report.rejected, report.skipped) == (0, 0, 4)
    assert len(env.inbox_files()) == 4


def test_progress_is_reported_after_each_batch(env: Setup) -> None:
    cell = env.cell()
    for i in range(5):
        env.drop(f"self_check/{cell}/报告{i}.pdf", pdf(f"第{i}份"))
    calls: list[tuple[int, int]] = []

    report = env.collect(batch_size=2, progress=lambda done, total: calls.append((done, total)))

    assert report.accepted == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]


# --- rejections -------------------------------------------------------------------------


def test_file_outside_kind_and_unit_folders_is_rejected_as_bad_layout(env: Setup) -> None:
    env.drop("self_check/自查报告.pdf", pdf("放错位置"))
    assert_rejected(env, env.collect(), "bad_layout")


def test_file_named_with_a_control_character_is_rejected_as_unsafe_name(env: Setup) -> None:
    env.drop(f"self_check/{env.cell()}/报告\x07.pdf", pdf("控制字符"))
    assert_rejected(env, env.collect(), "unsafe_name")


def test_file_for_an_assessment_gate_is_rejected_as_unknown_kind(env: Setup) -> None:
    env.drop(f"assessment/{env.cell()}/考核.pdf", pdf("考核不收文件"))
    assert_rejected(env, env.collect(), "unknown_kind")


def test_file_for_a_unit_not_on_the_roster_is_rejected_as_unknown_unit(env: Setup) -> None:
    env.drop("self_check/SYN-C9999999/自查报告.pdf", pdf("无此单位"))
    assert_rejected(env, env.collect(), "unknown_unit")


def test_file_from_a_withdrawn_unit_is_rejected_as_withdrawn_unit(env: Setup) -> None:
    cell = env.cell()
    lines = env.roster.read_text("utf-8").splitlines(keepends=True)
    smaller = env.root / "r2.csv"
    smaller.write_text("".join(ln for ln in lines if not ln.startswith(cell + ",")), "utf-8")
    load(env.engine, env.seed_config, smaller)
    env.drop(f"self_check/{cell}/自查报告.pdf", pdf("已退出"))

    assert_rejected(env, env.collect(), "withdrawn_unit")


def test_file_for_a_gate_the_unit_does_not_owe_is_rejected_as_not_owed(env: Setup) -> None:
    family = env.cell("family")  # families send no local plan
    env.drop(f"local_plan/{family}/方案.pdf", pdf("家庭方案"))

    report = env.collect(at=datetime(2017, 5, 10, 10, 0, tzinfo=SHANGHAI))

    assert_rejected(env, report, "not_owed")
    assert report.rejections[0][2].startswith(f"单位 {family} 无需报送「")


def test_file_before_its_gate_opens_is_rejected_as_gate_not_open(env: Setup) -> None:
    env.drop(f"self_check/{env.cell()}/自查报告.pdf", pdf("太早"))

    report = env.collect(at=BEFORE_SELF_CHECK)

    assert_rejected(env, report, "gate_not_open")
    assert "2017年5月16日" in report.rejections[0][2]


def test_empty_file_is_rejected_as_empty(env: Setup) -> None:
    env.drop(f"self_check/{env.cell()}/自查报告.pdf", b"")
    assert_rejected(env, env.collect(), "empty")


def test_program_renamed_to_pdf_is_rejected_as_bad_type(env: Setup) -> None:
    env.drop(f"self_check/{env.cell()}/自查报告.pdf", b"MZ\x90\x00" + b"\x00" * 60)
    assert_rejected(env, env.collect(), "bad_type")


def test_file_over_the_size_limit_is_rejected_as_too_large(env: Setup) -> None:
    env.drop(f"self_check/{env.cell()}/自查报告.pdf", pdf("大" * 100))
    assert_rejected(env, env.collect(max_bytes=64), "too_large")


# --- duplicates and crashes -------------------------------------------------------------


def test_same_content_twice_in_one_run_is_one_file_row(env: Setup) -> None:
    cell = env.cell()
    env.drop(f"self_check/{cell}/报告.pdf", pdf("同一份"))
    env.drop(f"self_check/{cell}/报告-副本.pdf", pdf("同一份"))

    report = env.collect()

    assert (report.accepted, report.duplicates, report.submissions) == (1, 1, 1)
    assert file_rows(env) == 1
    assert env.inbox_files() == []


def test_same_content_in_a_second_run_is_a_duplicate_without_a_new_submission(env: Setup) -> None:
    cell = env.cell()
    env.drop(f"self_check/{cell}/报告.pdf", pdf("再次报送"))
    env.collect()
    env.drop(f"self_check/{cell}/报告.pdf", pdf("再次报送"))

    report = env.collect()

    assert (report.accepted, report.duplicates, report.submissions) == (0, 1, 0)
    assert (file_rows(env), submission_rows(env)) == (1, 1)
    assert env.inbox_files() == []


def test_crash_after_copy_before_commit_loses_and_duplicates_nothing(
    env: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pdf("提交前中断")
    env.drop(f"self_check/{env.cell()}/报告.pdf", data)

    def crash(*_: object) -> None:
        raise RuntimeError("killed before commit")

    with monkeypatch.context() as m:
        m.setattr(writing, "_write_batch", crash)
        with pytest.raises(RuntimeError):
            env.collect()
    assert env.evidence.has(hashlib.sha256(data).hexdigest())
    assert file_rows(env) == 0
    assert len(env.inbox_files()) == 1

    report = env.collect()

    assert (report.accepted, report.duplicates) == (1, 0)
    assert (file_rows(env), submission_rows(env)) == (1, 1)
    assert env.inbox_files() == []


def test_crash_after_commit_before_removal_loses_and_duplicates_nothing(
    env: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.drop(f"self_check/{env.cell()}/报告.pdf", pdf("提交后中断"))

    def crash(*_: object) -> None:
        raise RuntimeError("killed before removal")

    with monkeypatch.context() as m:
        m.setattr(batch, "_remove_delivered", crash)
        with pytest.raises(RuntimeError):
            env.collect()
    assert (file_rows(env), submission_rows(env)) == (1, 1)
    assert len(env.inbox_files()) == 1

    report = env.collect()

    assert (report.accepted, report.duplicates, report.submissions) == (0, 1, 0)
    assert (file_rows(env), submission_rows(env)) == (1, 1)
    assert env.inbox_files() == []


def test_copies_of_a_file_that_could_not_be_stored_stay_in_the_inbox(
    env: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    cell = env.cell()
    env.drop(f"self_check/{cell}/报告.pdf", pdf("仍在写入"))
    env.drop(f"self_check/{cell}/报告-副本.pdf", pdf("仍在写入"))
    # As when the sender is still writing: the digest no longer matches at copy time.
    monkeypatch.setattr(batch, "_store", lambda run, accepted: False)

    report = env.collect()

    assert (report.accepted, report.duplicates, report.skipped) == (0, 0, 2)
    assert (file_rows(env), submission_rows(env)) == (0, 0)
    assert len(env.inbox_files()) == 2


# --- other sources ----------------------------------------------------------------------


def test_fsspec_memory_inbox_is_collected_and_cleared(env: Setup) -> None:
    fs = fsspec.filesystem("memory")
    root = f"/inbox-{uuid.uuid4().hex}"
    data = pdf("内存收件箱")
    fs.pipe(f"{root}/self_check/{env.cell()}/报告.pdf", data)
    try:
        report = env.collect(inbox=f"memory://{root}")

        assert (report.accepted, report.rejected) == (1, 0)
        assert env.evidence.has(hashlib.sha256(data).hexdigest())
        assert fs.find(root) == []
    finally:
        if fs.exists(root):
            fs.rm(root, recursive=True)


def test_manifest_records_good_rows_rejects_bad_ones_and_keeps_the_files(env: Setup) -> None:
    cell, other = env.cell(), env.cell("hospital")
    drop = env.root / "drop"
    (drop / "批量").mkdir(parents=True)
    (drop / "批量" / "a.pdf").write_bytes(pdf("清单一"))
    (drop / "批量" / "b.pdf").write_bytes(pdf("清单二"))
    (env.root / "outside.pdf").write_bytes(pdf("目录外"))
    manifest = drop / "manifest.csv"
    manifest.write_text(
        "path,kind,unit,submitted_by,note\n"
        f"批量/a.pdf,self_check,{cell},张三,纸质件扫描\n"  # row 2
        f"批量/b.pdf,self_check,\n"  # row 3: unit missing
        f"../outside.pdf,self_check,{cell},,\n"  # row 4: escapes the folder
        f"批量/缺失.pdf,self_check,{cell},,\n"  # row 5: no such file
        f"批量/b.pdf,self_check,{other},,\n",  # row 6
        encoding="utf-8-sig",
    )
    report = collect_manifest(env.run(), manifest)

    assert (report.accepted, report.rejected, report.by_reason) == (2, 3, {"manifest_row": 3})
    assert [r[2].split(":")[0] for r in report.rejections] == [
        "报送清单第 3 行有误",
        "报送清单第 4 行有误",
        "报送清单第 5 行有误",
    ]
    assert env.rows(
        "SELECT s.source, s.submitted_by, s.note, f.original_name FROM submission s "
        "JOIN submission_file f ON f.submission_id = s.id ORDER BY f.original_name"
    ) == [("manifest", "张三", "纸质件扫描", "批量/a.pdf"), ("manifest", None, None, "批量/b.pdf")]
    assert (drop / "批量" / "a.pdf").exists() and (drop / "批量" / "b.pdf").exists()
    assert env.reason_notes() == []

    again = collect_manifest(env.run(), manifest)

    assert (again.accepted, again.duplicates, again.submissions) == (0, 2, 0)
    assert file_rows(env) == 2
