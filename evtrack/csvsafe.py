"""CSV that a spreadsheet cannot execute, and that pandas reads back unchanged.

Titles, notes and claim texts come from PubMed and from people; a cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by Excel, LibreOffice and
Google Sheets ("CSV injection", OWASP). Every *text* cell starting with one of those — or with
the apostrophe used to defuse them — is written with one more apostrophe in front; numbers are
left alone (``-0.5`` in a numeric column is a number, not a formula). A spreadsheet then shows
the text, and :func:`read_csv` removes exactly that apostrophe again.

What "lossless for pandas" means here, honestly: ``read_csv(path)`` gives back every text value
exactly — formula-like ones, ones starting with an apostrophe, ``"NA"``/``"null"``/``"nan"``,
digit strings like PMIDs with their leading zeros — and numeric columns as numbers. The one
thing CSV itself cannot carry is the difference between an empty string and a missing value:
both are an empty cell, and both come back as missing (NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, case, func

#: What a spreadsheet takes for the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The defusing prefix; a value that itself starts with it is escaped too, so that reading
#: back can always tell (the mapping is one-to-one).
ESCAPE = "'"
#: The starts :func:`neutralise_cell` escapes.
_DEFUSED = (*FORMULA_STARTS, ESCAPE)

#: RFC 4180's line end. It also makes the writer quote a field holding a lone carriage return,
#: which with pandas' default "\n" goes out bare and starts a new row in a spreadsheet (where a
#: formula could then begin).
LINE_END = "\r\n"

#: Text columns whose values look like numbers: read as text, or PMIDs would become integers.
TEXT_LIKE_NUMBERS: Mapping[str, Any] = {"pmid": str, "ref_pmid": str, "year": "Int64"}


def neutralise_cell(value: object) -> object:
    """``value`` as a spreadsheet-safe cell (text only; anything else is returned as is)."""
    if isinstance(value, str) and value.startswith(_DEFUSED):
        return ESCAPE + value
    return value


def neutralise_row(cells: list[Any]) -> list[Any]:
    """:func:`neutralise_cell` of each cell, inlined: links.csv streams a million rows."""
    return [(ESCAPE + v if v.startswith(_DEFUSED) else v) if isinstance(v, str) else v
            for v in cells]


def neutralise_sql(column: Any) -> ColumnElement[Any]:
    """:func:`neutralise_cell` of a text column, in SQL: for cells a query writes itself."""
    return case((func.substr(column, 1, 1).in_(_DEFUSED), ESCAPE + column), else_=column)


def restore_cell(value: object) -> object:
    """The inverse of :func:`neutralise_cell`."""
    if isinstance(value, str) and value.startswith(ESCAPE):
        return value[len(ESCAPE):]
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are spreadsheet-safe."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` (without its index) as spreadsheet-safe CSV."""
    neutralise(frame).to_csv(path, index=False, lineterminator=LINE_END)


def to_csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as spreadsheet-safe CSV text (for standard output)."""
    return str(neutralise(frame).to_csv(index=False, lineterminator=LINE_END))


def read_csv(path: str | Path, **options: Any) -> pd.DataFrame:
    """Read a CSV evtrack wrote back into the frame it exported (see the module docstring).

    Only empty cells count as missing; ``options`` go to :func:`pandas.read_csv` (``dtype``
    adds to the defaults for PMID-like columns).

    >>> links = read_csv("reports/links.csv")       # doctest: +SKIP
    """
    dtype = {**TEXT_LIKE_NUMBERS, **options.pop("dtype", {})}
    options.setdefault("keep_default_na", False)
    options.setdefault("na_values", [""])
    header = pd.read_csv(path, nrows=0, **options).columns
    typed = pd.read_csv(path, dtype={k: v for k, v in dtype.items() if k in header}, **options)
    text = pd.read_csv(path, dtype=str, **options)
    for column in typed.columns:
        escaped = text[column].str.startswith(ESCAPE, na=False)
        if escaped.any():  # a text column: its values as written, apostrophes removed
            typed[column] = text[column].map(restore_cell)
    return typed
