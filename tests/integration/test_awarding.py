"""Acceptance results, sign-off, awards, revocation and verification on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pingan import root
from pingan.adapters.db.assessments import AwardRow
from pingan.adapters.db.audit import AuditEventRow
from pingan.adapters.db.messages import RenderedMessage, render_notifications
from pingan.adapters.db.notifications import NotificationRow
from pingan.core.acceptance import SignOff, SignOffRequest
from pingan.core.problems import InputError
from pingan.root import Settings
from pingan.services import acceptance
from pingan.services import award as awarding
from pingan.services.documents import write_documents
from tests.awarding_helpers import cells_by_domain, score_cells
from tests.factories import Loaded, load_seed

AS_OF = date(2017, 11, 19)


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Loaded:
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_AWARD_SECRET", "test-award-key")
    from pingan import root

    root.reset()
    return load_seed(engine, tmp_path, cells=40)


def _approve(loaded: Loaded, **kw: object) -> SignOff:
    args: dict[str, object] = {
        "approver": "王主任",
        "approved": True,
        "comment": "同意",
        "exclusions": {},
    }
    args.update(kw)
    request = SignOffRequest(**args)  # type: ignore[arg-type]
    return acceptance.sign_off(loaded.engine, loaded.handle, request, actor="test", source="test")


def _grant(loaded: Loaded) -> awarding.AwardRun:
    key = root.container().award_key()
    return awarding.grant(loaded.engine, loaded.handle, key=key, as_of=AS_OF, actor="test")


def _cell_notices(loaded: Loaded) -> list[RenderedMessage]:
    """The awarded cells' notices as their first delivery renders them (a lead unit's list
    is rendered when planned)."""
    with Session(loaded.engine) as session:
        ids = session.scalars(
            select(NotificationRow.id).where(
                NotificationRow.kind == "award", NotificationRow.subject.is_(None)
            )
        ).all()
        campaign = loaded.handle.campaign
        return render_notifications(
            session, campaign, loaded.cid, ids, AS_OF, portal=root.settings()
        )


def _count(engine: Engine, stmt: object) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)  # type: ignore[call-overload]


def test_results_count_passed_failed_and_vetoed_per_domain(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(
        seeded.engine,
        seeded.handle,
        {campus[0]: "pass", campus[1]: "fail", campus[2]: "veto"},
    )
    res = acceptance.results(seeded.engine, seeded.handle, AS_OF)
    d = next(d for d in res.domains if d.key == "campus")
    assert (d.assessed, d.passed, d.failed, d.vetoed) == (3, 1, 2, 1)
    reasons = {f.code: f.reasons for f in res.failed}
    assert any(r.startswith("一票否决") for r in reasons[campus[2]])
    assert any("低于达标分" in r for r in reasons[campus[1]])


def test_nothing_is_awarded_before_sign_off(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass"})
    with pytest.raises(InputError, match="尚未经综治委签批"):
        _grant(seeded)
    assert _count(seeded.engine, select(func.count()).select_from(AwardRow)) == 0


def test_a_rejected_sign_off_blocks_awards(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass"})
    _approve(seeded, approved=False, comment="请复查")
    with pytest.raises(InputError, match="退回"):
        _grant(seeded)


def test_a_rejection_without_a_comment_is_refused(seeded: Loaded) -> None:
    with pytest.raises(InputError, match="退回时须填写意见"):
        _approve(seeded, approved=False, comment="")


def test_sign_off_is_audited(seeded: Loaded) -> None:
    s = _approve(seeded)
    with seeded.engine.connect() as conn:
        row = conn.execute(
            select(AuditEventRow.actor, AuditEventRow.after).where(
                AuditEventRow.action == "acceptance.signoff"
            )
        ).one()
    assert row.actor == "test" and row.after["approver"] == s.approver


def test_only_passed_signed_off_cells_are_awarded(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "fail"})
    _approve(seeded)
    run = _grant(seeded)
    assert len(run.new_award_ids) == 1
    [a] = awarding.listing(seeded.engine, seeded.handle)
    assert a.cell_code == campus[0]
    assert a.number == "徐城平安校园〔2017〕第001号"


def test_excluded_cells_are_not_awarded(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "pass"})
    _approve(seeded, exclusions={campus[1]: "群众反映问题待核实"})
    run = _grant(seeded)
    assert run.excluded == 1
    assert [a.cell_code for a in awarding.listing(seeded.engine, seeded.handle)] == [campus[0]]


def test_an_exclusion_of_a_cell_that_did_not_pass_is_refused(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "fail"})
    with pytest.raises(InputError, match="不是考核达标"):
        _approve(seeded, exclusions={campus[0]: "x"})


def test_a_cell_reassessed_after_sign_off_waits_for_the_next_sign_off(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "fail"})
    _approve(seeded)
    score_cells(seeded.engine, seeded.handle, {campus[1]: "pass"}, on=date(2017, 11, 17))
    run = _grant(seeded)
    assert (len(run.new_award_ids), run.waiting) == (1, 1)
    _approve(seeded)
    again = _grant(seeded)
    assert len(again.new_award_ids) == 1
    numbers = [a.number for a in awarding.listing(seeded.engine, seeded.handle)]
    assert numbers == ["徐城平安校园〔2017〕第001号", "徐城平安校园〔2017〕第002号"]


def test_rerunning_the_award_changes_no_number_and_awards_nobody_twice(seeded: Loaded) -> None:
    by = cells_by_domain(seeded.engine, seeded.handle)
    score_cells(seeded.engine, seeded.handle, {c: "pass" for c in by["campus"] + by["family"]})
    _approve(seeded)
    _grant(seeded)
    before = [
        (a.cell_code, a.number, a.verification_code)
        for a in awarding.listing(seeded.engine, seeded.handle)
    ]
    run = _grant(seeded)
    after = [
        (a.cell_code, a.number, a.verification_code)
        for a in awarding.listing(seeded.engine, seeded.handle)
    ]
    assert run.new_award_ids == [] and before == after
    assert len({n for _, n, _ in after}) == len(after)


def test_numbering_is_per_domain(seeded: Loaded) -> None:
    by = cells_by_domain(seeded.engine, seeded.handle)
    score_cells(seeded.engine, seeded.handle, {by["campus"][0]: "pass", by["family"][0]: "pass"})
    _approve(seeded)
    _grant(seeded)
    numbers = sorted(a.number for a in awarding.listing(seeded.engine, seeded.handle))
    assert numbers == ["徐城平安家庭〔2017〕第001号", "徐城平安校园〔2017〕第001号"]


def test_awarded_cells_and_their_lead_unit_are_notified_once(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "pass"})
    _approve(seeded)
    run = _grant(seeded)
    assert run.notices == 3  # two cells, one lead-unit list
    q = select(NotificationRow.subject, NotificationRow.level).where(
        NotificationRow.kind == "award"
    )
    with seeded.engine.connect() as conn:
        rows = conn.execute(q).all()
    assert len(rows) == 3
    assert [r.level for r in rows if r.subject and "命名通报" in r.subject] == [1]
    assert sorted("命名通知" in m.subject for m in _cell_notices(seeded)) == [True, True]
    _grant(seeded)
    assert _count(seeded.engine, select(func.count()).select_from(q.subquery())) == 3


def test_revocation_needs_a_reason(seeded: Loaded) -> None:
    with pytest.raises(InputError, match="须说明理由"):
        awarding.revoke(seeded.engine, seeded.handle, target="x", reason=" ", actor="test")


def test_revocation_is_audited_and_keeps_the_number_unused(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "pass"})
    _approve(seeded)
    _grant(seeded)
    first = awarding.listing(seeded.engine, seeded.handle)[0]
    revoked = awarding.revoke(
        seeded.engine, seeded.handle, target=first.number, reason="发生重大事故", actor="test"
    )
    assert revoked.revoked_reason == "发生重大事故"
    with seeded.engine.connect() as conn:
        audit = conn.execute(
            select(AuditEventRow.after).where(AuditEventRow.action == "award.revoke")
        ).scalar_one()
    assert audit["number"] == first.number
    score_cells(seeded.engine, seeded.handle, {campus[2]: "pass"}, on=date(2017, 11, 17))
    _approve(seeded)
    _grant(seeded)
    seqs = sorted(a.seq for a in awarding.listing(seeded.engine, seeded.handle))
    assert seqs == [1, 2, 3]  # the revoked 001 is not handed to anybody else


def test_revoking_twice_is_refused(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass"})
    _approve(seeded)
    _grant(seeded)
    awarding.revoke(seeded.engine, seeded.handle, target=campus[0], reason="事故", actor="t")
    with pytest.raises(InputError, match="已于"):
        awarding.revoke(seeded.engine, seeded.handle, target=campus[0], reason="事故", actor="t")


def test_a_genuine_certificate_verifies_and_a_forged_one_does_not(seeded: Loaded) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass"})
    _approve(seeded)
    _grant(seeded)
    [a] = awarding.listing(seeded.engine, seeded.handle)
    assert awarding.verify(seeded.engine, seeded.handle, a.number, a.verification_code).valid
    forged = awarding.verify(seeded.engine, seeded.handle, a.number, "AAAA-AAAA")
    assert not forged.valid and "伪造" in forged.message
    awarding.revoke(seeded.engine, seeded.handle, target=a.number, reason="事故", actor="t")
    after = awarding.verify(seeded.engine, seeded.handle, a.number, a.verification_code)
    assert not after.valid and "撤销" in after.message


def test_without_a_configured_secret_a_key_file_is_created_once(tmp_path: Path) -> None:
    c = root.build(Settings(home=tmp_path))
    first = c.award_key()
    assert c.award_key() == first and len(first) == 64
    assert (tmp_path / "award.key").stat().st_mode & 0o077 == 0


def test_documents_hold_one_certificate_per_award_and_the_public_list(
    seeded: Loaded, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "pass"})
    _approve(seeded)
    run = _grant(seeded)
    docs = write_documents(
        seeded.engine, seeded.handle, award_ids=run.new_award_ids, out_dir=tmp_path / "out"
    )
    assert docs.certificates == 2
    assert len(list((docs.certificates_dir / "campus").glob("*.pdf"))) == 2
    text = "".join(p.extract_text() for p in PdfReader(docs.public_list_pdf).pages)
    assert "徐城平安校园〔2017〕第002号" in text


def test_revocation_moves_the_certificate_aside_and_lists_the_reason(
    seeded: Loaded, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "pass"})
    _approve(seeded)
    run = _grant(seeded)
    out = tmp_path / "out"
    write_documents(seeded.engine, seeded.handle, award_ids=run.new_award_ids, out_dir=out)
    awarding.revoke(
        seeded.engine, seeded.handle, target=campus[0], reason="发生重大事故", actor="t"
    )
    docs = write_documents(seeded.engine, seeded.handle, award_ids=[], out_dir=out)
    assert len(list((docs.certificates_dir / "campus").glob("*.pdf"))) == 1
    assert len(list((docs.certificates_dir / "revoked").glob("*.pdf"))) == 1
    text = "".join(p.extract_text() for p in PdfReader(docs.public_list_pdf).pages)
    assert "已撤销命名" in text and "发生重大事故" in text


def test_award_notice_carries_the_cells_portal_link_when_configured(
    seeded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan import root

    monkeypatch.setenv("PINGAN_PORTAL_BASE_URL", "https://pa.example.cn")
    monkeypatch.setenv("PINGAN_PORTAL_SECRET", "s" * 40)
    root.reset()
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass"})
    _approve(seeded)
    _grant(seeded)
    [notice] = _cell_notices(seeded)
    root.reset()
    body = notice.body
    assert "https://pa.example.cn/u/" in body


def test_certificate_generation_reports_progress_to_the_end(seeded: Loaded, tmp_path: Path) -> None:
    campus = cells_by_domain(seeded.engine, seeded.handle)["campus"]
    score_cells(seeded.engine, seeded.handle, {campus[0]: "pass", campus[1]: "pass"})
    _approve(seeded)
    run = _grant(seeded)
    calls: list[tuple[int, int]] = []
    write_documents(
        seeded.engine,
        seeded.handle,
        award_ids=run.new_award_ids,
        out_dir=tmp_path / "out",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 2) and calls[-1] == (2, 2)
