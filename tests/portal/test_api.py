"""The portal over HTTP (FastAPI's test client) against SQLite and PostgreSQL: the page, a
successful upload, and every refusal — each audited, none showing a unit's data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from pingan.core.links import fingerprint
from pingan.portal.ratelimit import Rate
from pingan.services.links import revoke_links
from tests.factories import SEED_CODE, Loaded
from tests.portal.conftest import (
    IN_SELF_CHECK,
    MAX_BYTES,
    SHANGHAI,
    Clock,
    Portal,
    make_portal,
    pdf,
)

SECURITY = {
    "content-security-policy": "default-src 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def unit_name(p: Portal, code: str) -> str:
    return str(p.seed.scalar("SELECT name FROM unit WHERE campaign_id = :c AND code = :k", k=code))


def status_json(db_url: str, as_of: str) -> dict[str, Any]:
    from pingan.cli.app import app

    result = CliRunner().invoke(
        app, ["status", SEED_CODE, "--as-of", as_of, "--json", "--db", db_url]
    )
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def assert_refused_without_data(
    response: httpx.Response, p: Portal, code: str, status: int
) -> None:
    assert response.status_code == status
    text = response.text
    assert unit_name(p, code) not in text
    assert code not in text
    assert "<form" not in text


# --- the page -------------------------------------------------------------------------


def test_page_shows_the_unit_its_due_items_and_an_upload_form_for_open_gates(
    portal: Portal,
) -> None:
    code = portal.cell()

    page = portal.client.get(portal.url(code))

    assert page.status_code == 200
    assert unit_name(portal, code) in page.text
    assert "自查报告（查漏补缺情况）" in page.text
    assert "2017年10月31日" in page.text
    assert 'class="card item blue"' in page.text  # open: blue
    assert 'name="gate" value="self-check"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert '<meta name="viewport"' in page.text


def test_page_shows_nothing_of_other_units(portal: Portal) -> None:
    mine, other = portal.cell(0), portal.cell(1)
    portal.upload(portal.url(other), pdf("别人的报告"), name="别人的报告.pdf")

    page = portal.client.get(portal.url(mine))

    assert unit_name(portal, other) not in page.text
    assert "别人的报告.pdf" not in page.text


def test_every_response_carries_the_security_headers(portal: Portal) -> None:
    code = portal.cell()
    responses = [
        portal.client.get(portal.url(code)),
        portal.client.get(portal.url(code) + "x"),
        portal.client.get("/static/portal.css"),
        portal.client.get("/no/such/page"),
        portal.client.get("/"),
    ]
    for response in responses:
        for name, value in SECURITY.items():
            assert value in response.headers[name], (response.url, name)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../pingan.db",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/",
        "/u/",
        "/u/../../etc/passwd",
        "/evidence",
        "/docs",
        "/openapi.json",
    ],
)
def test_no_url_reaches_the_file_system_or_lists_anything(portal: Portal, path: str) -> None:
    response = portal.client.get(path)

    assert response.status_code == 404
    assert "root:" not in response.text
    assert "SQLite" not in response.text


# --- a successful upload --------------------------------------------------------------


def test_upload_is_recorded_with_a_receipt_and_changes_the_status(
    portal: Portal, db_url: str
) -> None:
    code = portal.cell()
    before = status_json(db_url, "2017-06-01")

    response = portal.upload(portal.url(code), pdf(), submitted_by="张 三")

    assert response.status_code == 200
    assert "报送成功" in response.text
    receipt = response.text.split("回执号 <strong>")[1].split("</strong>")[0]
    assert receipt.startswith("20170601-") and len(receipt) == 17
    [row] = portal.files(code)
    assert (row.original_name, row.source, bool(row.late), row.submitted_by) == (
        "自查报告.pdf",
        "portal",
        False,
        "张 三",
    )
    assert (portal.root / "evidence" / row.sha256[:2] / row.sha256).is_file()
    after = status_json(db_url, "2017-06-01")
    assert after["obligations"]["done"] == before["obligations"]["done"] + 1
    assert after["overall"]["covered"] == before["overall"]["covered"] + 1
    [event] = portal.audit("portal.upload")
    assert (event["entity_id"], event["state"], event["receipt"]) == (code, "accepted", receipt)
    assert portal.spool_left() == []


def test_the_page_then_lists_the_received_file_with_its_receipt(portal: Portal) -> None:
    code = portal.cell()
    receipt_page = portal.upload(portal.url(code), pdf())
    receipt = receipt_page.text.split("回执号 <strong>")[1].split("</strong>")[0]

    page = portal.client.get(portal.url(code))

    assert "自查报告.pdf" in page.text
    assert receipt in page.text
    assert 'class="card item green"' in page.text
    assert "补充上传" in page.text


def test_the_same_file_twice_is_one_record_with_the_same_receipt(portal: Portal) -> None:
    code = portal.cell()
    first = portal.upload(portal.url(code), pdf())

    second = portal.upload(portal.url(code), pdf(), name="再传一次.pdf")

    assert second.status_code == 200
    assert "此文件此前已收到" in second.text
    number = first.text.split("回执号 <strong>")[1].split("</strong>")[0]
    assert f"回执号 <strong>{number}</strong>" in second.text
    assert len(portal.files(code)) == 1
    assert [e["state"] for e in portal.audit("portal.upload")] == ["accepted", "duplicate"]


def test_an_upload_after_the_due_date_is_marked_late(seeded: Loaded, tmp_path: Path) -> None:
    p = make_portal(seeded, tmp_path, Clock(datetime(2017, 11, 3, 9, 0, tzinfo=SHANGHAI)))
    code = p.cell()

    response = p.upload(p.url(code), pdf())

    assert response.status_code == 200
    assert "记为逾期报送" in response.text
    assert [bool(r.late) for r in p.files(code)] == [True]


# --- refusals -------------------------------------------------------------------------


def test_a_tampered_token_is_refused_with_403_and_no_data(portal: Portal) -> None:
    code = portal.cell()
    token = portal.token(code)
    forged = portal.token(portal.cell(1)).split(".")[0] + "." + token.split(".")[1]

    for bad in (forged, token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", "abc"):
        response = portal.client.get(f"/u/{bad}")
        assert_refused_without_data(response, portal, code, 403)
        assert "链接无效" in response.text
    events = portal.audit("portal.refuse")
    assert [e["reason"] for e in events] == ["token_invalid"] * 4
    assert all(e["entity_id"] is None and e["campaign_id"] is None for e in events)


def test_a_token_signed_with_another_secret_is_refused_with_403(portal: Portal) -> None:
    code = portal.cell()

    response = portal.client.get(portal.url(code, secret="a-rotated-away-secret-0123456789abcdef"))

    assert_refused_without_data(response, portal, code, 403)


def test_an_expired_token_is_refused_with_410_and_no_data(portal: Portal) -> None:
    code = portal.cell()
    url = portal.url(code, expires=IN_SELF_CHECK - timedelta(seconds=1))

    page = portal.client.get(url)
    upload = portal.upload(url, pdf())

    for response in (page, upload):
        assert_refused_without_data(response, portal, code, 410)
        assert "链接已过期" in response.text
    assert portal.files(code) == []
    events = portal.audit("portal.refuse")
    assert [(e["reason"], e["entity_id"]) for e in events] == [("token_expired", code)] * 2


def test_a_revoked_token_is_refused_with_410_and_the_new_one_works(portal: Portal) -> None:
    code = portal.cell()
    old = portal.url(code)
    assert portal.client.get(old).status_code == 200

    revoke_links(portal.engine, portal.seed.cid, [code], actor="管理员", now=IN_SELF_CHECK)

    refused = portal.client.get(old)
    assert_refused_without_data(refused, portal, code, 410)
    assert "链接已作废" in refused.text
    assert portal.upload(old, pdf()).status_code == 410
    assert portal.files(code) == []
    assert portal.client.get(portal.url(code, version=2)).status_code == 200
    assert [e["reason"] for e in portal.audit("portal.refuse")] == ["token_revoked"] * 2


def test_a_withdrawn_unit_is_refused_with_410(portal: Portal) -> None:
    code = portal.cell()
    portal.seed.execute(
        "UPDATE unit SET status = 'withdrawn' WHERE campaign_id = :c AND code = :k",
        {"c": portal.seed.cid, "k": code},
    )

    response = portal.client.get(portal.url(code))

    assert_refused_without_data(response, portal, code, 410)
    assert portal.audit("portal.refuse")[0]["reason"] == "unit_withdrawn"


def test_a_file_over_the_limit_is_refused_with_413_before_it_is_read(portal: Portal) -> None:
    code = portal.cell()

    response = portal.upload(portal.url(code), b"%PDF-1.4\n" + b"0" * (MAX_BYTES + 70_000))

    assert response.status_code == 413
    assert "文件超过大小上限" in response.text
    assert portal.files(code) == []
    assert portal.spool_left() == []
    [event] = portal.audit("portal.refuse")
    assert (event["reason"], event["status"]) == ("too_large", 413)
    assert "declared" in event  # refused on Content-Length, unread


def test_a_file_over_the_limit_without_a_length_is_cut_off_while_streaming(
    portal: Portal,
) -> None:
    code = portal.cell()
    boundary = "pinganboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="gate"\r\n\r\nself-check\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(8):
            yield b"0" * (64 * 1024)  # 512 KiB of file: twice the limit
        yield f"\r\n--{boundary}--\r\n".encode()

    response = portal.client.post(
        portal.url(code),
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 413
    assert portal.files(code) == []
    assert portal.spool_left() == []
    [event] = portal.audit("portal.refuse")
    assert event["reason"] == "too_large" and "received" in event


def test_a_file_whose_content_is_not_an_allowed_type_is_refused_with_415(
    portal: Portal,
) -> None:
    code = portal.cell()

    response = portal.upload(portal.url(code), b"MZ\x90\x00 not really a pdf", name="报告.pdf")

    assert response.status_code == 415
    assert "文件类型不在允许范围内" in response.text
    assert "按内容识别为:未知" in response.text
    assert portal.files(code) == []
    assert list((portal.root / "quarantine").rglob("*.reason.txt"))  # as the inbox does
    assert portal.audit("portal.refuse")[0]["reason"] == "bad_type"
    assert portal.spool_left() == []


def test_an_empty_file_and_an_unsafe_name_are_refused_with_422(portal: Portal) -> None:
    code = portal.cell()

    empty = portal.upload(portal.url(code), b"", name="空.pdf")
    unsafe = portal.upload(portal.url(code), pdf(), name="CON.pdf")

    assert (empty.status_code, unsafe.status_code) == (422, 422)
    assert "文件为空" in empty.text
    assert "保留名称" in unsafe.text
    assert [e["reason"] for e in portal.audit("portal.refuse")] == ["empty", "unsafe_name"]


def test_a_gate_not_yet_open_offers_no_form_and_refuses_uploads_with_409(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(datetime(2017, 5, 10, 10, 0, tzinfo=SHANGHAI)))
    code = p.cell()

    page = p.client.get(p.url(code))
    response = p.upload(p.url(code), pdf())

    assert 'value="self-check"' not in page.text
    assert "2017年5月16日起可报送" in page.text
    assert response.status_code == 409
    assert "该项材料自 2017年5月16日 起方可报送" in response.text
    assert p.files(code) == []
    assert p.audit("portal.refuse")[0]["reason"] == "gate_not_open"


def test_a_gate_the_unit_does_not_owe_cannot_be_reached_by_editing_the_form(
    portal: Portal,
) -> None:
    code = portal.cell()  # a school: the domain plan is owed by the lead unit only
    lead_files_before = portal.files("jdjb")

    for gate in ("domain-plan", "assessment", "no-such-gate"):
        response = portal.upload(portal.url(code), pdf(gate), gate=gate)
        assert response.status_code in (400, 404), gate

    assert portal.files(code) == []
    assert portal.files("jdjb") == lead_files_before
    assert int(portal.seed.scalar("SELECT count(*) FROM submission_file")) == 0


def test_a_request_that_is_not_the_upload_form_is_refused_with_400(portal: Portal) -> None:
    url = portal.url(portal.cell())

    plain = portal.client.post(
        url, content=b"gate=self-check", headers={"Content-Type": "text/plain"}
    )
    no_file = portal.client.post(url, data={"gate": "self-check"}, files={"x": ("", b"")})

    assert plain.status_code == 400
    assert no_file.status_code == 400
    assert [e["reason"] for e in portal.audit("portal.refuse")] == ["bad_form", "no_file"]


def test_too_many_requests_for_one_link_are_refused_with_429_and_audited_once(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), token_rate=Rate(60, 3))
    code = p.cell()
    url = p.url(code)

    statuses = [p.client.get(url).status_code for _ in range(6)]
    other = p.client.get(p.url(p.cell(1)))
    upload = p.upload(url, pdf())
    p.clock.mono += 2  # two tokens come back at one a second
    later = p.client.get(url)

    assert statuses == [200, 200, 200, 429, 429, 429]
    assert other.status_code == 200
    assert upload.status_code == 429 and upload.headers["retry-after"] == "1"
    assert "操作过于频繁" in upload.text
    assert later.status_code == 200
    assert p.files(code) == []
    [event] = p.audit("portal.refuse")
    assert (event["reason"], event["limit"], event["status"]) == ("rate_limited", "token", 429)


def test_too_many_requests_from_one_address_are_refused_with_429(
    seeded: Loaded, tmp_path: Path
) -> None:
    p = make_portal(seeded, tmp_path, Clock(IN_SELF_CHECK), address_rate=Rate(60, 2))

    statuses = [p.client.get(p.url(p.cell(i))).status_code for i in range(4)]

    assert statuses == [200, 200, 429, 429]
    assert p.audit("portal.refuse")[0]["limit"] == "address"


def test_the_audit_log_never_holds_a_token(portal: Portal) -> None:
    code = portal.cell()
    good = portal.token(code)
    expired = portal.token(code, expires=IN_SELF_CHECK - timedelta(days=1))
    portal.client.get(f"/u/{good}x")
    portal.client.get(f"/u/{expired}")
    portal.upload(f"/u/{good}", pdf())
    portal.upload(f"/u/{good}", b"not a pdf")

    dump = json.dumps(portal.audit(), ensure_ascii=False)

    assert len(portal.audit()) == 4
    for token in (good, expired, f"{good}x"):
        assert token not in dump
        assert token.split(".")[1] not in dump
    assert fingerprint(good) in dump


def raw_form(*parts: tuple[bytes, bytes, bytes | None]) -> tuple[bytes, dict[str, str]]:
    """A multipart body built byte by byte: (field name, value, raw file name or None)."""
    boundary = b"hostileboundary"
    body = b""
    for name, value, filename in parts:
        disposition = b'form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        body += b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n"
        body += value + b"\r\n"
    body += b"--" + boundary + b"--\r\n"
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}


def test_hostile_bytes_in_the_form_are_refused_or_cleaned_never_an_error(portal: Portal) -> None:
    code = portal.cell()
    url = portal.url(code)
    cases = [
        ((b"gate", b"self-\x00check", None), (b"file", pdf("a"), b"a.pdf")),
        ((b"gate", b"self-check", None), (b"file", pdf("b"), b"bad\x00name.pdf")),
        ((b"gate", b"self-check", None), (b"file", pdf("c"), "报告".encode("gbk") + b".pdf")),
        ((b"gate", b"self-check", None), (b"file", pdf("d"), "\u202egpj.pdf".encode())),
    ]
    statuses = []
    for parts in cases:
        body, headers = raw_form(*parts)
        statuses.append(portal.client.post(url, content=body, headers=headers).status_code)
    body, headers = raw_form(
        (b"gate", b"self-check", None),
        (b"submitted_by", "张\x00三\u202e\n".encode(), None),
        (b"file", pdf("e"), b"ok.pdf"),
    )
    accepted = portal.client.post(url, content=body, headers=headers)

    assert statuses == [400, 422, 422, 422]
    assert accepted.status_code == 200
    assert [r.submitted_by for r in portal.files(code)] == ["张三"]
    reasons = [e["reason"] for e in portal.audit("portal.refuse")]
    assert reasons == ["unknown_gate", "unsafe_name", "unsafe_name", "unsafe_name"]
