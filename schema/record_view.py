"""A record node's properties read back as the facts the policy rules take.

The check, the access rules and the profile all ask the same questions of a stored
record (its severity, its dates, when its disclosure period ends), so the conversion
from graph properties lives here once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from schema.models import Category, ListKind, Severity
from schema.policy import Policy, RecordFacts
from schema.workdays import china_day


def as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def stamp_day(value: Any) -> dt.date | None:
    """China's day of a stored time (``superseded_at`` is written in UTC): a version
    superseded at 18:00 UTC was superseded on the next day in China, and the content of
    China's previous day is the version's."""
    if value is None or value == "":
        return None
    return china_day(dt.datetime.fromisoformat(str(value)))


def act_date_on(rec: Mapping[str, Any], day: dt.date) -> dt.date | None:
    """The act date of CONTRACT rule 2 (``act_ended_on``, else ``decided_on``) as known
    on ``day``: an act whose given end is later was still going on that day. The check's
    traversal applies the same rule in the engine (``queries.check._ACT_ON``)."""
    act = as_date(rec.get("act_ended_on")) or as_date(rec.get("decided_on"))
    return None if act is None else min(act, day)


def record_facts(rec: Mapping[str, Any], subject_kind: str, subject_ended: Any) -> RecordFacts:
    """A black-list record without a severity is serious dishonesty (Nantong Art. 17)."""
    category = Category(rec["category"])
    list_kind = ListKind(rec["list"]) if rec.get("list") else None
    severity: Severity | None = None
    if category is Category.NEGATIVE:
        if rec.get("severity"):
            severity = Severity(rec["severity"])
        else:
            severity = Severity.SERIOUS if list_kind is ListKind.BLACK else Severity.GENERAL
    decided_on = as_date(rec["decided_on"])
    assert decided_on is not None
    return RecordFacts(
        category=category,
        severity=severity,
        list=list_kind,
        subject_kind=subject_kind,  # type: ignore[arg-type]
        kind=rec.get("kind", ""),
        decided_on=decided_on,
        act_ended_on=as_date(rec.get("act_ended_on")),
        valid_until=as_date(rec.get("valid_until")),
        subject_ended_on=as_date(subject_ended),
    )


def disclosed_until(
    rec: Mapping[str, Any], subject_kind: str, subject_ended: Any, policy: Policy
) -> dt.date | None:
    """Last day the record is disclosed under ``policy``; ``None``: no fixed end."""
    return policy.validity_end(record_facts(rec, subject_kind, subject_ended))
