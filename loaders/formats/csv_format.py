"""CSV submissions, as Excel, WPS and database exports save them: one file per row type.

Encoding. Providers save "CSV UTF-8" from Excel (with a BOM), plain UTF-8 from other
tools, and GB18030 (GBK) from the plain "CSV" of Chinese Excel. One encoding is chosen for
the whole file from its first 64 KiB, by these rules in order:

1. a UTF-8 BOM: UTF-8;
2. a UTF-16 BOM (Excel's "Unicode text"): refused, with how to save the file instead;
3. the complete lines of the prefix that hold non-ASCII bytes vote: a line that decodes
   in only one of UTF-8 and GB18030 votes for it; a line that decodes in both votes for
   the one whose text has more common Chinese characters (GB2312's first level and its
   punctuation); GB18030 wins only with more votes than UTF-8; no such line at all:
   UTF-8. If the prefix is all ASCII, the first further 64 KiB chunk that is not votes
   instead. Only complete lines vote, so a character cut at the prefix end does not
   count; and it is a vote, not "does the prefix decode", because most UTF-8 Chinese text
   also decodes as GB18030 (into nonsense): one damaged line in a UTF-8 file must not
   turn every name in the file into mojibake. The other way round is rarer but real:
   about one two-character name in thirty-five, in GB18030, is also valid UTF-8 (郑伟 reads as
   Hebrew and Greek signs), which is why such a line is read both ways.

The file is then decoded line by line, so a line that does not decode in that encoding
rejects only the row it belongs to (``bad_encoding``) and reading goes on. Lines end at
``\\n`` (``\\r\\n`` too), or at ``\\r`` in a file without any ``\\n`` (classic Mac Excel);
neither byte occurs inside a UTF-8 or GB18030 character.

Row type. A ``type`` column wins where its cell is filled. Otherwise the file name says it:
its stem, lower-cased, is a type or ends with ``_<type>``, ``-<type>`` or ``.<type>``, where
a type may also be spelt in the plural (``records``) or in Chinese as for XLSX sheets
(``企业``, ``自然人``, ``任职``, ``信用记录``...): ``record.csv``, ``nt-tax_record.csv``,
``2026-10.person.csv``; a rejects file's ``.rejects`` ending is passed over
(``person.rejects.csv`` holds person rows). Neither: every row is rejected as
``unknown_type``.

Cells. The header (first non-blank line) is required; names are stripped. Empty cells
are left out of ``data`` so optional fields are absent rather than ``""``; values are
stripped. An empty cell under a column the row's type has no field of goes in as ``""``
all the same, so the unknown column is rejected whether or not its cell is filled.
``raw`` keeps every cell as read, under ``column_keys``: a column named twice and cells
past the header keep theirs too. ``line`` is the physical line the row starts on
(header = 1), right across quoted cells that span lines. A delimiter other than a comma
is used only when the header has no comma and has tabs (or else semicolons): a header
holds field names, never commas, so this cannot misfire on a comma file.

Unbalanced quotes. A quote that opens a cell and is never closed would make the rest of
the file one cell. A quoted cell may span lines (Excel writes a cell with line breaks
so), but such a cell's row is rejected alone, and reading goes on at the physical line
after its first, as soon as one of these holds:

- a line read inside the cell reads, on its own, as the start of a row: a first cell such
  as rows start with (a code's shape under a code column, a row type under ``type``,
  else anything without a quote but blank), then either the header's number of cells
  with no quote left open nor closed (an odd number of quotes closes the cell: the end
  of a row), or at most that many cells, the last opening a quoted cell of its own (a
  row whose address spans lines: its quote would otherwise close the runaway cell and
  the two rows become one). Text typed into one cell has that shape almost never
  (Excel doubles a quote inside a cell); the rows a runaway quote swallows have it
  every time;
- the file ends inside the cell;
- the row spans more than ``MAX_RECORD_LINES`` lines (Excel keeps at most 253 line
  breaks in a cell) or more characters than a line may have bytes;
- csv gives up (a field over its limit).

The rejects file has the row's first line, in cells as csv reads that line alone. The
lines after it are read again, so each other row lands or is rejected for itself.
A header whose quote is not closed on its line is refused: a name never spans lines.

Rejects. UTF-8 with a BOM so that Excel opens it as such; the source header as it was
(a name given twice, twice), one blank-named column per cell a row had past the header,
a ``type`` column when the type came from the file name (so the fixed rows can be sent
again under any name), then ``reason`` and ``line``. Emptying those extra cells is
enough for the reader to take the row again. One rejects file per source file, because line
numbers only mean something against one file: the first source file with a rejected row
writes to the target path; each further source file writes beside it to
``<target stem>.<source stem><target suffix>`` (``-2``, ``-3``... appended if two sources
share a stem). Values of fields named in ``drop`` are blanked, their column kept.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import re
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from loaders.errors import RowRejected
from loaders.formats import (
    CODE_FIELDS,
    REJECTS_COLUMNS,
    RejectsSink,
    SourceRow,
    same_file_key,
)
from loaders.limits import DEFAULT_LIMITS, InputLimits, read_bounded_line
from loaders.rows import MODELS

#: Every spelling of a type accepted in a file or sheet name, lower case.
TYPE_ALIASES: dict[str, str] = {
    "entity": "entity",
    "entities": "entity",
    "企业": "entity",
    "法人": "entity",
    "person": "person",
    "persons": "person",
    "自然人": "person",
    "人员": "person",
    "role": "role",
    "roles": "role",
    "任职": "role",
    "角色": "role",
    "record": "record",
    "records": "record",
    "信用记录": "record",
    "记录": "record",
}
NAMING_HINT = (
    "name the file after the row type (entity.csv, person.csv, role.csv, record.csv, or "
    "<anything>_record.csv, <anything>-record.csv, <anything>.record.csv) or add a 'type' column"
)

PREFIX_BYTES = 64 * 1024
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ENCODING_LABEL = {"utf-8": "UTF-8", "gb18030": "GB18030"}


_REJECTS_ENDING = re.compile(r"\.rejects(?:-\d+)?$")


def type_from_name(name: str) -> str | None:
    """The row type a file stem or sheet name gives, if any (rule in the module docstring).
    A rejects file's name (``person.rejects``, ``person.rejects-2``) gives its source's."""
    lowered = _REJECTS_ENDING.sub("", name.strip().lower())
    if lowered in TYPE_ALIASES:
        return TYPE_ALIASES[lowered]
    for alias, row_type in TYPE_ALIASES.items():
        if any(lowered.endswith(sep + alias) for sep in ("_", "-", ".")):
            return row_type
    return None


def normalize_type(value: str) -> str:
    """A ``type`` cell spelt as a file name may be (``Entities``, ``企业``) -> the type."""
    return TYPE_ALIASES.get(value.strip().lower(), value.strip())


def sniff(fh: IO[bytes]) -> tuple[str, bytes]:
    """The file's encoding (rules in the module docstring) and its line end byte.

    The encoding is ``utf-8-sig``, ``utf-8``, ``gb18030`` or ``utf-16`` (refused by the
    reader). When the first 64 KiB are all ASCII (English names, codes, dates), reading
    goes on chunk by chunk to the first chunk with non-ASCII bytes, so that a GB18030 file
    with Chinese only further down is not taken for UTF-8. Lines end at ``\\n``, or at
    ``\\r`` in a file that has no ``\\n`` (classic Mac Excel).
    """
    chunk = fh.read(PREFIX_BYTES)
    if chunk.startswith(_UTF8_BOM):
        return "utf-8-sig", b"\n"
    if chunk.startswith(_UTF16_BOMS):
        return "utf-16", b"\n"
    newline = b"\r" if b"\r" in chunk and b"\n" not in chunk else b"\n"
    window = chunk
    while window.isascii() and chunk:
        chunk = fh.read(PREFIX_BYTES)
        carry = window[window.rfind(newline) + 1 :]  # a line cut at the chunk end
        window = carry + chunk
    # A regular file's read() comes back short only at its end.
    return vote(window, complete=len(chunk) < PREFIX_BYTES, newline=newline), newline


def vote(window: bytes, complete: bool, newline: bytes = b"\n") -> str:
    """UTF-8 unless more non-ASCII lines decode only as GB18030 than decode as UTF-8.

    ``complete``: the window ends at the end of the file, so its last line is whole; else
    that line may end inside a character and does not vote (unless it is the only one).
    """
    lines = window.split(newline)
    partial_last = not complete
    if partial_last and len(lines) > 1:
        lines, partial_last = lines[:-1], False
    utf8 = gb = 0
    for line in lines:
        if line.isascii():
            continue
        as_utf8 = _decoded(line, "utf-8", partial_last)
        as_gb = _decoded(line, "gb18030", partial_last)
        if as_utf8 is not None and as_gb is not None:
            if _common_chinese(as_gb) > _common_chinese(as_utf8):
                gb += 1
            else:
                utf8 += 1
        elif as_utf8 is not None:
            utf8 += 1
        elif as_gb is not None:
            gb += 1
    return "gb18030" if gb > utf8 else "utf-8"


def _decoded(data: bytes, encoding: str, partial: bool) -> str | None:
    try:
        # An incremental decoder with final=False accepts a character cut at the end.
        return codecs.getincrementaldecoder(encoding)().decode(data, final=not partial)
    except UnicodeDecodeError:
        return None


def _common_chinese(text: str) -> int:
    """How many characters of ``text`` are GB2312's 3,755 common hanzi (lead bytes
    B0-D7) or its punctuation and full-width forms (A1-A3): what a line of names and
    addresses is made of, and what a wrong decoding of it almost never gives."""
    n = 0
    for ch in text:
        if ch.isascii():
            continue
        try:
            lead = ch.encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        if 0xB0 <= lead <= 0xD7 or 0xA1 <= lead <= 0xA3:
            n += 1
    return n


def _split(fh: IO[bytes], newline: bytes, max_bytes: int) -> Iterator[bytes | None]:
    """Physical lines, each with its line end; None for a line longer than ``max_bytes``,
    skipped without being held (loaders/limits.py)."""
    if newline == b"\n":
        while True:
            line, cut = read_bounded_line(fh, max_bytes)
            if not line:
                return
            yield None if cut else line
    rest = b""
    skipping = False
    while chunk := fh.read(PREFIX_BYTES):
        parts = (rest + chunk).split(newline)
        rest = parts.pop()
        for part in parts:
            if skipping:
                skipping = False
                yield None
            elif len(part) > max_bytes:
                yield None
            else:
                yield part + newline
        if len(rest) > max_bytes:
            rest, skipping = b"", True
    if skipping:
        yield None
    elif rest:
        yield rest if len(rest) <= max_bytes else None


#: A physical line: its number, its text, why it did not decode (or None), whether it was
#: too long to read (its text is then a placeholder).
_Entry = tuple[int, str, str | None, bool]

#: Excel keeps at most 253 line breaks in a cell: a row longer than one such cell is no
#: spreadsheet's, but a quote that was never closed.
MAX_RECORD_LINES = 254
_QUOTE_ADVICE = 'Close the quote, or write a quote inside a cell as ""'
#: Fed to ``csv.reader`` to end a record it is reading: the reader asks for another line
#: only from inside a quoted cell, where a quote and a line end close the cell and the row.
_CLOSE_CELL = '"\n'
_CODE_SHAPE = re.compile(r"[0-9A-Za-z]{18}|ftm:\S+")
_ROW_TYPES = frozenset(TYPE_ALIASES.values())


def column_keys(names: list[str]) -> list[str]:
    """The keys of a row's cells in ``SourceRow.raw``: each column's name, with one more
    trailing space each time the name comes again. ``raw`` is a dict (the pipeline may
    spool it as JSON), so a column named twice, or two blank-named ones, kept only their
    last cell. Names are stripped when read, so no real name ends in a space and
    ``column_name`` gives the header back as it was; the policy's match of a prohibited
    column ignores blanks, so a repeated prohibited column is still found and dropped."""
    seen: dict[str, int] = {}
    keys = []
    for name in names:
        n = seen.get(name, 0)
        seen[name] = n + 1
        keys.append(name + " " * n)
    return keys


def column_name(key: str) -> str:
    """The header name a ``column_keys`` key stands for."""
    return key.rstrip(" ")


def extra_keys(blanks: int, count: int) -> list[str]:
    """Keys for ``count`` cells past a header that has ``blanks`` blank names: their
    columns have no name, so they are further blank names."""
    return [" " * (blanks + j) for j in range(count)]


def unknown_columns(header: Iterable[str], row_type: str) -> tuple[str, ...]:
    """The named columns of ``header`` that no field of ``row_type`` has. An empty cell is
    left out of a row's data, so without this such a column passed unseen whenever its
    cells were empty; CONTRACT.md section 2 makes an unknown column an error."""
    model = MODELS.get(row_type)
    if model is None:
        return ()  # the row is rejected for its type
    known = {*model.model_fields, "type", *REJECTS_COLUMNS}
    return tuple(dict.fromkeys(n for n in header if n and n not in known))


def _first_cell_check(column: str) -> Callable[[str], bool]:
    """How a row's first cell looks, in a file whose first column is ``column``."""
    if column in CODE_FIELDS:
        return lambda cell: _CODE_SHAPE.fullmatch(cell.split(";")[0].strip()) is not None
    if column == "type":
        return lambda cell: normalize_type(cell) in _ROW_TYPES
    return lambda cell: bool(cell.strip()) and '"' not in cell


