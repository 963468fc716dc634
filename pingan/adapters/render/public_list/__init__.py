"""The public list of named cells (公示名单) as an A4 PDF and as an XLSX workbook.

Revoked awards are not mixed into the domain tables, and they are not dropped silently either:
they get their own section (PDF) or sheet (XLSX), 已撤销命名, with the reason. The public can
then see that an award was withdrawn and why, and a revoked certificate still in circulation
can be checked against the list.

Entries keep the caller's order inside each domain. Domains appear in the order of their first
entry. Both files are written atomically, and every spreadsheet text cell goes through
safe_cell so a name such as "=HYPERLINK(…)" stays text.
"""

from pingan.adapters.render.public_list.entries import REVOKED_HEADING, PublicListEntry
from pingan.adapters.render.public_list.pdf import write_public_list_pdf
from pingan.adapters.render.public_list.xlsx import write_public_list_xlsx

__all__ = [
    "REVOKED_HEADING",
    "PublicListEntry",
    "write_public_list_pdf",
    "write_public_list_xlsx",
]
