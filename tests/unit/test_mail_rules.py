"""Which unit and kind a mail answers, which mails are no submissions, and the mailbox
section of a campaign (pingan.core.mail, rules.mail, parse)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pingan.adapters.intake.mail.parse import Spool, decode_text, parse_mail
from pingan.core.campaign import load_campaign
from pingan.core.mail import is_automatic, kind_aliases, match_mail, read_subject
from pingan.core.problems import InputError
from tests.factories import seed_campaign

REPO = Path(__file__).resolve().parents[2]
ALIASES = kind_aliases(seed_campaign())


@pytest.mark.parametrize(
    ("subject", "kind", "unit"),
    [
        ("【自查报告】JX-001 某某小学", "self_check", "JX-001"),
        ("回复：Re: 【自查报告】 JX-001", "self_check", "JX-001"),
        ("[self-check] JX-001", "self_check", "JX-001"),
        ("【self_check】", "self_check", None),
        ("【本地区、本单位“平安细胞”创建工作方案】SYN-C0000001", "local_plan", "SYN-C0000001"),
        ("自查报告 JX-001", None, None),
    ],
)
def test_subject_names_kind_and_unit(subject: str, kind: str | None, unit: str | None) -> None:
    claim = read_subject(subject, ALIASES)
    assert (claim.kind, claim.unit) == (kind, unit)


def test_subject_unit_wins_over_the_senders_unit() -> None:
    claim = read_subject("【自查报告】B-2 代报", ALIASES)
    assert match_mail(claim, ["A-1"], {}).unit == "B-2"


def test_known_sender_alone_decides_unit_and_its_only_open_kind() -> None:
    match = match_mail(read_subject("材料", ALIASES), ["A-1"], {"A-1": {"self_check"}})
    assert (match.unit, match.kind, match.problem) == ("A-1", "self_check", None)


@pytest.mark.parametrize(
    ("subject", "senders", "owed", "code"),
    [
        ("材料", [], {}, "mail_unknown_sender"),
        ("材料", ["A-1", "B-2"], {}, "mail_ambiguous_sender"),
        ("材料", ["A-1"], {"A-1": {"self_check", "local_plan"}}, "mail_no_kind"),
        ("【年终总结】A-1", ["A-1"], {}, "mail_unknown_kind"),
    ],
)
def test_mails_that_name_no_unit_or_kind_say_why(
    subject: str, senders: list[str], owed: dict[str, set[str]], code: str
) -> None:
    problem = match_mail(read_subject(subject, ALIASES), senders, owed).problem
    assert problem is not None and problem[0] == code and problem[1]


@pytest.mark.parametrize(
    "headers",
    [
        {"auto-submitted": "auto-replied"},
        {"precedence": "bulk"},
        {"x-application": "pingan"},
        {"subject": "回复：【徐城街道平安细胞创建】报送回执：【自查报告】"},
        {"from-address": "ZZZX@mail.test"},
    ],
)
def test_automatic_and_own_mails_are_no_submissions(headers: dict[str, str]) -> None:
    assert is_automatic(headers, ["zzzx@mail.test"])


def test_a_persons_mail_is_a_submission() -> None:
    headers = {"auto-submitted": "no", "subject": "【自查报告】", "from-address": "a@b.cn"}
    assert not is_automatic(headers, ["zzzx@mail.test"])


def test_gb2312_words_are_read_as_gbk_and_raw_8bit_headers_decoded(tmp_path: Path) -> None:
    # 镕 is in GBK but not in GB2312: mail clients label such text gb2312 all the same.
    import base64

    word = "=?gb2312?B?" + base64.b64encode("朱镕基小学".encode("gbk")).decode() + "?="
    assert decode_text(word) == "朱镕基小学"
    raw = b"From: a@b.cn\r\nSubject: \xd7\xd4\xb2\xe9\r\n\r\nbody\r\n"  # GBK 自查, unencoded
    assert parse_mail(raw, Spool(tmp_path, 0)).subject == "自查"


def _campaign_with(tmp_path: Path, section: dict[str, object]) -> Path:
    data = yaml.safe_load((REPO / "config" / "campaigns" / "xucheng-2017.yaml").read_text("utf-8"))
    data["calendar"]["overrides_dir"] = str(REPO / "config" / "calendars")
    data["mail_intake"] = section
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_password_written_into_the_yaml_is_refused_without_being_shown(tmp_path: Path) -> None:
    path = _campaign_with(
        tmp_path, {"host": "imap.163.com", "user": "4810148@163.com", "password": "Abc123授权码"}
    )
    with pytest.raises(InputError) as caught:
        load_campaign(path)
    text = "\n".join(f"{p.where} {p.message}" for p in caught.value.problems)
    assert "mail_intake.password" in text and "Abc123" not in text


def test_a_secret_reference_is_accepted(tmp_path: Path) -> None:
    path = _campaign_with(
        tmp_path,
        {"host": "imap.163.com", "user": "4810148@163.com", "password": "secret:zzzx-mail"},
    )
    section = load_campaign(path).mail_intake
    assert section is not None and (section.security, section.folder) == ("imaps", "INBOX")
