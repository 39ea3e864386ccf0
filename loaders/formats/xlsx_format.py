"""XLSX workbooks: one sheet per row type, read streaming so a large workbook fits in memory.

Sheets. A sheet's name gives its rows' type by the same rule as CSV file names (``entity``,
``records``, ``nt_record``, and the Chinese names 企业/法人, 自然人/人员, 任职/角色,
信用记录/记录). A ``type`` column, where filled, wins. When no sheet of the workbook is
named after a type (a workbook saved with Excel's default ``Sheet1``), the workbook's file
name gives the type instead. Sheets whose name contains 说明, ``readme`` or
``instructions`` are the provider's notes and are skipped; every non-empty row of any other
sheet is rejected as ``unknown_type``, so nothing is dropped silently. Empty sheets (the
``Sheet2``/``Sheet3`` of older Excel) yield nothing.

Cells. The header is row 1; ``line`` is the row number in the sheet. Dates become
``YYYY-MM-DD``; ``share_ratio`` and ``registered_capital`` keep their numbers; other
numbers become text (``12.0`` -> ``"12"``). Two things Excel does to a careless sheet are
refused rather than repaired, since repairing means guessing:

- a code column (``code``, ``entity``, ``holder``, ``subject``, ``responsible``) holding a
  number: Excel keeps 15 significant digits and drops an ID number's final ``X``, so the
  code can no longer be known (``bad_code``, telling the provider to format it as text);
- a date column holding a plain number (an unformatted date serial; ``bad_date``).

An empty cell under a column the row's type has no field of is rejected as an unknown
column, as a filled one is (``csv_format.unknown_columns``).

``raw`` holds only JSON values, every cell of the row under ``csv_format.column_keys``
(a column named twice, cells past the header). A date or date-time cell is its date as
``YYYY-MM-DD`` text: what the reader took from it, and what it accepts when the fixed
rows are sent again (a time of day, which the reader drops, made the row unloadable).

Rejects: an XLSX with one sheet per source sheet that had rejected rows, named like it
(prefixed with the source file's stem if two source files share a sheet name, so that a
``.<type>`` ending keeps the type), holding the source header as it was, one blank-named
column per cell a row had past the header, then ``reason`` and ``line``; values of
fields named in ``drop`` are blanked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped, unused-ignore]
from openpyxl.utils.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    InvalidFileException,
)

from loaders.errors import RowRejected
from loaders.formats import CODE_FIELDS, DATE_FIELDS, REJECTS_COLUMNS, RejectsSink, SourceRow
from loaders.formats.csv_format import (
    TYPE_ALIASES,
    add_unknown_columns,
    column_keys,
    column_name,
    extra_keys,
    normalize_type,
    type_from_name,
)
from loaders.limits import DEFAULT_LIMITS, InputLimits

NUMBER_COLUMNS = frozenset({"share_ratio", "registered_capital"})
_SHEET_NAMES = ", ".join(TYPE_ALIASES)
#: Excel keeps 15 significant digits: a number this large in a text column (a record id,
#: a document number) may already differ from what was typed.
_EXACT_DIGITS_LIMIT = 10**15
_INSTRUCTIONS = re.compile(r"说明|readme|instructions", re.IGNORECASE)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def is_instructions(sheet: str) -> bool:
    return _INSTRUCTIONS.search(sheet) is not None


def read(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> Iterator[SourceRow]:
    """``limits``: the workbook's unpacked size is checked by the pipeline before this."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, OSError, KeyError, ValueError) as e:
        reason = (
            f"not a readable .xlsx workbook ({type(e).__name__}): save it from Excel as "
            "'Excel Workbook (*.xlsx)', without a password"
        )
        yield SourceRow(path, 1, None, None, RowRejected("malformed", reason))
        return
    formulas = load_workbook(path, read_only=True) if _has_formulas(path) else None
    try:
        named = any(type_from_name(name) for name in wb.sheetnames)
        file_type = None if named else type_from_name(path.stem)
        for ws in wb.worksheets:
            if is_instructions(ws.title):
                continue
            written = None if formulas is None else formulas[ws.title]
            yield from _sheet(path, ws, type_from_name(ws.title) or file_type, written)
    finally:
        wb.close()
        if formulas is not None:
            formulas.close()


