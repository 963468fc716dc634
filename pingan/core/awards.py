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
from datetime import date

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
