"""Is this file of its format at all? Asked before a row is read.

Why: a binary file (a picture, an archive, a database dump given the wrong extension)
used to be read line by line, every "line" rejected as bad encoding or bad JSON, a
rejects file full of noise written and exit code 1, as if some rows had been wrong.
CONTRACT.md section 1 keeps exit 2 for "nothing could be read": such a file is now
refused whole, with what it looks like instead, and nothing is written.

A text file with a stray control character is still read: its bad row is rejected and
every other row lands. Only a sample where such bytes are common is taken for binary.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

#: How much of the file is looked at.
SAMPLE_BYTES = 64 * 1024
#: Share of control bytes (other than tab, CR, LF) above which a sample is binary. Text
#: has none or nearly none; random bytes have about 11 %; UTF-16 text has about half.
BINARY_SHARE = 0.05
#: ... and at least this many of them: a stray byte in a tiny file is not a binary file.
MIN_CONTROL_BYTES = 16
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"
_NAMES = {"jsonl": "JSON Lines", "csv": "CSV", "ftm": "FollowTheMoney JSON"}
_BLANK = b" \t\r\n\xef\xbb\xbf"  # whitespace and the bytes of a UTF-8 BOM


def _workbook_problem(path: Path) -> str | None:
    """An .xlsx file is a ZIP holding ``xl/workbook.xml``; a .docx, or a ZIP of files,
    renamed, is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" in archive.namelist():
                return None
            return f"{path}: not an XLSX workbook (a ZIP container without a workbook in it)"
    except (zipfile.BadZipFile, OSError):
        return f"{path}: not an XLSX workbook (an .xlsx file is a ZIP container; this is not)"


def content_problem(path: Path, fmt: str) -> str | None:
    """Why ``path`` cannot be a ``fmt`` file, or None."""
    if fmt == "xlsx":
        return _workbook_problem(path)
    try:
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except OSError:
        return None  # the load itself reports what stops it from reading the file
    if fmt == "csv" and len(sample) < SAMPLE_BYTES and not sample.lstrip(_BLANK):
        return f"{path}: the file is empty: a CSV file starts with a header naming its columns"
    if not sample:
        return None  # an empty JSON Lines file holds no row, which is no error
    control = len(sample) - len(sample.translate(None, _CONTROL))
    if control < MIN_CONTROL_BYTES or control / len(sample) <= BINARY_SHARE:
        return None  # text (a bad line in it, such as one starting with FF FE, is its row's)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{path}: UTF-16 text; save it as UTF-8 (CSV: UTF-8 or GB18030) and send it again"
    return (
        f"{path}: binary content ({control} control bytes in the first {len(sample)}), "
        f"not {_NAMES.get(fmt, fmt)} text"
    )