_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formulas(path: Path) -> bool:
    """Whether any sheet holds a formula. Why ask: a workbook written by a program (not
    saved by Excel) keeps its formulas without their results, and reading values only,
    as the loader does, such a cell looks empty, so a computed amount would vanish
    without a word. Only a workbook with formulas pays for reading them too."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with archive.open(name) as part:
                tail = b""
                while chunk := part.read(1 << 20):
                    if _FORMULA.search(tail + chunk):
                        return True
                    tail = chunk[-16:]
    return False


def _uncomputed(header: list[str], values: tuple[Any, ...], written: tuple[Any, ...]) -> str | None:
    for i, name in enumerate(header):
        value = values[i] if i < len(values) else None
        formula = written[i] if i < len(written) else None
        if value is None and isinstance(formula, str) and formula.startswith("="):
            return name or f"column {i + 1}"
    return None


def _sheet(
    path: Path, ws: Any, sheet_type: str | None, written_ws: Any = None
) -> Iterator[SourceRow]:
    """``written_ws``: the same sheet read with its formulas, when the workbook has any."""
    sheet: str = ws.title
    # Read-only mode trusts the sheet's recorded dimension; files written by other tools
    # often record a wrong one, and rows or columns past it would be lost without a word.
    ws.reset_dimensions()
    rows = ws.iter_rows(values_only=True)
    written: Iterator[tuple[Any, ...]] = iter(())
    if written_ws is not None:
        written_ws.reset_dimensions()
        written = written_ws.iter_rows(values_only=True)
        next(written, None)  # the header
    first = next(rows, None)
    header = [_header_name(v) for v in (first or ())]
    while header and not header[-1]:
        header.pop()
    keys = column_keys(header)
    blanks = header.count("")
    duplicates = sorted({n for n in header if n and header.count(n) > 1})
    problem = None
    if not header:
        problem = RowRejected("malformed", "row 1 of the sheet must be the header (column names)")
    elif duplicates:
        problem = RowRejected("malformed", f"the header names column {duplicates[0]!r} twice")
    unknown: dict[str, tuple[str, ...]] = {}
    for number, values in enumerate(rows, start=2):
        formulas = next(written, ())
        if not any(_filled(v) for v in values) and not any(_filled(v) for v in formulas):
            continue
        raw = _raw(keys, blanks, values)
        if problem is not None:
            yield SourceRow(path, number, sheet, None, problem, raw, sheet_type)
            continue
        if formulas and (column := _uncomputed(header, values, formulas)) is not None:
            reason = (
                f"{column}: the cell holds a formula whose result was never computed (the "
                "workbook was written by a program, not saved by Excel): open and save it "
                "in Excel, or enter the value itself"
            )
            yield SourceRow(path, number, sheet, None, RowRejected("bad_value", reason), raw,
                            sheet_type)
            continue
        try:
            data = _data(header, values, sheet, sheet_type, unknown)
        except RowRejected as e:
            yield SourceRow(path, number, sheet, None, e, raw, sheet_type)
            continue
        yield SourceRow(path, number, sheet, data, None, raw, sheet_type)


def _raw(keys: list[str], blanks: int, values: tuple[Any, ...]) -> dict[str, Any]:
    """The row as read: a cell for every column (``keys``: ``column_keys``) and each cell
    past them up to the last filled one, so the rejects sheet loses none."""
    width = len(keys)
    raw = {key: _plain(values[i]) if i < len(values) else None for i, key in enumerate(keys)}
    n = len(values)
    while n > width and not _filled(values[n - 1]):
        n -= 1
    if n > width:
        raw.update(zip(extra_keys(blanks, n - width), map(_plain, values[width:n]), strict=True))
    return raw


def _plain(value: Any) -> Any:
    """A cell as JSON can carry it: the pipeline may spool ``raw`` before writing rejects.
    A date-time is its date, as ``_value`` reads it: written with its time, the fixed row
    sent again was refused (a date is ``YYYY-MM-DD``)."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _header_name(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _data(
    header: list[str],
    values: tuple[Any, ...],
    sheet: str,
    sheet_type: str | None,
    unknown: dict[str, tuple[str, ...]],
) -> dict[str, Any]:
    """``unknown``: the sheet's unknown columns by row type (``add_unknown_columns``)."""
    if len(values) > len(header) and any(_filled(v) for v in values[len(header) :]):
        last = max(i for i, v in enumerate(values) if _filled(v)) + 1
        raise RowRejected("malformed", f"row has {last} cells, header has {len(header)}")
    numbers = [
        name
        for name, v in zip(header, values, strict=False)
        if name in CODE_FIELDS and isinstance(v, int | float) and not isinstance(v, bool)
    ]
    if numbers:
        cols = ", ".join(numbers)
        raise RowRejected(
            "bad_code",
            f"column {cols} holds a number, not text: Excel keeps only 15 digits and drops "
            "an ID number's final X, so the code is lost. Format the column as text "
            "(单元格格式 -> 文本) and enter the codes again",
        )
    data: dict[str, Any] = {}
    for name, value in zip(header, values, strict=False):
        if not _filled(value):
            continue
        if not name:
            raise RowRejected("malformed", "a cell has a value but its column has no header")
        data[name] = _value(name, value)
    if "type" in data:
        data["type"] = normalize_type(str(data["type"]))
    elif sheet_type is not None:
        data["type"] = sheet_type
    else:
        raise RowRejected(
            "unknown_type",
            f"sheet {sheet!r} is not named after a row type: rename it to one of "
            f"{_SHEET_NAMES}, or add a 'type' column",
        )
    add_unknown_columns(data, header, unknown)
    return data