class _Lines:
    """Decoded physical lines for ``csv.reader``, remembering which ones did not decode,
    and ending a row whose quote is never closed (module docstring).

    ``open`` says the reader is inside a row: a line handed out sets it, and the reader's
    consumer (``_rows``) clears it after each row, so a line asked for while it is set
    continues a quoted cell. Only then are the row's lines kept (``_record``), to be read
    again when the row is given up: a row on one line costs a few attribute stores.
    """

    def __init__(
        self, fh: IO[bytes], encoding: str, newline: bytes, limits: InputLimits = DEFAULT_LIMITS
    ) -> None:
        self._fh = fh
        self.limits = limits
        #: line numbers of the lines in ``bad`` that were too long rather than undecodable.
        self.too_long: set[int] = set()
        self._encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self._strip_bom = encoding == "utf-8-sig"
        self._newline = newline
        #: the line last handed to the reader
        self.number = 0
        #: line number -> why it did not decode; cleared by the reader row by row.
        self.bad: dict[int, str] = {}
        self.open = False
        #: the line the row being read starts on, and its text
        self.first = 0
        self._first = ""
        #: the lines of the row being read, once it spans more than one
        self._record: list[_Entry] | None = None
        self._size = 0
        #: lines to hand out again, before reading on
        self._again: deque[_Entry] = deque()
        #: the header's number of columns, once it is read
        self.width: int | None = None
        self._delimiter = ","
        self._first_ok: Callable[[str], bool] = bool
        #: the row just given up: (its line, the text of that line, why)
        self.rejected: tuple[int, str, str] | None = None

    def expect_rows(self, header: list[str], delimiter: str) -> None:
        """What a row looks like, to tell one from a line inside a quoted cell."""
        self.width = len(header)
        self._delimiter = delimiter
        self._first_ok = _first_cell_check(header[0] if header else "")

    def __iter__(self) -> Iterator[str]:
        number = 0
        for raw in _split(self._fh, self._newline, self.limits.max_line_bytes):
            number += 1
            self.number = number
            if raw is None:
                self.bad[number] = self.limits.line_too_long(number)
                self.too_long.add(number)
                text = "-\n"  # a placeholder cell, so the row is seen and rejected
            else:
                if self._strip_bom and number == 1 and raw.startswith(_UTF8_BOM):
                    raw = raw[len(_UTF8_BOM) :]
                try:
                    text = raw.decode(self._encoding)
                except UnicodeDecodeError as e:
                    self.bad[number] = self._undecodable(number, e)
                    # Replacement keeps quotes and delimiters (ASCII) where they were.
                    text = raw.decode(self._encoding, errors="replace")
            if self.open or self._again:
                bad = self.bad.pop(number, None)
                too_long = number in self.too_long
                self.too_long.discard(number)
                yield from self._slow((number, text, bad, too_long))
                continue
            self.open = True
            self.first = number
            self._first = text
            yield text
        yield from self._slow(None)

    def _undecodable(self, number: int, e: UnicodeDecodeError) -> str:
        label = _ENCODING_LABEL[self._encoding]
        return (
            f"line {number} is not valid {label} like the rest of the file "
            f"(byte {e.start + 1} of the line): correct the characters there, or save "
            "the whole file as 'CSV UTF-8'"
        )

    def _slow(self, fresh: _Entry | None) -> Iterator[str]:
        """Lines to read again, a line inside a quoted cell, or the end of the file
        (``fresh`` None): the rare cases, kept off the path of a row on one line."""
        if fresh is not None:
            self._again.append(fresh)
        while True:
            while self._again:
                yield from self._hand_out(self._again.popleft())
            if fresh is not None or not self.open:
                return
            self._abandon("before the end of the file")
            yield _CLOSE_CELL

    def _hand_out(self, entry: _Entry) -> Iterator[str]:
        number, text, bad, too_long = entry
        self.number = number
        if bad is not None:
            self.bad[number] = bad
        if too_long:
            self.too_long.add(number)
        if not self.open:
            self.open = True
            self.first = number
            self._first = text
            yield text
            return
        why = self._runaway(entry)
        if why is None:
            yield text
            return
        self._abandon(why)
        yield _CLOSE_CELL

    def _current(self) -> list[_Entry]:
        """The lines of the row being read (made when it turns out to span lines)."""
        record = self._record
        if record is None or record[0][0] != self.first:
            first = self.first
            record = [(first, self._first, self.bad.get(first), first in self.too_long)]
            self._record = record
            self._size = len(self._first)
        return record

    def _runaway(self, entry: _Entry) -> str | None:
        """Why ``entry``, asked for inside a quoted cell, shows the quote was never closed
        (how the reason goes on), or None: it continues the cell."""
        record = self._current()
        record.append(entry)
        self._size += len(entry[1])
        if self.width is None:
            return "on its line"
        if self._row_start(entry[1]):
            return f"before line {entry[0]}, which reads as a row of its own"
        if len(record) > MAX_RECORD_LINES:
            return (
                f"within {MAX_RECORD_LINES} lines (Excel keeps at most "
                f"{MAX_RECORD_LINES - 1} line breaks in a cell)"
            )
        if self._size > self.limits.max_line_bytes:
            return (
                f"within {self.limits.max_line_bytes} characters "
                "(CREDIT_GRAPH_LOAD_MAX_LINE_BYTES)"
            )
        return None

    def _row_start(self, text: str) -> bool:
        """Whether a line starts a row of its own (rule in the module docstring)."""
        width = self.width or 0
        if width > 1 and self._delimiter not in text:
            return False
        # The reader asks for the closing line only if ``text`` leaves a quote open.
        lines = iter((text, _CLOSE_CELL))
        try:
            cells = next(csv.reader(lines, delimiter=self._delimiter, strict=True), [])
        except csv.Error:
            return False  # a quote in the wrong place
        if not cells or not self._first_ok(cells[0]):
            return False
        if next(lines, None) is None:  # its last cell spans lines, as a row's may
            return 2 <= len(cells) <= width
        if text.count('"') % 2:
            return False  # it closes a cell opened on an earlier line: a row's end
        while len(cells) > width and not cells[-1].strip():
            cells.pop()
        return len(cells) == width

    def give_up(self, error: str) -> None:
        """csv could not read the row (``csv.Error``): reject it, keeping its first line."""
        record = self._current()
        if len(record) > 1:
            self._abandon(f"before line {self.number}, where {error}")
        else:
            self.rejected = (self.first, self._first, f"line {self.first}: {error}")

    def _abandon(self, why: str) -> None:
        """Reject the row's first line alone and hand out the lines after it again."""
        record = self._current()
        first, text = record[0][0], record[0][1]
        if self.width is None:
            reason = (
                f"the header (line {first}) has a quote that is not closed on its line: "
                f"a column name never spans lines. {_QUOTE_ADVICE}"
            )
        else:
            goes_on = f" and reading goes on at line {record[1][0]}" if len(record) > 1 else ""
            reason = (
                f'line {first}: unbalanced quote: the cell a " opens on this line is not '
                f"closed {why}; the row is rejected alone{goes_on}. {_QUOTE_ADVICE}"
            )
        for number, *_ in record:
            self.bad.pop(number, None)
            self.too_long.discard(number)
        self._again.extendleft(reversed(record[1:]))
        self._record = None
        self.rejected = (first, text, reason)


