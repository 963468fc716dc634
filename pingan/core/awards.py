"""Award numbers and verification codes (pure: keys and dates are passed in).

A number is ``徐城平安校园〔2017〕第001号``: sequential per domain, never reused, so a revoked
award leaves a gap instead of shifting everybody's plaque. The verification code is an HMAC
of the award's identity under a key only the office holds: a forger can copy a real number
onto a fake certificate, but cannot produce the code that goes with another cell's name.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pingan.core.acceptance import SignOff
from pingan.core.campaign import Campaign
from pingan.core.problems import InputError, Problem

# Crockford's base32 without I, L, O, U: read aloud over the phone without ambiguity.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 8


def award_number(fmt: str, *, prefix: str, title: str, year: int, seq: int, domain: str) -> str:
    return fmt.format(prefix=prefix, title=title, year=year, seq=seq, domain=domain)


def _message(campaign: str, number: str, cell_code: str, cell_name: str, issued_on: date) -> bytes:
    # Unit separators keep ("a|b", "c") and ("a", "b|c") apart.
    return "\x1f".join((campaign, number, cell_code, cell_name, issued_on.isoformat())).encode()


def verification_code(
    key: bytes, *, campaign: str, number: str, cell_code: str, cell_name: str, issued_on: date
) -> str:
    digest = hmac.new(
        key, _message(campaign, number, cell_code, cell_name, issued_on), hashlib.sha256
    ).digest()
    n = int.from_bytes(digest[:5], "big")  # 40 bits = 8 base32 characters
    chars = "".join(_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(CODE_CHARS)))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_code(code: str) -> str:
    """What a person types (lower case, O for 0, no dash) back into the printed form."""
    raw = code.strip().upper().replace("-", "").replace(" ", "")
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == CODE_CHARS else raw


def codes_match(printed: str, expected: str) -> bool:
    return hmac.compare_digest(normalise_code(printed), normalise_code(expected))


@dataclass(frozen=True)
class Candidate:
    """A passed, signed-off cell not yet awarded."""

    unit_id: int
    domain: str
    village: str
    code: str


@dataclass(frozen=True)
class NewAward:
    unit_id: int
    domain: str
    seq: int


def assign_numbers(
    candidates: Iterable[Candidate], highest: Mapping[str, int]
) -> Sequence[NewAward]:
    """New numbers continue after the highest ever issued in each domain (revoked included).

    Order within one run is by village, then cell code, so the list reads naturally and the
    same inputs always give the same numbers.
    """
    next_seq = dict(highest)
    out: list[NewAward] = []
    for c in sorted(candidates, key=lambda c: (c.domain, c.village, c.code)):
        seq = next_seq.get(c.domain, 0) + 1
        next_seq[c.domain] = seq
        out.append(NewAward(c.unit_id, c.domain, seq))
    return out


@dataclass(frozen=True)
class GrantOutcome:
    signoff: SignOff
    new_award_ids: list[int]
    waiting: int  # passed after the sign-off: the next sign-off decides them
    excluded: int


def approved_signoff(signoff: SignOff | None) -> SignOff:
    """Awards follow only an approving sign-off; anything else says what to do instead."""
    if signoff is None:
        raise InputError([Problem("命名", "sign_off", "考核验收结果尚未经综治委签批，不能命名")])
    if not signoff.approved:
        raise InputError(
            [
                Problem(
                    "命名",
                    "sign_off",
                    f"最近一次签批（{signoff.approver}）为退回：{signoff.comment or '未说明'}；"
                    "请复查后重新签批",
                )
            ]
        )
    return signoff


# --- issued awards -------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardListing:
    id: int
    domain: str
    title: str
    seq: int
    number: str
    cell_code: str
    cell_name: str
    village: str | None
    lead_unit: str
    issued_on: date
    verification_code: str
    revoked_at: datetime | None
    revoked_reason: str | None


def issue_date(campaign: Campaign) -> date:
    if campaign.award.issued_on is not None:
        return campaign.award.issued_on
    plaque = [p for p in campaign.phases if p.key == "plaque"]
    return plaque[0].starts_on if plaque else campaign.phases[-1].ends_on


def issuer_name(campaign: Campaign, name: str) -> str:
    """A unit's name as read outside the organisation: "区综治委" is "滨江区综治委"."""
    w = campaign.wording
    return w.coordinator_formal if name == campaign.coordinator.name else w.formal(name)


def issuers(campaign: Campaign, domain_key: str) -> tuple[str, ...]:
    """The coordinator and the domain's lead unit name the cells jointly (the seed's plan)."""
    d = campaign.domain(domain_key)
    names = {u.code: u.name for u in campaign.units}
    lead = names.get(d.lead, d.lead)
    return (issuer_name(campaign, campaign.coordinator.name), issuer_name(campaign, lead))


@dataclass(frozen=True)
class Verification:
    valid: bool
    message: str
    award: AwardListing | None = None


def check_certificate(number: str, code: str, found: AwardListing | None) -> Verification:
    """A certificate is genuine when its number exists, its code matches, and it stands."""
    if found is None:
        return Verification(False, f"查无此证：编号 {number} 不存在")
    if not codes_match(code, found.verification_code):
        return Verification(False, f"验证码不符：{number} 的证书可能系伪造", found)
    if found.revoked_at is not None:
        return Verification(
            False,
            f"该命名已于 {found.revoked_at:%Y-%m-%d} 撤销：{found.revoked_reason}",
            found,
        )
    return Verification(
        True, f"证书有效：{found.cell_name} 获评“{found.title}”，编号 {found.number}", found
    )
