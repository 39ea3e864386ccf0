"""One submitted row -> a validated domain model, or a rejection with its reason.

Rejection reasons never carry a clear ID number nor the value of a prohibited field:
they end up in rejects files, summaries and logs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from graph.text_guard import text_problem
from loaders.errors import RowRejected
from loaders.formats import CODE_FIELDS, DATE_FIELDS, REJECTS_COLUMNS
from loaders.limits import DEFAULT_LIMITS
from schema.codes import is_external
from schema.models import Entity, Person, Record, Role, RowAction, enum_spelling
from schema.policy import Policy, ProhibitedField
from schema.workdays import china_today

MODELS: dict[str, type[BaseModel]] = {
    "entity": Entity,
    "person": Person,
    "role": Role,
    "record": Record,
}

Model = Entity | Person | Role | Record

__all__ = [
    "MODELS", "ParsedRow", "RowRejected", "Withdrawal", "guard_rejected", "parse_row",
    "screens_out",
]


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


_VALUE_TYPES = frozenset({
    "enum", "literal_error", "finite_number", "float_parsing", "float_type", "int_parsing",
    "bool_parsing", "greater_than_equal", "less_than_equal", "string_too_long", "string_type",
})
#: When a row has several problems, the summary counts it under the first of these.
_PRIORITY = ("unknown_column", "bad_code", "bad_date", "bad_value", "missing_field", "invalid")


def _error_category(err: Any) -> str:
    kind = err["type"]
    field = str(err["loc"][0]) if err["loc"] else ""
    if kind == "extra_forbidden":
        return "unknown_column"
    if kind == "missing":
        return "missing_field"
    if field in CODE_FIELDS:
        return "bad_code"
    if field in DATE_FIELDS or "date" in kind:
        return "bad_date"
    if kind == "string_too_short":
        return "missing_field"  # an empty name or id in JSON, as an empty CSV cell is
    if kind in _VALUE_TYPES or (field and kind == "value_error"):
        return "bad_value"
    return "invalid"  # the row as a whole: dates out of order, a role its holder cannot hold


def _category(e: ValidationError) -> str:
    """The summary's category, from each error's field and type: these counts feed the
    providers' report (Nantong Art. 5), so a bad date must not count as a bad code
    because its message happens to say "character"."""
    found = {_error_category(err) for err in e.errors(include_url=False, include_input=False)}
    return next(c for c in _PRIORITY if c in found)


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
    return (
        "\x00" not in joined
        and _UNPRINTABLE.search(joined) is None
        and (joined.isascii() or text_problem(joined) is None)
    )


#: Characters no text of a submission holds and XML cannot carry at all (C0 controls but
#: tab, line feed and carriage return; U+FFFE, U+FFFF): stored, one of them in a name made
#: every GraphML and GEXF export of its neighbourhood unreadable.
_UNPRINTABLE = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _unprintable(text: str) -> str | None:
    found = _UNPRINTABLE.search(text)
    if found is None:
        return None
    return f"contains U+{ord(found.group()):04X}, a control code no text holds"


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


def _prohibited_reason(policy: Policy, found: list[tuple[str, ProhibitedField]]) -> str:
    names = ", ".join(f"'{path}' ({pf.article})" for path, pf in found)
    return f"prohibited field {names} under policy {policy.name}: row rejected, value not stored"


#: Deeper than this, a value is not searched but dropped whole: no field of the format
#: nests at all, and a row nested this deep is rejected anyway.
_MAX_DEPTH = 16


def _scrubbed(policy: Policy, value: Any, path: str, depth: int,
              found: list[tuple[str, ProhibitedField]]) -> tuple[Any, bool]:
    """``value`` without prohibited keys at any depth (a copy where one was found), and
    False when it is too deep to search and must be dropped whole."""
    if depth > _MAX_DEPTH:
        return None, False
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            where = f"{path}.{k}"
            pf = _prohibited(policy, k)
            if pf is not None:
                found.append((where, pf))
                continue
            kept, ok = _scrubbed(policy, v, where, depth + 1, found)
            if not ok:
                return None, False
            out[k] = kept
        return out, True
    if isinstance(value, list):
        items = []
        for v in value:
            kept, ok = _scrubbed(policy, v, path, depth + 1, found)
            if not ok:
                return None, False
            items.append(kept)
        return items, True
    return value, True


def screens_out(policy: Policy, screened: Iterable[tuple[str, str]]) -> bool:
    """Whether ``policy`` prohibits one of a row's screened fields (``SourceRow.screened``,
    names only: the row's values are not looked at)."""
    return any(_prohibited(policy, name) is not None for _where, name in screened)


