"""Mail intake against a real Dovecot (IMAPS, self-signed certificate) and a real database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from pingan.adapters.intake.mail import MailReport
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign import load_campaign
from pingan.core.problems import InputError
from pingan.services.collect import IntakeStores
from pingan.services.load import load
from pingan.services.mail import collect_mailbox
from pingan.services.synth import write_roster
from pingan.services.tick import open_campaign
from tests.mail.conftest import SECRET_REF, mail_campaign
from tests.mail.dovecot import PASSWORD, USER, Dovecot
from tests.mail.messages import forwarded, gbk_mail, mail, pdf

IN_SELF_CHECK = date(2017, 6, 1)


@dataclass
class MailEnv:
    engine: Engine
    server: Dovecot
    config: Path
    stores: IntakeStores

    def collect(self, as_of: date = IN_SELF_CHECK) -> MailReport:
        handle = open_campaign(self.engine, "xucheng-2017")
        resolver = MappingSecretResolver({SECRET_REF: PASSWORD})
        return collect_mailbox(self.engine, handle, self.stores, resolver, as_of=as_of)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def cell(self, n: int = 0) -> str:
        codes = [r[0] for r in self.rows("SELECT code FROM unit WHERE kind = 'cell' ORDER BY code")]
        return str(codes[n])

    def done(self, code: str, gate: str = "self-check") -> str | None:
        """The day the unit's obligation was done, as YYYY-MM-DD (or None)."""
        value = self.rows(
            "SELECT o.done_on FROM obligation o JOIN unit u ON u.id = o.unit_id "
            "JOIN gate g ON g.id = o.gate_id WHERE u.code = :u AND g.key = :g",
            u=code,
            g=gate,
        )[0][0]
        return None if value is None else str(value)[:10]

    def items(self) -> list[Any]:
        return self.rows(
            "SELECT name, state, reason_code, reason, unit_code, receipt FROM mail_item ORDER BY id"
        )

    def receipts(self) -> list[Any]:
        return self.rows(
            "SELECT n.subject, n.body, d.channel, d.address FROM notification n "
            "JOIN delivery d ON d.notification_id = n.id WHERE n.kind = 'mail_receipt' "
            "ORDER BY n.id"
        )

    def quarantine_notes(self) -> list[str]:
        return [
            p.read_text("utf-8") for p in sorted(self.stores.quarantine_dir.rglob("*.reason.txt"))
        ]


@pytest.fixture
def menv(engine: Engine, dovecot: Dovecot, tmp_path: Path) -> MailEnv:
    config = mail_campaign(tmp_path, dovecot)
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(config), 20, 1, roster)
    load(engine, config, roster)
    stores = IntakeStores(tmp_path / "evidence", tmp_path / "quarantine", 20 * 1024 * 1024)
    return MailEnv(engine, dovecot, config, stores)


def contact(code: str) -> str:
    return f"{code.lower()}@example.com"


def test_mail_from_a_roster_contact_is_recorded_answered_and_flagged(menv: MailEnv) -> None:
    cell = menv.cell()
    menv.server.append(mail(contact(cell), "【自查报告】", [("自查报告.pdf", pdf("a"))]))

    report = menv.collect()

    assert (report.mails, report.files.accepted, report.receipts) == (1, 1, 1)
    assert menv.done(cell) == IN_SELF_CHECK.isoformat()
    [(name, state, _, _, unit, receipt)] = menv.items()
    assert (name, state, unit) == ("自查报告.pdf", "accepted", cell)
    [(subject, body, channel, address)] = menv.receipts()
    assert "报送回执" in subject and (channel, address) == ("email", contact(cell))
    assert receipt and f"回执号 {receipt}" in body and "已受理" in body
    assert all("$PinganDone" in f for f in menv.server.flags().values())
    assert "name=pingan" in menv.server.log()  # IMAP ID, without which 163 refuses SELECT


def test_subject_unit_code_wins_over_a_known_sender(menv: MailEnv) -> None:
    sender_cell, named_cell = menv.cell(0), menv.cell(1)
    menv.server.append(
        mail(contact(sender_cell), f"【自查报告】{named_cell} 代报", [("r.pdf", pdf("b"))])
    )

    menv.collect()

    assert menv.done(named_cell) == IN_SELF_CHECK.isoformat()
    assert menv.done(sender_cell) is None


def test_gbk_and_utf8_subjects_and_file_names_are_decoded(menv: MailEnv) -> None:
    cell = menv.cell()
    menv.server.append(
        gbk_mail(
            contact(cell),
            f"【自查报告】{cell} 某某小学",
            "自查报告（修订）.pdf",
            "整改清单.pdf",
            pdf("c"),
        )
    )

    report = menv.collect()

    assert report.files.accepted == 2
    assert sorted(r[0] for r in menv.items()) == ["整改清单.pdf", "自查报告（修订）.pdf"]
    stored = menv.rows("SELECT original_name FROM submission_file ORDER BY original_name")
    assert [r[0] for r in stored] == ["整改清单.pdf", "自查报告（修订）.pdf"]


def test_attachments_of_forwarded_mails_are_taken_in(menv: MailEnv) -> None:
    cell = menv.cell()
    inner = mail("someone@elsewhere.example", "原邮件", [("转来的自查报告.pdf", pdf("d"))])
    twice = forwarded("other@elsewhere.example", "Fwd: 原邮件", inner)
    menv.server.append(forwarded(contact(cell), f"转发：【自查报告】{cell}", twice))

    report = menv.collect()

    assert report.files.accepted == 1
    assert [r[:2] for r in menv.items()] == [("转来的自查报告.pdf", "accepted")]


