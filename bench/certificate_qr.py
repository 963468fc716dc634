"""Benchmark what the verification QR code adds to a certificate: the same certificates
rendered with and without it (``certificate_bytes``), in alternating rounds in one process,
CPU time per certificate (the machine is shared: wall time moves with its load).

Prints one JSON object.

    .venv/bin/python bench/certificate_qr.py [--certificates 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pingan.adapters.render.certificate import CertificateData, certificate_bytes
from pingan.adapters.render.fonts import register_reportlab_font

BASE = CertificateData(
    campaign_name="徐城街道2017年平安细胞创建活动",
    title="平安校园",
    cell_name="徐城街道第一中心小学",
    cell_code="SYN-C0000001",
    village="后泉村",
    number="徐城平安校园〔2017〕第001号",
    verification_code="7KQ4-M2XD",
    issued_on=date(2017, 11, 20),
    issuers=("徐城街道综治委", "徐城街道教育办"),
    verify_hint="亦可凭证书编号与验证码向徐城街道综治中心核验",
)


def render(n: int, font: str, *, qr: bool) -> tuple[float, int]:
    """CPU seconds and total bytes for n certificates."""
    started, size = time.process_time(), 0
    for i in range(n):
        url = f"https://pingan.example.gov.cn/v/{10_000 + i}-7KQ4M2XD" if qr else None
        data = dataclasses.replace(BASE, cell_code=f"SYN-C{i:07d}", verify_url=url)
        size += len(certificate_bytes(data, font=font))
    return time.process_time() - started, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    font = register_reportlab_font()
    render(10, font, qr=True)  # warm: font subsets, imports
    plain_s = qr_s = 0.0
    plain_b = qr_b = 0
    for _ in range(args.rounds):
        s, b = render(args.certificates, font, qr=False)
        plain_s, plain_b = plain_s + s, plain_b + b
        s, b = render(args.certificates, font, qr=True)
        qr_s, qr_b = qr_s + s, qr_b + b
    n = args.certificates * args.rounds
    print(
        json.dumps(
            {
                "certificates": n,
                "baseline_ms_per_certificate": round(plain_s / n * 1000, 2),
                "qr_ms_per_certificate": round(qr_s / n * 1000, 2),
                "ratio": round(qr_s / plain_s, 2),
                "baseline_kb": round(plain_b / n / 1024, 1),
                "qr_kb": round(qr_b / n / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
