"""Run the joint-punishment check: validate the code, one traversal, the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from graph.record_versions import with_content_on
from graph.store import GraphStore
from queries.check import CHECK_TRAVERSAL, ROLE_PARAMS
from schema.access import AccessRules, Caller, can_see_persons
from schema.catalogue import Catalogue
from schema.codes import classify, is_external, validate_external
from schema.policy import Policy
from schema.record_view import act_date_on
from schema.sanctions import SanctionCheck, evaluate
from schema.workdays import china_today

# Open ends of dated roles, as ISO strings that sort before / after every real date.
MIN_DATE = "0001-01-01"
MAX_DATE = "9999-12-31"

#: ``visible(row)``: may the caller see the record of this traversal row?
RowVisible = Callable[[Mapping[str, Any]], bool]


def check_sanctions(
    store: GraphStore,
    code: str,
    *,
    policy: Policy,
    catalogue: Catalogue,
    as_of: dt.date | None = None,
    measure: str | None = None,
    visible: RowVisible | None = None,
    check_id: str | None = None,
    as_known: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> SanctionCheck:
    """``as_known``: given the traversal's rows, the rows with their records' life as it
    was known at an earlier moment (``api.feedback``, judging a report on what its check
    answered when it was made)."""
    key = check_key(code)
    day = as_of or china_today()
    rows = store.read(
        CHECK_TRAVERSAL,
        {
            "code": key,
            "as_of": day.isoformat(),
            "min_date": MIN_DATE,
            "max_date": MAX_DATE,
            "named": "responsible",
            "negative": "negative",
            **ROLE_PARAMS,
        },
    )
    if as_known is not None:
        rows = as_known(rows)
    rows = [r for r in with_content_on(store, rows, day) if _reaches_on(r, day.isoformat())]
    return evaluate(
        key, rows, as_of=day, policy=policy, catalogue=catalogue, measure=measure,
        visible=visible, check_id=check_id,
    )


def _reaches_on(row: Mapping[str, Any], day: str) -> bool:
    """The traversal's filters on a record's content, applied to the content it had on
    ``day``: the traversal passes a record changed since unfiltered (``queries.check``).
    For the others this repeats what the engine already checked."""
    rec = row.get("record")
    if not rec:
        return True
    decided = str(rec.get("decided_on") or "")
    if not decided or decided > day:
        return False
    if row["reach"] == "officer" and rec.get("category") != "negative":
        return False
    term = row.get("role_term")
    if term is not None:
        since, until = term
        act = act_date_on(rec, dt.date.fromisoformat(day))
        assert act is not None  # it has a decision date (above)
        return str(since or MIN_DATE) <= act.isoformat() <= str(until or MAX_DATE)
    return True


def check_key(code: str, field: str = "code") -> str:
    """The normalised code (USCC, ID number or ``ftm:`` id); ``InvalidCode`` for a bad one,
    naming ``field`` and masking ID numbers."""
    if isinstance(code, str) and is_external(code):
        return validate_external(code, field)
    return classify(code, field).code


def visible_to(
    rules: AccessRules, caller: Caller, code: str, as_of: dt.date, now: dt.date | None = None
) -> RowVisible:
    """What ``caller`` may see of a check of ``code`` (normalised) as of ``as_of``.

    One definition for the check a caller receives and for everything later judged
    against that check (a report of an applied measure): judged with more visibility,
    a report would succeed or fail on a record the caller's check never showed, and so
    tell it that the record exists."""

    def visible(row: Mapping[str, Any]) -> bool:
        if row["reach"] == "officer" and not can_see_persons(caller, rules.policy):
            return False
        return rules.can_see_record(
            caller,
            row["record"],
            subject_kind=str(row["record_subject_kind"]),
            subject_ended=row.get("record_subject_ended"),
            today=as_of,
            about=code if row["reach"] in ("role", "named") else None,
            now=now,
        )

    return visible
