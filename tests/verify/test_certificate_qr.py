"""The QR code printed on a certificate: rendered to an image as a phone camera would see it
(pdftoppm), decoded by zbar, it leads to the verification page of that very certificate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pingan.services.documents import certificate_path, write_documents
from tests.verify.conftest import Awarded, verify_portal

BASE_URL = "https://pa.example.cn"

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
    reason="需要 poppler-utils 与 zbar-tools（.ci/run 会安装）",
)


def _decode(pdf: Path, tmp_path: Path) -> list[str]:
    png = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(pdf), str(png)], check=True)
    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f"{png}.png"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split()


def test_the_qr_code_on_a_certificate_opens_its_verification_page(
    awarded: Awarded, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write_documents(awarded.engine, awarded.seed.handle, out_dir=out, verify_base_url=BASE_URL)
    a = awarded.award()
    [url] = _decode(certificate_path(out / "certificates", a), tmp_path)

    assert url.startswith(f"{BASE_URL}/v/")
    page = verify_portal(awarded, tmp_path).client.get(urlsplit(url).path)
    assert "证书有效" in page.text and a.cell_name in page.text and a.number in page.text


def test_without_a_public_address_the_certificate_has_no_qr_code(
    awarded: Awarded, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write_documents(awarded.engine, awarded.seed.handle, out_dir=out)
    assert _decode(certificate_path(out / "certificates", awarded.award()), tmp_path) == []
