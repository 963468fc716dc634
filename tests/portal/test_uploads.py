"""The multipart reader: the file goes to disk as it arrives, and reading stops at the limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pingan.portal.uploads import (
    FORM_OVERHEAD_BYTES,
    BadForm,
    UploadTooLarge,
    declared_too_large,
    read_upload,
)

BOUNDARY = "b0undary"
CTYPE = f"multipart/form-data; boundary={BOUNDARY}"
CHUNK = 16 * 1024


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    return head + value + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class Stream:
    """Feeds a body in chunks and counts how many were taken."""

    def __init__(self, body: bytes) -> None:
        self.chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.taken += 1
            yield chunk


def read(stream: Stream, spool: Path, limit: int, ctype: str = CTYPE) -> object:
    return asyncio.run(read_upload(stream, ctype, spool_dir=spool, max_file_bytes=limit))


def test_fields_and_the_file_are_read_and_the_file_is_on_disk(tmp_path: Path) -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * 100
    body = form(part("gate", b"self-check"), part("file", data, "自查报告.pdf"))

    upload = read(Stream(body), tmp_path, 1 << 20)

    assert upload.fields == {"gate": "self-check"}  # type: ignore[attr-defined]
    assert upload.filename == "自查报告.pdf"  # type: ignore[attr-defined]
    assert upload.size == len(data)  # type: ignore[attr-defined]
    assert upload.path.read_bytes() == data  # type: ignore[attr-defined]
    assert upload.path.parent == tmp_path  # type: ignore[attr-defined]


def test_reading_stops_soon_after_the_file_passes_the_limit(tmp_path: Path) -> None:
    limit = 64 * 1024
    stream = Stream(form(part("file", b"0" * (100 * limit), "big.pdf")))

    with pytest.raises(UploadTooLarge) as caught:
        read(stream, tmp_path, limit)

    assert caught.value.at_least > limit
    assert stream.taken <= limit // CHUNK + 2  # not the 400 chunks sent
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_a_body_padded_outside_the_file_is_cut_off_too(tmp_path: Path) -> None:
    limit = 64 * 1024
    # After the closing boundary parsers skip everything: only the body count stops it.
    stream = Stream(form(part("file", b"%PDF-1.4\n", "a.pdf")) + b"x" * (100 * limit))

    with pytest.raises(UploadTooLarge):
        read(stream, tmp_path, limit)

    assert stream.taken <= (limit + FORM_OVERHEAD_BYTES) // CHUNK + 2
    assert list(tmp_path.iterdir()) == []


def test_a_path_in_the_file_name_is_reduced_to_its_last_segment(tmp_path: Path) -> None:
    body = form(part("file", b"%PDF-1.4\n", "C:\\Users\\张三\\..\\报告.pdf"))

    upload = read(Stream(body), tmp_path, 1024)

    assert upload.filename == "报告.pdf"  # type: ignore[attr-defined]


def test_a_file_name_that_is_not_utf8_keeps_its_bad_bytes_for_the_name_check(
    tmp_path: Path,
) -> None:
    raw = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + "报告".encode("gbk")
        + b'.pdf"\r\n\r\n%PDF-1.4\n\r\n'
        + f"--{BOUNDARY}--\r\n".encode()
    )

    upload = read(Stream(raw), tmp_path, 1024)

    assert any("\udc80" <= ch <= "\udcff" for ch in upload.filename)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("text/plain", b"hello"),
        ("multipart/form-data", form(part("file", b"x", "a.pdf"))),  # no boundary
        (CTYPE, form(part("file", b"x", "a.pdf"), part("file", b"y", "b.pdf"))),  # two files
        (CTYPE, form(part("other", b"x", "a.pdf"))),  # a file under another name
        (CTYPE, form(part("file", b"x", "a.pdf"))[:-10]),  # cut short
        (CTYPE, b"garbage without any boundary"),
    ],
)
def test_anything_but_the_upload_form_is_a_bad_form_and_leaves_no_file(
    tmp_path: Path, ctype: str, body: bytes
) -> None:
    with pytest.raises(BadForm):
        read(Stream(body), tmp_path, 1024, ctype)

    assert list(tmp_path.iterdir()) == []


def test_a_declared_length_beyond_limit_and_overhead_is_refused_unread() -> None:
    limit = 1000

    assert declared_too_large(str(limit + FORM_OVERHEAD_BYTES), limit) is None
    assert declared_too_large(str(limit + FORM_OVERHEAD_BYTES + 1), limit) == limit + 1
    assert declared_too_large(None, limit) is None
    assert declared_too_large("-5", limit) is None
