"""Read a multipart upload from the request stream into a temp file, counting as it comes.

Nothing is held in memory beyond one chunk: the file part goes straight to disk and the
read stops the moment the file (or the whole body) passes its limit, so a sender cannot
make the portal buffer or store more than the limit by lying about, or leaving out,
Content-Length.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

FILE_FIELD = "file"
MAX_FIELDS = 8
MAX_FIELD_BYTES = 2048
# Room for the form's other fields and the multipart framing around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


class UploadTooLarge(Exception):
    def __init__(self, at_least: int) -> None:
        super().__init__(f"upload larger than allowed (at least {at_least} bytes)")
        self.at_least = at_least


class UploadTimedOut(Exception):
    """The sender paused longer than the idle limit between two pieces of the body."""


class BadForm(Exception):
    """The request is not the portal's upload form; message is Chinese, for the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class SpooledUpload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None  # as the browser sent it, reduced to its last segment
    path: Path | None = None
    size: int = 0

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def declared_too_large(content_length: str | None, max_file_bytes: int) -> int | None:
    """When the declared body cannot fit, the least its file can weigh, so the request is
    refused unread; None when it may fit (the count while reading still applies)."""
    if content_length is None or not content_length.isdigit():
        return None
    declared = int(content_length)
    if declared <= max_file_bytes + FORM_OVERHEAD_BYTES:
        return None
    return declared - FORM_OVERHEAD_BYTES


def sweep_spool(spool_dir: Path, older_than_s: float = 3600) -> None:
    """Remove uploads a crashed process left half-read."""
    if not spool_dir.is_dir():
        return
    cutoff = time.time() - older_than_s
    for entry in spool_dir.glob(".upload-*.part"):
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
        except FileNotFoundError:
            continue


def _basename(raw: bytes) -> str:
    # Browsers send the name as UTF-8 inside the quoted string; bytes that are not UTF-8
    # become lone surrogates, which the intake name check refuses in plain words.
    name = raw.decode("utf-8", "surrogateescape")
    return name.replace("\\", "/").rsplit("/", 1)[-1]


class _Reader:
    def __init__(self, spool_dir: Path, max_file_bytes: int) -> None:
        self.spool_dir = spool_dir
        self.max_file_bytes = max_file_bytes
        self.result = SpooledUpload()
        self.ended = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition: bytes | None = None
        self._field: str | None = None
        self._field_data = bytearray()
        self._out: IO[bytes] | None = None
        self._in_file = False

    # --- callbacks (python_multipart calls these synchronously from write()) ------------

    def on_part_begin(self) -> None:
        self._disposition = None
        self._field = None
        self._field_data.clear()
        self._in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header((self._disposition or b"").decode("latin-1"))
        name = options.get(b"name")
        if name is None:
            raise BadForm("上传的表单格式不正确")
        self._field = name.decode("utf-8", "replace")
        if b"filename" not in options:
            if len(self.result.fields) >= MAX_FIELDS:
                raise BadForm("上传的表单格式不正确")
            return
        if self._field != FILE_FIELD or self.result.path is not None:
            raise BadForm("每次只能上传一个文件")
        self.result.filename = _basename(options[b"filename"])
        path = self.spool_dir / f".upload-{uuid.uuid4().hex}.part"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.result.path = path
        self._out = os.fdopen(fd, "wb")
        self._in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._in_file:
            assert self._out is not None
            self.result.size += len(chunk)
            if self.result.size > self.max_file_bytes:
                raise UploadTooLarge(self.result.size)
            self._out.write(chunk)
            return
        self._field_data += chunk
        if len(self._field_data) > MAX_FIELD_BYTES:
            raise BadForm("上传的表单格式不正确")

    def on_part_end(self) -> None:
        if self._in_file:
            assert self._out is not None
            self._out.close()
            self._out = None
            self._in_file = False
        elif self._field is not None:
            self.result.fields[self._field] = self._field_data.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def abandon(self) -> None:
        """Close and remove the temp file; closing a file on a full disk fails again
        (its buffer cannot be flushed), and must not leave the file behind."""
        with contextlib.suppress(OSError):
            self.close()
        self.result.discard()

    def parser(self, boundary: bytes) -> MultipartParser:
        """A multipart parser that calls back into this reader."""
        return MultipartParser(
            boundary,
            {
                "on_part_begin": self.on_part_begin,
                "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end,
                "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value,
                "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished,
                "on_end": self.on_end,
            },
        )


async def _paced(stream: AsyncIterator[bytes], idle_s: float | None) -> AsyncIterator[bytes]:
    """The chunks of stream, each within idle_s of the one before (a slow sender would
    otherwise hold an upload slot for ever)."""
    iterator = aiter(stream)
    while True:
        try:
            chunk = await asyncio.wait_for(anext(iterator), idle_s)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise UploadTimedOut from None
        yield chunk


async def read_upload(
    stream: AsyncIterator[bytes],
    content_type: str | None,
    *,
    spool_dir: Path,
    max_file_bytes: int,
    idle_timeout_s: float | None = None,
) -> SpooledUpload:
    """Parse a multipart/form-data body with at most one file (field "file").

    Raises UploadTooLarge as soon as the file passes max_file_bytes or the body passes it
    plus FORM_OVERHEAD_BYTES, UploadTimedOut when the sender pauses longer than
    idle_timeout_s, BadForm for anything else that is not our form. On any error the temp
    file is gone before the exception leaves.
    """
    ctype, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise BadForm("请通过页面上的表单上传文件")
    spool_dir.mkdir(parents=True, exist_ok=True)
    reader = _Reader(spool_dir, max_file_bytes)
    max_body = max_file_bytes + FORM_OVERHEAD_BYTES
    total = 0
    try:
        parser = reader.parser(boundary)
        async for chunk in _paced(stream, idle_timeout_s):
            total += len(chunk)
            if total > max_body:
                raise UploadTooLarge(max(total - FORM_OVERHEAD_BYTES, reader.result.size))
            parser.write(chunk)
        parser.finalize()
        if not reader.ended:
            raise BadForm("上传不完整，请重新上传")
        reader.close()
    except FormParserError:
        reader.abandon()
        raise BadForm("上传的表单格式不正确") from None
    except BaseException:
        reader.abandon()
        raise
    return reader.result
