"""The fast reader for one-level multipart mails (mime.split_simple) gives exactly what the
email parser gives, and hands everything else, hostile mails above all, to that parser."""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import Any

import pytest

from pingan.adapters.intake.mail import mime, parse
from pingan.adapters.intake.mail.parse import ParsedMail, Spool, parse_mail
from tests.mail.messages import forwarded, gbk_mail, mail, pdf

SENDER = "unit@school.test"


def _result(m: ParsedMail) -> dict[str, Any]:
    files = [(a.name, a.size, a.sha256, a.data) for a in m.attachments]
    return {
        "key": m.message_key,
        "id": m.message_id,
        "sender": m.sender,
        "subject": m.subject,
        "sent": m.sent_at,
        "headers": m.headers,
        "too_many": m.too_many,
        "files": files,
    }


def _full(raw: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the email parser alone makes of raw."""
    with monkeypatch.context() as m:
        m.setattr(parse, "split_simple", lambda raw: None)
        return _result(parse_mail(raw, Spool(tmp_path, 1 << 30)))


def _fast(raw: bytes, tmp_path: Path) -> dict[str, Any]:
    return _result(parse_mail(raw, Spool(tmp_path, 1 << 30)))


def _raw_mail(parts: list[str], *, boundary: str = "b1", nl: str = "\r\n", head: str = "") -> bytes:
    top = (
        f"From: {SENDER}{nl}Subject: =?UTF-8?B?44CQ6Ieq5p+l5oql5ZGK44CR?={nl}"
        f"Message-ID: <x@unit.example>{nl}{head}"
        f'Content-Type: multipart/mixed; boundary="{boundary}"{nl}{nl}'
    )
    body = "".join(f"--{boundary}{nl}{p}{nl}" for p in parts) + f"--{boundary}--{nl}"
    return (top + body).encode("utf-8", "surrogateescape")


def _b64_part(data: bytes, name: str = "报告.pdf", nl: str = "\r\n") -> str:
    encoded = base64.encodebytes(data).decode().replace("\n", nl)
    return (
        f"Content-Type: application/pdf{nl}Content-Transfer-Encoding: base64{nl}"
        f'Content-Disposition: attachment; filename="{name}"{nl}{nl}{encoded}'
    )


TEXT = "Content-Type: text/plain; charset=utf-8\r\n\r\n材料见附件。"

COMMON = {
    "one pdf": mail(SENDER, "【自查报告】JX-001", [("自查报告.pdf", pdf("a"))]),
    "three files": mail(SENDER, "材料", [(f"{i}.pdf", pdf(str(i)) * 500) for i in range(3)]),
    "gbk and rfc 2231 names": gbk_mail(
        SENDER, "【自查报告】", "自查报告.pdf", "台账.pdf", pdf("g")
    ),
    "bare LF lines": _raw_mail([TEXT.replace("\r\n", "\n"), _b64_part(pdf("n"), nl="\n")], nl="\n"),
    "preamble, epilogue, space after boundary": _raw_mail(
        [TEXT, _b64_part(pdf("p"))], boundary="=_x y'z"
    ).replace(b"\r\n\r\n--=_x", b"\r\n\r\nThis is MIME.\r\n--=_x", 1)
    + b"epilogue\r\n",
    "a part without header": _raw_mail(["\r\njust text", _b64_part(pdf("h"))]),
    "quoted-printable and 7bit files": _raw_mail(
        [
            "Content-Type: application/pdf; name=q.pdf\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n%PDF-1.4=0A%=E4=B8=AD=0A",
            "Content-Type: application/pdf; name=s.pdf\r\n\r\n%PDF-1.4\r\n%%EOF",
        ]
    ),
    "folded and raw 8-bit headers": _raw_mail(
        [_b64_part(pdf("f"))], head="X-Note: one\r\n\ttwo\r\nX-Raw: 中文\r\n"
    ),
    "empty part and empty attachment": _raw_mail(["", _b64_part(b"")]),
}


@pytest.mark.parametrize("name", sorted(COMMON))
def test_common_mails_take_the_fast_path_and_read_as_email_reads_them(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = COMMON[name]
    assert mime.split_simple(raw) is not None
    assert _fast(raw, tmp_path / "f") == _full(raw, tmp_path / "e", monkeypatch)


def _many_parts() -> bytes:
    return _raw_mail([_b64_part(pdf(str(i)), f"{i}.pdf") for i in range(mime.MAX_PARTS + 1)])


HOSTILE = {
    "forwarded (message/rfc822)": forwarded(SENDER, "转发", COMMON["one pdf"]),
    "nested multipart": _raw_mail(
        ['Content-Type: multipart/alternative; boundary="in"\r\n\r\n--in\r\n\r\nx\r\n--in--']
    ),
    "bare CR before a boundary": _raw_mail([TEXT, _b64_part(pdf("r"))]).replace(
        b"\r\n--b1\r\nContent-Type: application", b"\r--b1\r\nContent-Type: application"
    ),
    "no closing boundary": _raw_mail([TEXT, _b64_part(pdf("c"))]).replace(b"--b1--", b"--b1-"),
    "a line that only starts like the boundary": _raw_mail([TEXT + "\r\n--b1x", _b64_part(b"1")]),
    "boundary over 70 characters": _raw_mail([_b64_part(pdf("l"))], boundary="b" * 71),
    "too many parts": _many_parts(),
    "a header line without a colon": _raw_mail([_b64_part(pdf("d"))], head="Broken header\r\n"),
    "a part header that starts folded": _raw_mail(["  folded\r\n" + TEXT, _b64_part(b"2")]),
    "a 'From ' line": b"From someone\r\n" + _raw_mail([_b64_part(pdf("u"))]),
    "multipart/digest": _raw_mail([_b64_part(pdf("g"))]).replace(b"mixed", b"digest"),
    "not multipart": mail(SENDER, "无附件"),
    "truncated mid-part": _raw_mail([TEXT, _b64_part(pdf("t") * 100)])[:700],
    "an empty header block": b"\r\n" + _raw_mail([_b64_part(pdf("e"))]),
    "no body at all": b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=z\r\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_odd_or_hostile_mails_go_to_the_email_parser(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = HOSTILE[name]
    assert mime.split_simple(raw) is None
    assert _fast(raw, tmp_path / "f") == _full(raw, tmp_path / "e", monkeypatch)


_NOISE = [
    b"\r",
    b"\n",
    b"\r\n",
    b"-",
    b"--",
    b"--b1",
    b"\r\n--b1",
    b"--b1--",
    b":",
    b" ",
    b"=",
    b"\t",
]


def test_mangled_mails_read_as_email_reads_them_whichever_path_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random cuts and insertions of line breaks, dashes and boundary pieces: when the fast
    reader still accepts the mail, it must read it exactly as email does."""
    seeds = [COMMON["bare LF lines"], _raw_mail([TEXT, _b64_part(pdf("m")), _b64_part(b"x")])]
    rng = random.Random(15)
    fast = 0
    for n in range(400):
        raw = bytearray(seeds[n % 2])
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(raw))
            if rng.random() < 0.3:
                del raw[at : at + rng.randint(1, 4)]
            else:
                raw[at:at] = rng.choice(_NOISE)
        data = bytes(raw)
        if mime.split_simple(data) is not None:
            fast += 1
        assert _fast(data, tmp_path / f"f{n}") == _full(data, tmp_path / f"e{n}", monkeypatch), n
    assert fast > 50  # the fast path was really exercised


def test_a_subject_with_broken_base64_is_kept_as_sent(tmp_path: Path) -> None:
    raw = _raw_mail([_b64_part(pdf("s"))]).replace(
        b"=?UTF-8?B?44CQ6Ieq5p+l5oql5ZGK44CR?=", b"=?UTF-8?B?4?="
    )
    assert parse_mail(raw, Spool(tmp_path, 1 << 20)).subject == "=?UTF-8?B?4?="
