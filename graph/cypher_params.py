"""FalkorDB's parameter header (``CYPHER k=v ...``), built fast and checked once.

FalkorDB takes parameters as Cypher literals in front of the query text. The client's
own encoder (``falkordb.helpers.stringify_param_value``) and the text guard
(``graph.text_guard.check_params``) each walked every value of every batch; a load
sends a few million values, and the two walks were about a sixth of the loader's CPU.
This writes the same text as the client, byte for byte (a test holds it to that), in
one walk, and checks the finished text instead of each value: a NUL or a lone
surrogate anywhere in the header can only have come from a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graph.text_guard import text_problem
from schema.errors import InvalidInput

#: Map keys already checked (the loader's keys repeat on every row).
_GOOD_KEYS: set[str] = set()


def _key(k: Any) -> str:
    text = k.decode() if isinstance(k, bytes) else str(k)
    if text == "":
        raise ValueError("Cypher map key cannot be empty")
    if "`" in text:
        raise ValueError(f"Cypher map key cannot contain a backtick: {text!r}")
    if type(k) is str and len(_GOOD_KEYS) < 10_000:
        _GOOD_KEYS.add(text)
    return text


def _string(value: str) -> str:
    # Two replaces only when needed: most text has neither character.
    if '"' in value or "\\" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{value}"'


def literal(value: Any) -> str:
    """``value`` as the Cypher literal the FalkorDB client would write for it."""
    t = type(value)
    if t is str:
        return _string(value)
    if value is None:
        return "null"
    if t is dict:
        if not _GOOD_KEYS.issuperset(value):  # one set operation instead of a check per key
            value = {_key(k): v for k, v in value.items()}
        return "{" + ",".join([f"`{k}`:{literal(v)}" for k, v in value.items()]) + "}"
    if t is list or t is tuple:
        return "[" + ",".join([literal(v) for v in value]) + "]"
    if isinstance(value, str):
        return _string(str.__str__(value))
    if isinstance(value, bytes):
        return _string(value.decode())
    if isinstance(value, Mapping):
        return literal(dict(value))
    if isinstance(value, list | tuple):
        return literal(list(value))
    return str(value)


def header(
    params: Mapping[str, Any] | None, *, encoded_rows: Sequence[str] | None = None
) -> str:
    """The ``CYPHER ...`` prefix for ``params`` (empty without any); raises
    ``InvalidInput`` for text no engine can store as sent (``graph.text_guard``).

    ``encoded_rows``: a ``rows`` parameter whose items are already literals (made by
    ``literal``, possibly in another process); the finished text is checked all the same.
    """
    if not params and encoded_rows is None:
        return ""
    text = "CYPHER " + "".join(f"`{_key(k)}`={literal(v)} " for k, v in (params or {}).items())
    if encoded_rows is not None:
        text += "`rows`=[" + ",".join(encoded_rows) + "] "
    if "\x00" in text or not text.isascii():
        problem = text_problem(text)
        if problem is not None:
            raise InvalidInput(f"text {problem}: it cannot be stored or searched as sent")
    return text
