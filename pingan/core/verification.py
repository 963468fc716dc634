"""Public certificate verification: the short reference printed on a certificate (and in its
QR code), and the check that also compares the unit's name. Pure.

A certificate's reference is ``<award id>-<verification code without its dash>``, e.g.
``42-7KQ4M2XD``; the portal answers it at ``/v/42-7KQ4M2XD``. The id alone finds nothing:
the page shows a certificate only when the code matches, and a code is an HMAC under a key
only the office holds (pingan.core.awards), so references cannot be guessed or enumerated.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pingan.core.awards import (
    AwardListing,
    Verification,
    check_certificate,
    codes_match,
    normalise_code,
)

VERIFY_PATH = "/v/"
_REF = re.compile(r"([1-9][0-9]{0,9})-([0-9A-Za-z]{8})")
MAX_AWARD_ID = 2**31 - 1  # award ids are 32-bit integers in the database


@dataclass(frozen=True)
class CertificateRef:
    award_id: int
    code: str  # the printed form, 7KQ4-M2XD

    @property
    def text(self) -> str:
        return f"{self.award_id}-{self.code.replace('-', '')}"


def certificate_ref(award_id: int, code: str) -> CertificateRef:
    return CertificateRef(award_id, normalise_code(code))


def parse_ref(text: str) -> CertificateRef | None:
    """The reference in a /v/ path, or None when it is not one (the page says 查无此证)."""
    m = _REF.fullmatch(text.strip())
    if m is None or int(m.group(1)) > MAX_AWARD_ID:
        return None
    return certificate_ref(int(m.group(1)), m.group(2))


def verify_url(base_url: str, ref: CertificateRef) -> str:
    return f"{base_url.rstrip('/')}{VERIFY_PATH}{ref.text}"


def _plain(name: str) -> str:
    # Full-width and half-width forms alike, without spaces or brackets' width differences.
    folded = unicodedata.normalize("NFKC", name)
    return "".join(ch for ch in folded if not ch.isspace())


def names_match(printed: str, registered: str) -> bool:
    """The name on a certificate is the registered one, whatever its spacing or widths."""
    return bool(_plain(printed)) and _plain(printed) == _plain(registered)


def check_named_certificate(
    number: str, code: str, name: str, found: AwardListing | None
) -> Verification:
    """check_certificate, and the unit's name must be the one the award was made to: a real
    number and code copied onto another unit's certificate is refused, without saying whose
    they are."""
    if found is None or not codes_match(code, found.verification_code):
        return check_certificate(number, code, found)
    if not names_match(name, found.cell_name):
        return Verification(
            False, f"单位名称不符：编号 {number} 的证书并非颁给“{name.strip()}”，可能系伪造"
        )
    return check_certificate(number, code, found)
