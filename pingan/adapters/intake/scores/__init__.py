"""考核验收评分表: the spreadsheet assessment teams fill in, and the reader that imports it.

The template has one sheet per domain and one row per cell; teams fill the rows of the
cells they assessed and leave the rest blank. The reader checks every filled row against
the domain's rubric and the roster, and reports every problem with sheet, row and column.
Rows come back only when there is no problem at all: scores decide awards, so a sheet is
imported whole after it is corrected, never half now and half later.

Pure: the caller passes the cells, today's date and the acceptance window, so nothing
here touches the database or the clock.

``columns`` names the columns, ``template`` writes the template and ``inputs`` its prompts,
checks and formulas, ``values`` reads single cells, ``row`` checks one row, ``table`` one
sheet (or the whole CSV), ``files`` a file.
"""

from pingan.adapters.intake.scores.files import read_scores
from pingan.adapters.intake.scores.table import ImportResult
from pingan.adapters.intake.scores.template import write_template

__all__ = ["ImportResult", "read_scores", "write_template"]
