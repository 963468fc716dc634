"""Sign-off links, approvers' routes and the campaign rules for approvers (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.core.campaign.model import Approver
from pingan.core.campaign.rules import semantic_problems
from pingan.core.links import LinkClaims, TokenInvalid, sign
from pingan.core.signoff import (
    SignoffClaims,
    link_channels,
    route,
    sign_signoff,
    signoff_url,
    verify_signoff,
)
from tests.factories import seed_campaign

SECRET = "test-portal-secret-0123456789abcdef-xyz"
RUN = "5f0c7a36-2b59-4c4e-8f5e-1d2a3b4c5d6e"


def test_a_signed_link_verifies_to_its_claims() -> None:
    token = sign_signoff(SignoffClaims("xucheng-2017", 7, RUN), SECRET)
    assert verify_signoff(token, SECRET) == SignoffClaims("xucheng-2017", 7, RUN)


def test_the_same_row_always_signs_to_the_same_link() -> None:
    claims = SignoffClaims("xucheng-2017", 7, RUN)
    assert sign_signoff(claims, SECRET) == sign_signoff(claims, SECRET)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "X" + t[1:],  # claims changed
        lambda t: t.replace(".", ""),  # malformed
    ],
)
def test_a_tampered_link_is_invalid(mangle: object) -> None:
    token = sign_signoff(SignoffClaims("xucheng-2017", 7, RUN), SECRET)
    with pytest.raises(TokenInvalid):
        verify_signoff(mangle(token), SECRET)  # type: ignore[operator]


def test_a_link_signed_with_another_secret_is_invalid() -> None:
    token = sign_signoff(SignoffClaims("xucheng-2017", 7, RUN), "another-secret-" + "x" * 30)
    with pytest.raises(TokenInvalid):
        verify_signoff(token, SECRET)


def test_a_unit_portal_link_is_never_a_sign_off_link() -> None:
    unit = sign(
        LinkClaims("xucheng-2017", "S0001", 1, datetime.now(UTC) + timedelta(days=1)), SECRET
    )
    with pytest.raises(TokenInvalid):
        verify_signoff(unit, SECRET)


def test_the_url_puts_the_token_under_s() -> None:
    assert signoff_url("https://pa.example.cn/", "abc.def") == "https://pa.example.cn/s/abc.def"


@pytest.mark.parametrize(
    ("contacts", "expected"),
    [
        ({"wecom_userid": "wangzr", "mobile": "13800000001"}, ("wecom-app", "wangzr")),
        ({"dingtalk_userid": "ding1", "email": "a@b.cn"}, ("dingtalk-work", "ding1")),
        ({"mobile": "13800000001", "email": "a@b.cn"}, ("email", "a@b.cn")),
        ({"email": "a@b.cn"}, ("email", "a@b.cn")),
        ({"mobile": "13800000001"}, None),
    ],
)
def test_an_approver_is_reached_on_an_app_channel_else_email_never_by_sms(
    contacts: dict[str, str], expected: tuple[str, str] | None
) -> None:
    usable = link_channels(wecom_app=True, dingtalk_work=True)
    assert route(Approver(name="王主任", **contacts), usable) == expected


def test_an_app_channel_the_campaign_does_not_configure_is_passed_over() -> None:
    approver = Approver(name="王主任", wecom_userid="wangzr", email="a@b.cn")
    usable = link_channels(wecom_app=False, dingtalk_work=False)
    assert route(approver, usable) == ("email", "a@b.cn")


def _with(*approvers: dict[str, str]) -> list[str]:
    c = seed_campaign()
    data = c.model_dump()
    data["acceptance"] = {"approvers": list(approvers)}
    return [
        f"{p.where}: {p.message}"
        for p in semantic_problems(type(c).model_validate(data), "x.yaml")
        if p.where.startswith("acceptance")
    ]


def test_approvers_with_good_contacts_pass_the_rules() -> None:
    assert (
        _with(
            {"name": "王主任", "mobile": "13800000001", "email": "w@a.cn"},
            {"name": "李", "email": "l@a.cn"},
        )
        == []
    )


def test_an_approver_reachable_only_by_sms_is_refused_with_the_reason() -> None:
    [problem] = _with({"name": "王主任", "mobile": "13800000001"})
    assert "王主任" in problem and "短信不能携带签批链接" in problem


def test_an_approver_without_any_contact_is_named() -> None:
    [problem] = _with({"name": "王主任"})
    assert "王主任" in problem and "联系方式" in problem


def test_a_bad_mobile_a_bad_email_and_a_repeated_name_are_each_reported() -> None:
    problems = _with(
        {"name": "王主任", "mobile": "1380000", "email": "w@a.cn"},
        {"name": "王主任", "email": "not-an-address"},
    )
    assert len(problems) == 3
    assert any("重复" in p for p in problems)
    assert any(p.startswith("acceptance.approvers[0].mobile") for p in problems)
    assert any(p.startswith("acceptance.approvers[1].email") for p in problems)