def _screened_found(
    policy: Policy, screened: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, ProhibitedField]]:
    """Where -> (how the reason names it, the field) for each prohibited screened place;
    a place that stands for a field under another name says which."""
    named: dict[str, tuple[str, ProhibitedField]] = {}
    for where, name in screened:
        pf = _prohibited(policy, name)
        if pf is None or where in named:
            continue
        own = where.rsplit(".", 1)[-1] == name
        named[where] = (where if own else f"{where} (as {pf.key})", pf)
    return named


def guard_rejected(
    policy: Policy,
    raw: dict[str, Any] | None,
    rejection: RowRejected,
    screened: Iterable[tuple[str, str]] = (),
) -> tuple[dict[str, Any] | None, RowRejected]:
    """A rejected row as it may be written to the rejects file, and its rejection.

    Whatever the row was rejected for (a malformed CSV row, an unknown type, a text
    problem, a bad code), a prohibited field it carries, at the top or nested in another
    value, is named and its value kept out (DOMAIN.md section 4): the rejects file goes
    back to the provider and may be passed around, so it must not hold what may not be
    collected. Such a row counts as ``prohibited_field``, the category regulators follow.
    ``screened``: what the format says the row carries besides ``raw``
    (``SourceRow.screened``); a prohibited one is named and dropped by its last name.
    """
    named = _screened_found(policy, screened)
    if not raw and not named:
        return raw, rejection
    found: list[tuple[str, ProhibitedField]] = []
    drop = list(rejection.drop_fields)
    drop += [where.rsplit(".", 1)[-1] for where in named]
    kept: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        pf = _prohibited(policy, key)
        if pf is not None:
            found.append((str(key), pf))
            drop.append(key)
            kept[key] = value  # blanked by the writer through ``drop``, column kept
            continue
        before = len(found)
        clean, ok = _scrubbed(policy, value, str(key), 1, found)
        if not ok:
            drop.append(key)
            kept[key] = value
        else:
            kept[key] = clean if len(found) > before else value
    found = list(named.values()) + [f for f in found if f[0] not in named]
    if not found:
        return raw, rejection
    reason = _prohibited_reason(policy, found)
    if rejection.category != "prohibited_field":
        reason += f"; also {rejection.reason}"
    drop_fields = tuple(dict.fromkeys(drop))
    return (kept if raw else raw), RowRejected("prohibited_field", reason, drop_fields=drop_fields)


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
            elif (problem := text_problem(text) or _unprintable(text)) is not None:
                found = RowRejected("bad_text", f"{name}: {problem}; value not stored")
            else:
                continue
            first = first or found
            dropped.append(key)
            break
    if first is None:
        return None
    return RowRejected(first.category, first.reason, drop_fields=tuple(dropped))


#: A file may come from a day ahead of the loader's clock (time zones).
_CLOCK_SLACK = dt.timedelta(days=1)


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
        found = [(str(k), pf) for k in prohibited if (pf := _prohibited(policy, k)) is not None]
        raise RowRejected(
            "prohibited_field", _prohibited_reason(policy, found), drop_fields=tuple(prohibited)
        )
    row_type = data.get("type")
    if row_type not in MODELS:
        raise RowRejected("unknown_type", f"type: {row_type!r} is not one of {', '.join(MODELS)}")
    fields = {k: v for k, v in data.items() if k != "type" and k not in REJECTS_COLUMNS}
    if row_type == "record" and _is_withdrawal(fields.get("action")):
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
    if isinstance(model, Record):
        _no_future_dates(model, today)
    return ParsedRow(line, row_type, model)  # type: ignore[arg-type]


def _is_withdrawal(action: Any) -> bool:
    """``action`` spelt as the model reads it (``Record``'s enumeration spelling):
    ``" withdraw"`` or ``"WITHDRAW"`` withdraws, as ``"withdraw"`` does."""
    return isinstance(action, str) and enum_spelling(action) == RowAction.WITHDRAW.value


#: A record's dates that cannot lie after the day it is submitted, and why.
_PAST_DATES = (
    ("decided_on", "no decision is submitted before it is made"),
    ("act_ended_on", "no act is known to have ended before it ends"),
)


def _no_future_dates(model: Record, today: dt.date) -> None:
    """A decision dated after today does not exist yet: a typo (2202 for 2022) that
    would ground measures from that day on and make every analysis of the record's span
    run to it. An act that ended after today is the same typo, and worse: the act date
    decides who answers for the record (CONTRACT.md section 4, rule 2), so 2035 for 2025
    moved it past a change of legal representative and made the successor answer.
    China's day by the clock, or the day the load is dated if later (a load replayed as of
    another day judges by that day)."""
    latest = max(today, china_today()) + _CLOCK_SLACK
    for name, why in _PAST_DATES:
        day = getattr(model, name)
        if day is not None and day > latest:
            raise RowRejected(
                "bad_date",
                f"{name}: {day.isoformat()} is after today "
                f"({(latest - _CLOCK_SLACK).isoformat()}): {why}",
            )
