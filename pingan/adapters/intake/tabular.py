"""What every spreadsheet-like input (rosters, score sheets) checks before reading rows."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20
MAX_FILE_BYTES = 200 * 1024 * 1024


def detect_encoding(path: Path) -> str | None:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK); None if neither decodes.

    Hand-typed CSVs from Excel or WPS on Chinese Windows are GBK; the whole file is tried
    because a stray GBK character may sit anywhere.
    """
    with path.open("rb") as fh:
        candidates = ["utf-8-sig"] if fh.read(3) == codecs.BOM_UTF8 else ["utf-8", "gb18030"]
        for encoding in candidates:
            fh.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding
    return None


def preflight(path: Path, label: str, quoted_suffix: str) -> str | None:
    """The one problem that stops a file before any row is read (wrong type, missing,
    unreadable, too large, empty), in Chinese; None when the rows can be read.

    ``label`` names the file for the operator (名册, 评分表); ``quoted_suffix`` is the
    suffix already quoted the way the caller quotes values.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        return (
            f"不支持的文件类型 {quoted_suffix}，{label}须为 .csv 或 .xlsx 文件"
            "（.xls 请在 Excel 中另存为 .xlsx）"
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "文件不存在"
    except OSError as exc:
        return f"无法读取文件：{exc.strerror or exc}"
    if size > MAX_FILE_BYTES:
        return f"文件过大（{size / 1024 / 1024:.0f} MB），{label}文件上限为 200 MB"
    if size == 0:
        return "文件为空（0 字节）"
    return None


class Unreadable(Exception):
    """openpyxl failed part-way through a sheet."""


def guarded_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """openpyxl's rows, with anything it raises while reading one turned into Unreadable:
    it lets zipfile, XML, KeyError and ValueError through unwrapped, and to the operator
    they all mean the same thing (the file is damaged)."""
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise Unreadable from exc
        yield values
