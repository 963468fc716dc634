"""Award certificates (荣誉证书): one A4 landscape PDF per named cell, or a bundle for printing.

Pure rendering: the caller supplies numbers, verification codes and issuer names. The
Chinese font is embedded, long names wrap and then shrink (never leaving the page), and every
file appears under its final name only once complete.
"""

from pingan.adapters.render.certificate.batch import (
    write_certificate,
    write_certificate_bundle,
    write_certificates,
)
from pingan.adapters.render.certificate.data import (
    CertificateData,
    chinese_date,
    default_filename,
    safe_stem,
)
from pingan.adapters.render.certificate.drawing import certificate_bytes
from pingan.adapters.render.certificate.layout import PAGE_HEIGHT, PAGE_WIDTH

__all__ = [
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "CertificateData",
    "certificate_bytes",
    "chinese_date",
    "default_filename",
    "safe_stem",
    "write_certificate",
    "write_certificate_bundle",
    "write_certificates",
]