def _value(name: str, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if name in NUMBER_COLUMNS:
            return value
        if name in DATE_FIELDS:
            raise RowRejected(
                "bad_date",
                f"{name}: the cell holds a number, not a date: format the column as a date "
                "or enter the date as text YYYY-MM-DD",
            )
        if abs(value) >= _EXACT_DIGITS_LIMIT:
            raise RowRejected(
                "bad_value",
                f"{name}: the cell holds a number of more than 15 digits, which Excel does "
                "not keep exactly: format the column as text (单元格格式 -> 文本) and enter "
                "the value again",
            )
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value).strip()


def _sheet_title(wanted: str) -> str:
    """Excel: at most 31 characters, none of ``[]:*?/\\``; keep the end, it holds the type."""
    return _BAD_SHEET_CHARS.sub("_", wanted)[-31:]


class _SheetOut:
    """One rejects sheet. Its rows wait in a file on disk until the workbook is written:
    a row with more cells than the header had (``extra_keys``) widens the header, which
    a write-only sheet has already written by then."""

    def __init__(self, title: str, keys: list[str], type_column: bool) -> None:
        self.title = title
        #: the source's columns (``column_keys``, without the rejects' own), widened by
        #: rows with more cells
        self.keys = keys
        #: whether a ``type`` column is added
        self.type_column = type_column
        self.spool = tempfile.TemporaryFile("w+", encoding="utf-8")

    def add(self, raw: dict[str, Any], cells: list[Any], tail: list[Any]) -> None:
        """``cells``: the row's values under ``keys`` (before any of ``raw`` widens them)."""
        if len(raw) > len(self.keys):
            known = set(self.keys)
            new = [k for k in raw if k not in known and k not in REJECTS_COLUMNS]
            self.keys += new
            cells += [raw[k] for k in new]
        self.spool.write(json.dumps([cells, tail], ensure_ascii=False) + "\n")

    def header(self) -> list[Any]:
        names: list[Any] = [column_name(key) or None for key in self.keys]
        return [*names, *(["type"] if self.type_column else []), "reason", "line"]

    def rows(self) -> Iterator[list[Any]]:
        """The rows, each padded to the widest one's cells."""
        width = len(self.keys)
        self.spool.seek(0)
        for line in self.spool:
            cells, tail = json.loads(line)
            yield [*cells, *[None] * (width - len(cells)), *tail]


class Rejects(RejectsSink):
    def __init__(self, target: Path) -> None:
        self.target = target
        #: (source file, source sheet) -> its rejects sheet
        self._sheets: dict[tuple[Path, str | None], _SheetOut] = {}
        self._titles: set[str] = set()

    def _sheet_for(self, row: SourceRow) -> _SheetOut:
        key = (row.file, row.sheet)
        found = self._sheets.get(key)
        if found is not None:
            return found
        source = row.sheet or row.file.stem
        title = _sheet_title(source)
        if title.lower() in self._titles:
            title = _sheet_title(f"{row.file.stem}.{source}")
        n = 1
        base = title
        while title.lower() in self._titles:
            n += 1
            title = _sheet_title(f"{n}.{base}")
        self._titles.add(title.lower())
        columns = [c for c in (row.raw or {}) if c not in REJECTS_COLUMNS]
        type_column = (
            "type" not in columns
            and row.given_type is not None
            and type_from_name(row.sheet or "") is None
        )
        out = self._sheets[key] = _SheetOut(title, columns, type_column)
        return out

    def write(self, row: SourceRow, reason: str, drop: Iterable[str] = ()) -> None:
        out = self._sheet_for(row)
        dropped = set(drop)
        raw = {k: None if k in dropped else v for k, v in (row.raw or {}).items()}
        cells = [raw.get(name) for name in out.keys]
        tail: list[Any] = [reason, row.line]
        if out.type_column:
            tail.insert(0, row.given_type)
        elif "type" in out.keys and not _filled(raw.get("type")) and row.given_type:
            cells[out.keys.index("type")] = row.given_type
        out.add(raw, cells, tail)

    def close(self) -> list[Path]:
        if not self._sheets:
            return []
        wb = Workbook(write_only=True)
        for out in self._sheets.values():
            ws = wb.create_sheet(out.title)
            ws.append(out.header())
            for cells in out.rows():
                ws.append(cells)
            out.spool.close()
        wb.save(self.target)
        self._sheets = {}
        return [self.target]
