"""One submitted row -> a validated domain model, or a rejection with its reason.

Rejection reasons never carry a clear ID number nor the value of a prohibited field:
they end up in rejects files, summaries and logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from graph.text_guard import text_problem
from loaders.errors import RowRejected
from loaders.limits import DEFAULT_LIMITS
from schema.codes import is_external
from schema.models import Entity, Person, Record, Role, RowAction
from schema.policy import Policy, ProhibitedField

MODELS: dict[str, type[BaseModel]] = {
    "entity": Entity,
    "person": Person,
    "role": Role,
    "record": Record,
}

Model = Entity | Person | Role | Record

__all__ = ["MODELS", "ParsedRow", "RowRejected", "Withdrawal", "parse_row"]


@dataclass(frozen=True)
class Withdrawal:
    """A ``record`` row with ``action: withdraw``: only its id is needed."""

    id: str


@dataclass(frozen=True)
class ParsedRow:
    line: int
    type: str
    model: Model | Withdrawal


def _format_validation(e: ValidationError) -> str:
    parts = []
    for err in e.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(x) for x in err["loc"]) or "row"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown column"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def _category(e: ValidationError) -> str:
    types = {err["type"] for err in e.errors(include_url=False, include_input=False)}
    msgs = " ".join(str(err["msg"]) for err in e.errors(include_url=False, include_input=False))
    if "extra_forbidden" in types:
        return "unknown_column"
    if "checksum" in msgs or "length" in msgs or "birth date" in msgs or "character" in msgs:
        return "bad_code"
    if any("date" in t for t in types):
        return "bad_date"
    if any(t in types for t in ("enum", "literal_error", "finite_number")):
        return "bad_value"
    if "missing" in types:
        return "missing_field"
    return "invalid"


_PROHIBITED: dict[tuple[str, str], ProhibitedField | None] = {}


def _prohibited(policy: Policy, column: object) -> ProhibitedField | None:
    """Column names repeat on every row of a file: match each spelling once per policy."""
    if not isinstance(column, str):
        return None
    key = (policy.name, column)
    if key not in _PROHIBITED:
        if len(_PROHIBITED) > 10_000:
            _PROHIBITED.clear()
        _PROHIBITED[key] = policy.prohibited_field(column)
    return _PROHIBITED[key]


def _all_text_clean(data: dict[Any, Any], max_field_chars: int) -> bool:
    """True when no key or value can be a problem, found with one check of the row's
    text joined together instead of one per value: nearly every row is clean, and this
    check was a fifth of the time spent validating a row. Any doubt goes to the full
    check, which names the field."""
    texts = [k for k in data if type(k) is str]
    if len(texts) != len(data):
        return False
    for value in data.values():
        t = type(value)
        if t is str:
            texts.append(value)
        elif t is list:
            if not all(type(v) is str for v in value):
                return False
            texts.extend(value)
        elif isinstance(value, str | list):  # subclasses: leave them to the full check
            return False
    if max(map(len, texts), default=0) > max_field_chars:
        return False
    joined = "".join(texts)
    return "\x00" not in joined and (joined.isascii() or text_problem(joined) is None)


_PROHIBITED_IN: dict[tuple[str, tuple[Any, ...]], list[Any]] = {}


def _prohibited_columns(policy: Policy, data: dict[Any, Any]) -> list[Any]:
    """The prohibited columns of a row, looked up once per set of columns: the rows of a
    file have a handful of column sets between them."""
    key = (policy.name, tuple(data))
    found = _PROHIBITED_IN.get(key)
    if found is None:
        if len(_PROHIBITED_IN) > 10_000:
            _PROHIBITED_IN.clear()
        found = _PROHIBITED_IN[key] = [k for k in data if _prohibited(policy, k) is not None]
    return found


def _text_problem(data: dict[Any, Any], max_field_chars: int) -> RowRejected | None:
    """Fields too long to be real values, or text no engine stores as sent (a NUL, a lone
    surrogate from a JSON escape): the row is rejected for the first, and every such value
    is kept out of the rejects file too."""
    if _all_text_clean(data, max_field_chars):
        return None
    first: RowRejected | None = None
    dropped: list[Any] = []
    for key, value in data.items():
        name = key if isinstance(key, str) and text_problem(key) is None else "a column name"
        for text in [key, *(value if isinstance(value, list) else [value])]:
            if not isinstance(text, str):
                continue
            if len(text) > max_field_chars:
                found = RowRejected(
                    "field_too_long",
                    f"{name}: {len(text)} characters, more than the {max_field_chars} a field "
                    "may hold (CREDIT_GRAPH_LOAD_MAX_FIELD_CHARS); value not stored",
                )
            elif (problem := text_problem(text)) is not None:
                found = RowRejected("bad_text", f"{name}: {problem}; value not stored")
            else:
                continue
            first = first or found
            dropped.append(key)
            break
    if first is None:
        return None
    return RowRejected(first.category, first.reason, drop_fields=tuple(dropped))


def parse_row(
    data: Any,
    line: int,
    policy: Policy,
    today: dt.date,
    max_field_chars: int = DEFAULT_LIMITS.max_field_chars,
) -> ParsedRow:
    """Validate one row of the interchange format (CONTRACT.md section 2)."""
    if not isinstance(data, dict):
        raise RowRejected("malformed", "a row must be an object with a 'type' field")
    bad_text = _text_problem(data, max_field_chars)
    if bad_text is not None:
        raise bad_text
    prohibited = _prohibited_columns(policy, data)
    if prohibited:
        names = []
        for k in prohibited:
            pf = _prohibited(policy, k)
            assert pf is not None
            names.append(f"'{k}' ({pf.article})")
        raise RowRejected(
            "prohibited_field",
            f"prohibited field {', '.join(names)} under policy {policy.name}: "
            "row rejected, value not stored",
            drop_fields=tuple(prohibited),
        )
    row_type = data.get("type")
    if row_type not in MODELS:
        raise RowRejected("unknown_type", f"type: {row_type!r} is not one of {', '.join(MODELS)}")
    fields = {k: v for k, v in data.items() if k != "type"}
    if row_type == "record" and fields.get("action") == RowAction.WITHDRAW.value:
        unknown = set(fields) - set(Record.model_fields)
        if unknown:
            raise RowRejected("unknown_column", f"{sorted(unknown)[0]}: unknown column")
        rid = fields.get("id")
        if not isinstance(rid, str) or not rid.strip():
            raise RowRejected("missing_field", "id: a withdrawal names the record id")
        return ParsedRow(line, row_type, Withdrawal(rid.strip()))
    try:
        model = MODELS[row_type].model_validate(fields)
    except ValidationError as e:
        raise RowRejected(_category(e), _format_validation(e)) from None
    if isinstance(model, Person) and not is_external(model.code):
        age = model.code_info.age_on(today)
        if age < policy.min_age:
            raise RowRejected(
                "under_age",
                f"code: the person is {age}, under the minimum age {policy.min_age} "
                f"of policy {policy.name} ({policy.minimum_age.article})",
            )
    return ParsedRow(line, row_type, model)  # type: ignore[arg-type]
