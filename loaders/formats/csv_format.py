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
stripped. ``raw`` keeps every column as read. ``line`` is the physical line the row
starts on (header = 1), right across quoted cells that span lines. A delimiter other than
a comma is used only when the header has no comma and has tabs (or else semicolons): a
header holds field names, never commas, so this cannot misfire on a comma file.

Rejects. UTF-8 with a BOM so that Excel opens it as such; the source header, a ``type``
column when the type came from the file name (so the fixed rows can be sent again under
any name), then ``reason`` and ``line``. One rejects file per source file, because line
numbers only mean something against one file: the first source file with a rejected row
writes to the target path; each further source file writes beside it to
``<target stem>.<source stem><target suffix>`` (``-2``, ``-3``... appended if two sources
share a stem). Values of fields named in ``drop`` are blanked, their column kept.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from loaders.errors import RowRejected
from loaders.formats import RejectsSink, SourceRow, same_file_key
from loaders.limits import DEFAULT_LIMITS, InputLimits, read_bounded_line

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


class _Lines:
    """Decoded physical lines for ``csv.reader``, remembering which ones did not decode."""

    def __init__(
        self, fh: IO[bytes], encoding: str, newline: bytes, limits: InputLimits = DEFAULT_LIMITS
    ) -> None:
        self._fh = fh
        self._limits = limits
        #: line numbers of the lines in ``bad`` that were too long rather than undecodable.
        self.too_long: set[int] = set()
        self._encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self._strip_bom = encoding == "utf-8-sig"
        self._newline = newline
        self.number = 0
        #: line number -> why it did not decode; cleared by the reader row by row.
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for raw in _split(self._fh, self._newline, self._limits.max_line_bytes):
            self.number += 1
            if raw is None:
                self.bad[self.number] = self._limits.line_too_long(self.number)
                self.too_long.add(self.number)
                yield "-\n"  # a placeholder cell, so the row is seen and rejected
                continue
            if self._strip_bom and self.number == 1 and raw.startswith(_UTF8_BOM):
                raw = raw[len(_UTF8_BOM) :]
            try:
                yield raw.decode(self._encoding)
            except UnicodeDecodeError as e:
                label = _ENCODING_LABEL[self._encoding]
                self.bad[self.number] = (
                    f"line {self.number} is not valid {label} like the rest of the file "
                    f"(byte {e.start + 1} of the line): correct the characters there, or save "
                    "the whole file as 'CSV UTF-8'"
                )
                # Replacement keeps quotes and delimiters (ASCII) where they were.
                yield raw.decode(self._encoding, errors="replace")


def read(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> Iterator[SourceRow]:
    with path.open("rb") as fh:
        encoding, newline = sniff(fh)
        if encoding == "utf-16":
            reason = "the file is UTF-16 (Excel 'Unicode text'): save it as 'CSV UTF-8' instead"
            yield SourceRow(path, 1, None, None, RowRejected("bad_encoding", reason))
            return
        fh.seek(0)
        yield from _rows(path, _Lines(fh, encoding, newline, limits))


def _rows(path: Path, lines: _Lines) -> Iterator[SourceRow]:
    line_iter = iter(lines)
    first = next(line_iter, None)
    while first is not None and not first.strip():
        first = next(line_iter, None)
    if first is None:
        err = RowRejected("malformed", "the file is empty: a header naming the columns is needed")
        yield SourceRow(path, 1, None, None, err)
        return
    delimiter = _delimiter(first)
    reader = csv.reader(itertools.chain([first], line_iter), delimiter=delimiter)
    header_line = lines.number
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as e:
        yield SourceRow(path, header_line, None, None, RowRejected("malformed", f"header: {e}"))
        return
    file_type = type_from_name(path.stem)
    problem: RowRejected | None = None
    if lines.bad:  # the header itself did not decode: no column can be trusted
        problem = RowRejected("bad_encoding", "the header " + lines.bad[min(lines.bad)])
    elif (duplicate := _duplicate(header)) is not None:
        problem = RowRejected("malformed", f"the header names column {duplicate!r} twice")
    lines.bad.clear()
    end = lines.number
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            end = lines.number
            lines.bad.clear()
            blank = dict.fromkeys(header, "")  # so the rejects file keeps its columns
            yield SourceRow(path, start, None, None, RowRejected("malformed", f"{e}"), blank)
            continue
        end = lines.number
        bad = [lines.bad[n] for n in sorted(lines.bad) if start <= n <= end]
        category = (
            "line_too_long" if any(start <= n <= end for n in lines.too_long) else "bad_encoding"
        )
        lines.bad.clear()
        lines.too_long.clear()
        if not any(cell.strip() for cell in cells):
            continue  # blank lines and the ",,,," rows spreadsheets leave
        raw = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        if bad:
            yield SourceRow(path, start, None, None, RowRejected(category, bad[0]), raw)
            continue
        if problem is not None:
            yield SourceRow(path, start, None, None, problem, raw)
            continue
        try:
            data = _data(header, cells, file_type)
        except RowRejected as e:
            yield SourceRow(path, start, None, None, e, raw)
            continue
        yield SourceRow(path, start, None, data, None, raw)


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


def _data(header: list[str], cells: list[str], file_type: str | None) -> dict[str, Any]:
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
    return data


class _Out:
    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        self.fh = path.open("w", encoding="utf-8-sig", newline="")
        self.header = header
        self.writer = csv.DictWriter(self.fh, header, restval="", extrasaction="ignore")
        self.writer.writeheader()


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
            base = f"{self.target.stem}.{row.file.stem}"
            path = self.target.with_name(base + self.target.suffix)
            n = 1
            while path in taken or same_file_key(path) in self.avoid:
                n += 1
                path = self.target.with_name(f"{base}-{n}{self.target.suffix}")
        columns = list(row.raw or {})
        if "type" not in columns and type_from_name(row.file.stem) is not None:
            columns.append("type")
        columns += [c for c in ("reason", "line") if c not in columns]
        out = _Out(path, columns)
        self._outs[row.file] = out
        return out

    def write(self, row: SourceRow, reason: str, drop: Iterable[str] = ()) -> None:
        out = self._out(row)
        values: dict[str, Any] = dict(row.raw or {})
        if "type" not in values and "type" in out.header:
            values["type"] = type_from_name(row.file.stem) or ""
        for name in drop:
            if name in values:
                values[name] = ""
        values["reason"] = reason
        values["line"] = row.line
        out.writer.writerow(values)

    def close(self) -> list[Path]:
        paths = []
        for out in self._outs.values():
            out.fh.close()
            paths.append(out.path)
        return paths
