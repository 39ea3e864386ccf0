"""JSON Lines: one object per line with a ``type`` field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from loaders.errors import RowRejected
from loaders.formats import RejectsSink, SourceRow
from loaders.limits import DEFAULT_LIMITS, InputLimits, read_bounded_line

_LONG_DIGITS = re.compile(rb"\d{19}")


def parse_line(text: bytes, number: int) -> Any:
    """orjson parses a line several times faster than ``json``; anything it refuses
    (a BOM, a lone surrogate escape, NaN, bad bytes, deep nesting) goes to ``json``,
    so what is accepted and every error message stay ``json``'s own. orjson turns
    integers past 64 bits into floats without a word, so a line with 19 digits in a
    row goes to ``json`` too."""
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text.decode("utf-8-sig" if number == 1 else "utf-8"))


def _twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _key_twice(text: bytes, obj: dict[str, Any]) -> str | None:
    """A key the line's top-level object has twice, or None. JSON parsers keep the last
    value without a word, where CSV and XLSX refuse a column named twice.

    Cheap for the usual line: written compactly, a line of a flat object holds ``":``
    once per key. Only a line where that count differs, or with a blank after a quote,
    is parsed again, keeping every key."""
    if text.count(b'":') == len(obj) and _QUOTE_BLANK.search(text) is None:
        return None
    try:
        # The hook runs for every object, nested ones too: a nested key twice is as wrong.
        json.loads(text.decode("utf-8-sig"), object_pairs_hook=_twice)
    except _DuplicateKey as e:
        return e.key
    except (ValueError, RecursionError):
        return None  # parsed once already; an object nested too deep is refused elsewhere
    return None


#: One search for the four, not four: this runs on every line (0.7 µs against 2.3).
_QUOTE_BLANK = re.compile(rb'"[ \t\r\n]')


def json_objects(
    path: Path, limits: InputLimits, not_an_object: str, *, unique_keys: bool = False
) -> Iterator[tuple[int, dict[str, Any] | RowRejected]]:
    """Each non-blank line of a JSON-lines file (rows here, FtM entities in
    ``ftm_format``): its number, and its object or why the line was refused
    (``not_an_object`` when it is JSON but not an object; with ``unique_keys``, a key
    given twice)."""
    with path.open("rb") as fh:
        number = 0
        while True:
            raw, cut = read_bounded_line(fh, limits.max_line_bytes)
            if not raw:
                return
            number += 1
            if cut:
                yield number, RowRejected("line_too_long", limits.line_too_long(number))
                continue
            text = raw.strip()
            if not text:
                continue
            try:
                obj = parse_line(text, number)
            except UnicodeDecodeError:
                yield number, RowRejected("bad_encoding", "line is not valid UTF-8")
                continue
            except json.JSONDecodeError as e:
                yield number, RowRejected(
                    "malformed", f"not a JSON object: {e.msg} at column {e.colno}"
                )
                continue
            except RecursionError:
                yield number, RowRejected("malformed", "not a row: JSON nested too deeply")
                continue
            if not isinstance(obj, dict):
                yield number, RowRejected("malformed", not_an_object)
                continue
            if unique_keys and (key := _key_twice(text, obj)) is not None:
                yield number, RowRejected("malformed", f"the line names {key!r} twice")
                continue
            yield number, obj


def read(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> Iterator[SourceRow]:
    for number, found in json_objects(
        path, limits, "a row must be a JSON object with a 'type' field", unique_keys=True
    ):
        if isinstance(found, RowRejected):
            yield SourceRow(path, number, None, None, found)
        else:
            yield SourceRow(path, number, None, found, None, found)


def _named_non_finite(value: Any) -> Any:
    """A row rejected for ``Infinity``, ``NaN`` or ``1e999`` must still be a line any
    strict JSON parser reads (a provider's tools, a browser): the value is written as
    its name, a string, and the reason beside it says what was wrong."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _named_non_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_named_non_finite(v) for v in value]
    return value


class Rejects(RejectsSink):
    """JSON lines: the row as sent, minus dropped fields, plus reason, file and line."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._fh: IO[str] | None = None

    def kept(self, raw: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k not in dropped}

    def write(self, row: SourceRow, reason: str, drop: Iterable[str] = ()) -> None:
        if self._fh is None:
            self._fh = self.target.open("w", encoding="utf-8")
        out = self.kept(row.raw or {}, set(drop))
        out.update({"reason": reason, "file": str(row.file), "line": row.line})
        try:
            text = json.dumps(out, ensure_ascii=False, allow_nan=False)
        except ValueError:  # Infinity or NaN, which only lenient parsers read back
            text = json.dumps(_named_non_finite(out), ensure_ascii=False, allow_nan=False)
        self._fh.write(text + "\n")

    def close(self) -> list[Path]:
        if self._fh is None:
            return []
        self._fh.close()
        self._fh = None
        return [self.target]