def test_hostile_mails_are_quarantined_with_reasons_and_their_senders_told(
    menv: MailEnv,
) -> None:
    cell = menv.cell()
    exe = b"MZ\x90\x00" + b"\x00" * 200
    menv.server.append(mail(contact(cell), "【自查报告】", [("报告.pdf", exe)]))
    menv.server.append(mail(contact(menv.cell(1)), "【自查报告】", [("空.pdf", b"")]))
    big = b"%PDF-1.4\n" + b"0" * (60 * 1024 * 1024)
    menv.server.append(mail(contact(menv.cell(2)), "【自查报告】", [("大.pdf", big)]))
    del big
    menv.server.append(mail("stranger@elsewhere.example", "材料", [("x.pdf", pdf("e"))]))
    menv.server.append(mail(contact(menv.cell(3)), "【自查报告】", []))

    report = menv.collect()

    assert report.files.accepted == 0
    states = {(r[1], r[2]) for r in menv.items()}
    assert states == {
        ("rejected", "bad_type"),
        ("rejected", "empty"),
        ("refused", "mail_too_large"),
        ("rejected", "mail_unknown_sender"),
        ("refused", "mail_no_attachment"),
    }
    notes = "\n".join(menv.quarantine_notes())
    for code in (
        "bad_type",
        "empty",
        "mail_too_large",
        "mail_unknown_sender",
        "mail_no_attachment",
    ):
        assert f"原因代码:{code}" in notes
    bodies = {address: body for _, body, _, address in menv.receipts()}
    assert len(bodies) == 5 and all("未受理" in b for b in bodies.values())
    assert "名册中登记" in bodies["stranger@elsewhere.example"]
    assert all(menv.done(menv.cell(i)) is None for i in range(4))


def test_automatic_own_and_pre_campaign_mails_are_ignored_without_reply(menv: MailEnv) -> None:
    cell = menv.cell()
    menv.server.append(
        mail(
            contact(cell),
            "自动回复：【自查报告】",
            [("a.pdf", pdf("f"))],
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    menv.server.append(mail(USER, "【报送回执】测试", [("b.pdf", pdf("g"))]))
    menv.server.append(
        mail(contact(cell), "【自查报告】", [("c.pdf", pdf("h"))]),
        when=datetime(2017, 4, 20, 9, 0, tzinfo=UTC),
    )

    report = menv.collect()

    assert (report.ignored, report.files.accepted, report.receipts) == (3, 0, 0)
    assert {r[1] for r in menv.items()} == {"ignored"}
    assert all("$PinganIgnored" in f for f in menv.server.flags().values())
    assert menv.done(cell) is None


def test_a_second_run_takes_nothing_twice(menv: MailEnv) -> None:
    menv.server.append(mail(contact(menv.cell()), "【自查报告】", [("r.pdf", pdf("i"))]))
    menv.collect()

    again = menv.collect()

    assert (again.mails, again.files.accepted) == (0, 0)
    assert len(menv.receipts()) == 1


def test_a_starttls_mailbox_is_read_the_same_way(
    engine: Engine, dovecot: Dovecot, tmp_path: Path
) -> None:
    config = mail_campaign(tmp_path, dovecot, port=dovecot.imap_port, security="starttls")
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(config), 20, 1, roster)
    load(engine, config, roster)
    stores = IntakeStores(tmp_path / "evidence", tmp_path / "quarantine", 20 * 1024 * 1024)
    menv = MailEnv(engine, dovecot, config, stores)
    menv.server.append(mail(contact(menv.cell()), "【自查报告】", [("r.pdf", pdf("s"))]))

    assert menv.collect().files.accepted == 1


def test_a_wrong_password_is_a_chinese_input_error_without_the_password(menv: MailEnv) -> None:
    handle = open_campaign(menv.engine, "xucheng-2017")
    resolver = MappingSecretResolver({SECRET_REF: "wrong-pass-xyz"})
    with pytest.raises(InputError) as caught:
        collect_mailbox(menv.engine, handle, menv.stores, resolver)
    text = str([p.message for p in caught.value.problems])
    assert "登录失败" in text and "wrong" not in text


def _cli(db_url: str, *args: str) -> Any:
    from typer.testing import CliRunner

    from pingan.cli.app import app

    return CliRunner().invoke(app, ["collect", "xucheng-2017", *args, "--db", db_url])


def test_pingan_collect_mail_reads_the_mailbox(
    menv: MailEnv, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pingan import root

    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_SECRET_TEST_MAIL", PASSWORD)
    root.reset()
    menv.server.append(mail(contact(menv.cell()), "【自查报告】", [("r.pdf", pdf("cli"))]))
    try:
        result = _cli(db_url, "--mail", "--as-of", "2017-06-01")
        missing = _cli(db_url)
    finally:
        root.reset()

    assert result.exit_code == 0, result.output
    assert "读取 1 封" in result.output and "合格 1 份" in result.output
    assert menv.done(menv.cell()) == IN_SELF_CHECK.isoformat()
    assert missing.exit_code == 2 and "--mail" in missing.output