def read(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> Iterator[SourceRow]:
    with path.open("rb") as fh:
        encoding, newline = sniff(fh)
        if encoding == "utf-16":
            reason = "the file is UTF-16 (Excel 'Unicode text'): save it as 'CSV UTF-8' instead"
            yield SourceRow(path, 1, None, None, RowRejected("bad_encoding", reason))
            return
        fh.seek(0)
        yield from _rows(path, _Lines(fh, encoding, newline, limits))


class _Header:
    """The header of a file and the keys its cells take in ``raw`` (``column_keys``)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.keys = column_keys(names)
        self._blanks = names.count("")

    def raw(self, cells: list[str]) -> dict[str, str]:
        """The row as read: a cell for every column, and the cells past them up to the
        last filled one."""
        keys = self.keys
        width, n = len(keys), len(cells)
        if n == width:
            return dict(zip(keys, cells, strict=True))
        if n < width:
            return dict(zip(keys, [*cells, *[""] * (width - n)], strict=True))
        while n > width and not cells[n - 1].strip():
            n -= 1  # trailing empty cells (Excel's ",,,") hold nothing
        return dict(zip([*keys, *extra_keys(self._blanks, n - width)], cells[:n], strict=True))


def _rows(path: Path, lines: _Lines) -> Iterator[SourceRow]:
    line_iter = iter(lines)
    first = next(line_iter, None)
    while first is not None and not first.strip():
        lines.open = False
        first = next(line_iter, None)
    if first is None:
        err = RowRejected("malformed", "the file is empty: a header naming the columns is needed")
        yield SourceRow(path, 1, None, None, err)
        return
    delimiter = _delimiter(first)
    reader = csv.reader(itertools.chain([first], line_iter), delimiter=delimiter)
    header_line = lines.first
    try:
        header = _Header([name.strip() for name in next(reader)])
    except csv.Error as e:
        yield SourceRow(path, header_line, None, None, RowRejected("malformed", f"header: {e}"))
        return
    if lines.rejected is not None:
        yield SourceRow(path, header_line, None, None, RowRejected("malformed", lines.rejected[2]))
        return
    lines.open = False
    lines.expect_rows(header.names, delimiter)
    file_type = type_from_name(path.stem)
    problem: RowRejected | None = None
    if lines.bad:  # the header itself did not decode: no column can be trusted
        problem = RowRejected("bad_encoding", "the header " + lines.bad[min(lines.bad)])
    elif (duplicate := _duplicate(header.names)) is not None:
        problem = RowRejected("malformed", f"the header names column {duplicate!r} twice")
    lines.bad.clear()
    lines.too_long.clear()
    unknown: dict[str, tuple[str, ...]] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            lines.give_up(str(e))
            cells = []
        lines.open = False
        start = lines.first
        if lines.rejected is not None:
            yield _given_up(path, header, lines, delimiter)
            continue
        bad: list[str] = []
        category = "bad_encoding"
        if lines.bad:
            bad = [lines.bad[n] for n in sorted(lines.bad)]
            if lines.too_long:
                category = "line_too_long"
            lines.bad.clear()
            lines.too_long.clear()
        if not any(cell.strip() for cell in cells):
            continue  # blank lines and the ",,,," rows spreadsheets leave
        raw = header.raw(cells)
        if bad:
            yield SourceRow(path, start, None, None, RowRejected(category, bad[0]), raw)
            continue
        if problem is not None:
            yield SourceRow(path, start, None, None, problem, raw)
            continue
        try:
            data = _data(header.names, cells, file_type, unknown)
        except RowRejected as e:
            yield SourceRow(path, start, None, None, e, raw)
            continue
        yield SourceRow(path, start, None, data, None, raw)


def _given_up(path: Path, header: _Header, lines: _Lines, delimiter: str) -> SourceRow:
    """The row ``lines`` gave up, with the cells of its first line for the rejects file
    (a value too long to be a field kept out of it, as for any row)."""
    assert lines.rejected is not None
    line, text, reason = lines.rejected
    lines.rejected = None
    lines.bad.clear()
    lines.too_long.clear()
    raw = header.raw(_loose_cells(text, delimiter))
    limit = lines.limits.max_field_chars
    drop = tuple(key for key, value in raw.items() if len(value) > limit)
    if drop:
        names = ", ".join(column_name(key) or "a cell without a column name" for key in drop)
        reason += f"; {names}: longer than {limit} characters, value not stored"
    rejection = RowRejected("malformed", reason, drop_fields=drop)
    return SourceRow(path, line, None, None, rejection, raw)


def _loose_cells(text: str, delimiter: str) -> list[str]:
    """The cells of a line csv could not read as a row, as near as they can be told: the
    line read alone (a quote left open takes the rest of it), else cut at each delimiter."""
    try:
        cells = next(csv.reader((text,), delimiter=delimiter), [])
    except csv.Error:
        cells = text.split(delimiter)
    if cells:
        cells[-1] = cells[-1].rstrip("\r\n")
    return cells


def _delimiter(header_line: str) -> str:
    if "," in header_line:
        return ","
    if "\t" in header_line:
        return "\t"
    if ";" in header_line:
        return ";"
    return ","


def _duplicate(header: list[str]) -> str | None:
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            return name
        seen.add(name)
    return None


def _data(
    header: list[str],
    cells: list[str],
    file_type: str | None,
    unknown: dict[str, tuple[str, ...]],
) -> dict[str, Any]:
    """``unknown``: ``unknown_columns`` by row type, filled as the file's rows need them."""
    if len(cells) > len(header):
        extra = cells[len(header) :]
        if any(cell.strip() for cell in extra):
            raise RowRejected("malformed", f"row has {len(cells)} cells, header has {len(header)}")
    data: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=False):
        value = cell.strip()
        if not value:
            continue
        if not name:
            raise RowRejected("malformed", "a cell has a value but its column has no name")
        data[name] = value
    if "type" in data:
        data["type"] = normalize_type(data["type"])
    elif file_type is not None:
        data["type"] = file_type
    else:
        raise RowRejected("unknown_type", f"cannot tell the row type: {NAMING_HINT}")
    add_unknown_columns(data, header, unknown)
    return data


