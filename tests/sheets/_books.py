"""Spreadsheet files as clerks' tools save them, made in the test: .xls through xlwt, .ods
written by hand (a ZIP of three members), and Excel's "Unicode 文本" (UTF-16 with a BOM,
tab-separated)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import xlwt

Rows = Sequence[Sequence[object]]

ROSTER_HEADER = ["编码", "名称", "类型", "领域", "所属村社区", "类别", "联系人", "手机"]
VILLAGE = ["v01", "东村", "村社区", "", "", "", "张三", "13800138000"]
SCHOOL = ["c01", "东村小学", "创建单位", "平安校园", "v01", "小学", "李四", "13900139000"]


def write_xls(
    path: Path, rows: Rows, *, title: str = "名册", start: tuple[int, int] = (0, 0)
) -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet(title)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value != "":
                sheet.write(start[0] + r, start[1] + c, value)
    book.save(str(path))
    return path


_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
    ' manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/"'
    ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
    "</office:document-content>"
)


def ods_cell(value: object, repeat: int = 1) -> str:
    repeated = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    if value == "" or value is None:
        return f"<table:table-cell{repeated}/>"
    if isinstance(value, date):
        return (
            f'<table:table-cell{repeated} office:value-type="date"'
            f' office:date-value="{value.isoformat()}"><text:p>{value}</text:p></table:table-cell>'
        )
    if isinstance(value, int | float):
        return (
            f'<table:table-cell{repeated} office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell{repeated} office:value-type="string">'
        f"<text:p>{escape(str(value))}</text:p></table:table-cell>"
    )


def ods_table(rows: Rows, title: str = "名册", *, trailing: bool = True) -> str:
    """One table as LibreOffice writes it: with the empty columns and rows it pads to."""
    body = "".join(
        "<table:table-row>"
        + "".join(ods_cell(v) for v in row)
        + (ods_cell("", 1000) if trailing else "")
        + "</table:table-row>"
        for row in rows
    )
    if trailing:
        body += (
            '<table:table-row table:number-rows-repeated="1048000">'
            f"{ods_cell('', 1024)}</table:table-row>"
        )
    return f'<table:table table:name="{escape(title)}">{body}</table:table>'


def write_ods(path: Path, *tables: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", _MANIFEST)
        z.writestr("content.xml", _CONTENT.format(tables="".join(tables)))
    return path


def write_unicode_text(path: Path, rows: Rows) -> Path:
    """Excel's 另存为 "Unicode 文本": UTF-16LE with a BOM, tab-separated, CRLF lines."""
    text = "".join("\t".join(str(v) for v in row) + "\r\n" for row in rows)
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return path
