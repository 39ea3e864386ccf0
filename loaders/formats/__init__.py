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
#: The columns a rejects file adds to each row. No row type has a field of these names,
#: so a reader ignores them: a fixed rejects file is loaded again as it is.
REJECTS_COLUMNS = ("reason", "file", "line")
#: Fields holding subject codes, and fields holding dates (CONTRACT.md section 2): the
#: XLSX reader refuses numbers in them, the validator counts their errors as bad codes
#: and bad dates.
CODE_FIELDS = frozenset({"code", "entity", "holder", "subject", "responsible"})
DATE_FIELDS = frozenset(
    {"established", "terminated", "since", "until", "decided_on", "act_ended_on", "valid_until"}
)


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
    #: XLSX: the type its sheet's or workbook's name gives the row, written into the
    #: rejects sheet so the fixed row keeps it whatever that sheet is called.
    given_type: str | None = None
    #: FtM: the id a subject row's entity has in the export. The node keeps it
    #: (``ftm_ids``) so that a later file can name the subject by it.
    ftm_id: str | None = None
    #: Fields of the input a policy may prohibit that ``data`` need not show, as (where
    #: in ``raw``, the field a policy may call it; one place may stand for several
    #: fields): FtM properties, most of which ``data`` does not carry and some of which
    #: ``raw`` leaves out. A format knows no policy, so the pipeline rejects the row
    #: when the active one prohibits one (DOMAIN.md section 4).
    screened: tuple[tuple[str, str], ...] = ()

    @property
    def where(self) -> str:
        if self.sheet is not None:
            return f"{self.file.name}, sheet {self.sheet}, row {self.line}"
        return f"{self.file.name}:{self.line}"


class RejectsSink(ABC):
    """Rejected rows in the input's format, each with ``reason`` (and where it stood)."""

    #: Paths never to write to: the files being loaded (a sink that writes more than one
    #: file picks its further names around them).
    avoid: frozenset[Path] = frozenset()

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


def open_rejects(fmt: str, target: Path, avoid: frozenset[Path] = frozenset()) -> RejectsSink:
    sink = _module(fmt).Rejects(target)
    sink.avoid = avoid
    return sink


def same_file_key(path: Path) -> Path:
    """What two spellings of one file (relative, absolute, through a symlink) share."""
    return path.resolve()


def free_path(path: Path, avoid: frozenset[Path]) -> Path:
    """``path``, or ``<stem>-2<suffix>``, ``-3``... beside it if it is one of ``avoid``:
    a rejects file written over an input destroys the rows it has not read yet."""
    n, found = 1, path
    while same_file_key(found) in avoid:
        n += 1
        found = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return found


def default_rejects_path(
    first_input: Path, fmt: str, avoid: frozenset[Path] = frozenset()
) -> Path:
    wanted = first_input.with_name(first_input.stem + ".rejects" + REJECT_SUFFIX[fmt])
    return free_path(wanted, avoid)