def add_unknown_columns(
    data: dict[str, Any], header: list[str], unknown: dict[str, tuple[str, ...]]
) -> None:
    """Give the row's unknown columns (``unknown_columns``) whose cells were empty as
    ``""``, so that validation rejects them as it does filled ones. ``unknown`` caches
    them by row type: a file has one or a few, and a row pays a dict lookup."""
    row_type = str(data["type"])
    names = unknown.get(row_type)
    if names is None:
        names = unknown[row_type] = unknown_columns(header, row_type)
    for name in names:
        data.setdefault(name, "")


class _Out:
    """One rejects file. Rows are written as they come; a row with more cells than the
    header had (``extra_keys``) widens it, and as the header is written first, the file
    is then written again on closing with as many blank-named columns as needed: rare,
    and it keeps the common case a single pass."""

    def __init__(self, path: Path, keys: list[str], added: list[str]) -> None:
        self.path = path
        #: the source's columns (``column_keys``), widened by rows with more cells
        self.keys = keys
        #: the columns the rejects file adds: ``type`` (maybe), ``reason``, ``line``
        self.added = added
        self._written_width = len(keys)
        self.fh = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.fh)
        self.writer.writerow(self._header())

    def _header(self) -> list[str]:
        return [column_name(key) for key in self.keys] + self.added

    def write(self, raw: dict[str, Any], values: dict[str, Any]) -> None:
        """``raw``: the row as read; ``values``: what to write, by column."""
        if len(raw) > len(self.keys):
            known = set(self.keys)
            self.keys += [key for key in raw if key not in known]
        self.writer.writerow([values.get(key, "") for key in (*self.keys, *self.added)])

    def close(self) -> Path:
        self.fh.close()
        if len(self.keys) > self._written_width:
            self._widen()
        return self.path

    def _widen(self) -> None:
        """Write the file again with the header of its widest row, each row's source
        cells padded to it, so ``reason`` and ``line`` stand in their columns."""
        tail = len(self.added)
        width = len(self.keys)
        with (
            self.path.open(encoding="utf-8-sig", newline="") as src,
            tempfile.NamedTemporaryFile(
                "w", encoding="utf-8-sig", newline="", dir=self.path.parent,
                prefix=f".{self.path.name}.", suffix=".part", delete=False,
            ) as dst,
        ):
            rows = csv.reader(src)
            next(rows, None)
            out = csv.writer(dst)
            out.writerow(self._header())
            for row in rows:
                cut = len(row) - tail
                out.writerow([*row[:cut], *[""] * (width - cut), *row[cut:]])
        os.replace(dst.name, self.path)


