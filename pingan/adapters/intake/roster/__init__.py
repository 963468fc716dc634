"""Reader and validator for the roster (名册) of cells, villages and unit contacts.

The roster is typed by hand in Excel or WPS by street-office staff, so every problem is
collected and reported with the file, row and column instead of stopping at the first one;
the format is described for operators in docs/roster.md. Rosters run to a million rows for
a large district's families, so rows are screened a chunk at a time with C-level map and
set operations, and only rows that fail a screen are checked one by one. Both read one
table of rules:

- columns.py: the columns, their header spellings and the row kinds;
- rules.py: the rule table, one entry per column;
- placement.py, codes.py: the rules across columns (domain and village by kind) and rows;
- screen.py: the columnar screen; checker.py: the row check and the layout of a sheet;
- reading.py: text (.csv, .txt) and workbook (.xlsx, .xls, .ods) files;
- template.py: the roster template clerks fill in Excel or WPS.
"""

from pingan.adapters.intake.roster.reading import read_roster
from pingan.adapters.intake.roster.rules import RAW_SECRET_MESSAGE

__all__ = ["RAW_SECRET_MESSAGE", "read_roster"]
