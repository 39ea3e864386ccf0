"""Text no engine can store as sent is refused before it reaches one.

FalkorDB receives parameters inside the query text, a C string: a NUL character (U+0000)
ends it there, and the engine then fails on a truncated query. A lone surrogate
(``"\\ud800"`` in JSON) is not encodable as UTF-8 on either engine's wire. Both turned a
caller's text into an internal error; refusing them with ``InvalidInput`` says what is
wrong and keeps both engines alike (Neo4j would store the NUL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schema.errors import InvalidInput


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored verbatim, or None."""
    if "\x00" in value:
        return "contains the NUL character (U+0000)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not a Unicode character)"
    return None


def _walk(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _walk(k) or _walk(v)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for v in value:
            found = _walk(v)
            if found:
                return found
    return None


def check_params(params: Mapping[str, Any] | None) -> None:
    """Raise ``InvalidInput`` when some text in ``params`` cannot be stored as sent."""
    if not params:
        return
    found = _walk(params)
    if found is not None:
        raise InvalidInput(f"text {found}: it cannot be stored or searched as sent")