def further_rejects_path(target: Path, source: Path, n: int = 1) -> Path:
    """Where the rejected rows of ``source``, a further CSV file of a run whose first
    rejects go to ``target``, are written (module docstring, "Rejects"); ``n`` above 1
    when another source file already took that name."""
    suffix = "" if n == 1 else f"-{n}"
    return target.with_name(f"{target.stem}.{source.stem}{suffix}{target.suffix}")


class Rejects(RejectsSink):
    def __init__(self, target: Path) -> None:
        self.target = target
        self._outs: dict[Path, _Out] = {}

    def _out(self, row: SourceRow) -> _Out:
        out = self._outs.get(row.file)
        if out is not None:
            return out
        path = self.target
        if self._outs:
            taken = {o.path for o in self._outs.values()}
            n = 1
            path = further_rejects_path(self.target, row.file)
            while path in taken or same_file_key(path) in self.avoid:
                n += 1
                path = further_rejects_path(self.target, row.file, n)
        keys = list(row.raw or {})
        added = []
        if "type" not in keys and type_from_name(row.file.stem) is not None:
            added.append("type")
        added += [c for c in ("reason", "line") if c not in keys]
        out = _Out(path, keys, added)
        self._outs[row.file] = out
        return out

    def write(self, row: SourceRow, reason: str, drop: Iterable[str] = ()) -> None:
        out = self._out(row)
        raw = row.raw or {}
        values: dict[str, Any] = dict(raw)
        if "type" not in values and "type" in out.added:
            values["type"] = type_from_name(row.file.stem) or ""
        for name in drop:
            if name in values:
                values[name] = ""
        values["reason"] = reason
        values["line"] = row.line
        out.write(raw, values)

    def close(self) -> list[Path]:
        return [out.close() for out in self._outs.values()]
