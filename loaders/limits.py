"""How large a submission, a line and a field may be: a provider's mistake (or an attack)
must end as a clear rejection, never as a loader that reads gigabytes into memory.

The limits are settings (``CREDIT_GRAPH_LOAD_MAX_FILE_BYTES``, ``..._MAX_LINE_BYTES``,
``..._MAX_FIELD_CHARS``, ``..._MAX_XLSX_UNPACKED_BYTES``); the defaults sit far above any
real submission (the interchange format's longest text, a record title, is a few hundred
characters) and far below what hurts the machine.

- A file over ``max_file_bytes`` (or an XLSX whose parts unpack to more than
  ``max_xlsx_unpacked_bytes``: a zip bomb) is refused whole, before a row is read: it
  counts as unreadable (exit code 2 when nothing else was read).
- A JSONL or CSV line over ``max_line_bytes`` is rejected as ``line_too_long`` without
  being held in memory: the reader skips to the next line end in fixed-size chunks.
- A field over ``max_field_chars`` rejects its row as ``field_too_long``; the value is
  not copied into the rejects file.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Chunk size for skipping the rest of an over-long line.
_SKIP_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputLimits:
    max_file_bytes: int = 2 * 1024**3
    max_line_bytes: int = 1024**2
    max_field_chars: int = 10_000
    max_xlsx_unpacked_bytes: int = 1024**3

    def file_problem(self, path: Path, fmt: str) -> str | None:
        """Why the whole file is refused, or None."""
        size = path.stat().st_size
        if size > self.max_file_bytes:
            return (
                f"{path}: {size} bytes, over the limit of {self.max_file_bytes} bytes "
                "(CREDIT_GRAPH_LOAD_MAX_FILE_BYTES): split the submission into smaller files"
            )
        if fmt == "xlsx" and zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as zf:
                    unpacked = sum(info.file_size for info in zf.infolist())
            except (zipfile.BadZipFile, OSError):
                return None  # the reader says what is wrong with it
            if unpacked > self.max_xlsx_unpacked_bytes:
                return (
                    f"{path}: the workbook unpacks to {unpacked} bytes, over the limit of "
                    f"{self.max_xlsx_unpacked_bytes} (CREDIT_GRAPH_LOAD_MAX_XLSX_UNPACKED_BYTES)"
                    ": split it into smaller workbooks"
                )
        return None

    def line_too_long(self, number: int) -> str:
        return (
            f"line {number} is longer than {self.max_line_bytes} bytes "
            "(CREDIT_GRAPH_LOAD_MAX_LINE_BYTES); it was skipped unread"
        )


DEFAULT_LIMITS = InputLimits()


def read_bounded_line(fh: IO[bytes], max_bytes: int) -> tuple[bytes, bool]:
    """One physical line of at most ``max_bytes`` (with its ``\\n``), and whether it was
    cut: then the rest of it has been skipped, without keeping it in memory."""
    line = fh.readline(max_bytes + 1)
    if len(line) <= max_bytes or line.endswith(b"\n"):
        return line, False
    while True:
        rest = fh.readline(_SKIP_CHUNK)
        if not rest or rest.endswith(b"\n"):
            return line[:max_bytes], True
