"""CSV files for download: cells made safe for spreadsheets, and the response that carries them.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula; a name or title typed by anyone could do so. Such text cells
get a leading apostrophe, which spreadsheets show as text. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence

from starlette.responses import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def safe_cell(value: Cell) -> str:
    """A cell as written: text that a spreadsheet would run as a formula gets a leading
    apostrophe; a number is written with at most four decimals; nothing (or a number that is
    none) is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("write yes/no cells as words")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The CSV text of a header and rows (comma-separated, quoted where needed, CRLF lines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Response:
    """A CSV file to download under ``filename`` (ASCII letters, digits, dots and dashes)."""
    return Response(
        csv_text(header, rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
