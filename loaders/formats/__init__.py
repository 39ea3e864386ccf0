"""Submission formats: each reads a file into ``SourceRow``s and writes rejects in kind.

Every format yields rows in the interchange format of CONTRACT.md section 2 (a dict with
a ``type``), plus the row as it stood in the input so a rejected row can be written back
in the input's own format with its reason. A format module exposes:

- ``read(path: Path, limits: InputLimits) -> Iterator[SourceRow]``: lazily, constant
  memory, no line longer than ``limits.max_line_bytes`` held (loaders/limits.py);
- ``Rejects(target: Path)``: a ``RejectsSink`` writing that format.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from loaders.errors import RowRejected
from loaders.limits import DEFAULT_LIMITS, InputLimits

FORMATS = ("jsonl", "csv", "xlsx", "ftm")
_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".xlsx": "xlsx"}
REJECT_SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "xlsx": ".xlsx", "ftm": ".jsonl"}


@dataclass(frozen=True)
class SourceRow:
    file: Path
    #: JSONL/CSV/FtM: the line in the file; XLSX: the row in its sheet (header = 1).
    line: int
    #: XLSX: the sheet; otherwise None.
    sheet: str | None
    #: The row in the interchange format, with its ``type``; None when unreadable.
    data: dict[str, Any] | None
    #: Why the row could not even be read (bad JSON, encoding, a code Excel made a number).
    error: RowRejected | None = None
    #: The row as it stands in the input, for the rejects file.
    raw: dict[str, Any] | None = None

    @property
    def where(self) -> str:
        if self.sheet is not None:
            return f"{self.file.name}, sheet {self.sheet}, row {self.line}"
        return f"{self.file.name}:{self.line}"


class RejectsSink(ABC):
    """Rejected rows in the input's format, each with ``reason`` (and where it stood)."""

    @abstractmethod
    def write(self, row: SourceRow, reason: str, drop: Iterable[str] = ()) -> None:
        """Write one rejected row; ``drop`` names fields whose values must not be kept."""

    @abstractmethod
    def close(self) -> list[Path]:
        """Finish and return the files written (none when nothing was rejected)."""


class _FormatModule(Protocol):
    def read(self, path: Path, limits: InputLimits = ...) -> Iterator[SourceRow]: ...

    def Rejects(self, target: Path) -> RejectsSink: ...


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    found = _BY_SUFFIX.get(path.suffix.lower())
    if found is None:
        raise ValueError(
            f"{path}: cannot tell the format from the extension "
            f"(.jsonl, .csv, .xlsx; --format ftm for FollowTheMoney)"
        )
    return found


def _module(fmt: str) -> _FormatModule:
    return cast(_FormatModule, importlib.import_module(f"loaders.formats.{fmt}_format"))


def read_source(
    path: Path, fmt: str, limits: InputLimits = DEFAULT_LIMITS
) -> Iterator[SourceRow]:
    return _module(fmt).read(path, limits)


def open_rejects(fmt: str, target: Path) -> RejectsSink:
    return _module(fmt).Rejects(target)


def default_rejects_path(first_input: Path, fmt: str) -> Path:
    return first_input.with_name(first_input.stem + ".rejects" + REJECT_SUFFIX[fmt])
