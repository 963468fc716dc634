"""The public verification page, on SQLite and PostgreSQL: what it shows for a genuine,
revoked, unknown or copied certificate, and its rate limit."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from pingan.core.verification import certificate_ref
from pingan.portal.ratelimit import Rate
from pingan.services import award as awarding
from tests.verify.conftest import Awarded, verify_portal


def _ref_path(awarded: Awarded, index: int = 0) -> str:
    a = awarded.award(index)
    return f"/v/{certificate_ref(a.id, a.verification_code).text}"


def test_the_reference_shows_what_the_certificate_says(awarded: Awarded, tmp_path: Path) -> None:
    portal = verify_portal(awarded, tmp_path)
    a = awarded.award()
    r = portal.client.get(_ref_path(awarded))
    assert r.status_code == 200
    assert "证书有效" in r.text
    for text in (a.number, a.cell_name, a.title, "2017年11月20日", "综治委"):
        assert text in r.text, text


def test_the_page_shows_no_other_unit_nor_the_verification_code(
    awarded: Awarded, tmp_path: Path
) -> None:
    portal = verify_portal(awarded, tmp_path)
    page = portal.client.get(_ref_path(awarded)).text
    others = [b.cell_name for b in awarded.awards[1:]]
    assert not any(name in page for name in others)
    assert awarded.award().verification_code not in page
    assert awarded.award().cell_code not in page


def test_a_wrong_code_in_the_reference_is_unknown_and_names_nobody(
    awarded: Awarded, tmp_path: Path
) -> None:
    portal = verify_portal(awarded, tmp_path)
    a = awarded.award()
    r = portal.client.get(f"/v/{a.id}-AAAAAAAA")
    assert r.status_code == 200 and "查无此证" in r.text
    assert a.cell_name not in r.text and a.number not in r.text


def test_a_reference_past_any_award_id_is_unknown(awarded: Awarded, tmp_path: Path) -> None:
    portal = verify_portal(awarded, tmp_path)
    for ref in (f"{2**31 - 1}-AAAAAAAA", f"{2**31}-AAAAAAAA", "9" * 40 + "-AAAAAAAA"):
        r = portal.client.get(f"/v/{ref}")
        assert r.status_code == 200 and "查无此证" in r.text, ref


def test_a_revoked_certificate_says_so_plainly(awarded: Awarded, tmp_path: Path) -> None:
    a = awarded.award()
    awarding.revoke(
        awarded.engine, awarded.seed.handle, target=a.number, reason="发生案件", actor="t"
    )
    portal = verify_portal(awarded, tmp_path)
    r = portal.client.get(_ref_path(awarded))
    assert "该证书已撤销" in r.text and "证书有效" not in r.text
    assert "发生案件" not in r.text  # the reason is not the public's


def test_the_form_accepts_the_printed_number_code_and_name(
    awarded: Awarded, tmp_path: Path
) -> None:
    portal = verify_portal(awarded, tmp_path)
    a = awarded.award()
    query = urlencode(
        {"number": a.number, "code": a.verification_code.lower(), "name": a.cell_name}
    )
    r = portal.client.get(f"/v?{query}")
    assert "证书有效" in r.text and a.cell_name in r.text


def test_a_copied_number_and_code_on_another_name_fails_the_page(
    awarded: Awarded, tmp_path: Path
) -> None:
    portal = verify_portal(awarded, tmp_path)
    a, other = awarded.award(0), awarded.award(1)
    query = urlencode({"number": a.number, "code": a.verification_code, "name": other.cell_name})
    r = portal.client.get(f"/v?{query}")
    assert "单位名称不符" in r.text and "证书有效" not in r.text
    assert a.cell_name not in r.text


def test_an_incomplete_form_asks_for_every_field(awarded: Awarded, tmp_path: Path) -> None:
    portal = verify_portal(awarded, tmp_path)
    r = portal.client.get("/v?" + urlencode({"number": awarded.award().number}))
    assert "请填写完整" in r.text and "证书有效" not in r.text


def test_the_page_is_rate_limited_per_address(awarded: Awarded, tmp_path: Path) -> None:
    portal = verify_portal(awarded, tmp_path, verify_rate=Rate(per_minute=6, burst=3))
    answers = [portal.client.get(f"/v/{n}-AAAAAAAA").status_code for n in range(1, 6)]
    assert answers == [200, 200, 200, 429, 429]
    portal.clock.mono += 30  # six a minute: three tokens back after half a minute
    assert portal.client.get(_ref_path(awarded)).status_code == 200
    [event] = [e for e in portal.audit("portal.refuse") if e.get("limit") == "verify"]
    assert event["status"] == 429
