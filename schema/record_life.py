"""Where a credit record stands on a given date (DOMAIN.md sections 6 and 7).

A record's effect changes through time and procedures: it is formed on its decision
date, archived when its disclosure period ends, withdrawn by its provider, revoked,
repaired, deleted on an upheld objection, withheld or suspended while a provider misses
its objection deadline. Nothing is rewritten in place: every procedure adds an ``Event``
and appends a dated entry to the record's ``states`` (``YYYY-MM-DD|status|event id``);
objections keep their dated steps in ``objections`` (JSON). Both travel with the node's
properties, so the check, the access rules and the profile answer for any date, past or
future, from one read and one function, without a traversal per record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from schema.policy import Policy, RecordFacts
from schema.record_view import as_date, record_facts, stamp_day
from schema.workdays import add_working_days


class Standing(StrEnum):
    """What a record is on a date. Only ``in_force`` is disclosed and grounds measures,
    and ``in_force`` under an objection may still be withheld by the policy."""

    NOT_YET = "not_yet"  # its decision date has not come
    IN_FORCE = "in_force"
    ARCHIVED = "archived"  # past its disclosure period: kept, never shown, grounds nothing
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    REPAIRED = "repaired"
    DELETED = "deleted"
    WITHHELD = "withheld"  # disclosure stopped (Wuhan Art. 31: provider missed its deadline)
    SUSPENDED = "suspended"  # query suspended until the provider replies (Huancui Art. 29)


#: Statuses a procedure can set through ``states`` (``active`` restores a record).
STATE_STATUSES = frozenset({"active", "withdrawn", "revoked", "repaired", "deleted"})


def state_entry(effective: dt.date, status: str, event_id: str) -> str:
    return f"{effective.isoformat()}{state_tail(status, event_id)}"


def state_tail(status: str, event_id: str) -> str:
    """An entry without its date, for a writer that dates it in the query (the loader
    dates a withdrawal or revival no earlier than the record's latest entry)."""
    if status not in STATE_STATUSES:
        raise ValueError(f"not a record status: {status!r}")
    return f"|{status}|{event_id}"


@dataclass(frozen=True)
class StateChange:
    effective: dt.date
    status: str
    event_id: str


def state_changes(rec: Mapping[str, Any]) -> list[StateChange]:
    """In effective order; entries with the same date keep the order they were made in."""
    out = []
    for raw in rec.get("states") or []:
        day, status, event_id = str(raw).split("|", 2)
        out.append(StateChange(dt.date.fromisoformat(day), status, event_id))
    return sorted(out, key=lambda c: c.effective)  # stable: same-day entries keep order


def status_on(rec: Mapping[str, Any], day: dt.date) -> str:
    """The status procedures gave the record on ``day``.

    Records loaded before ``states`` existed carry only ``status``; for them the current
    status stands for every date, which is what the graph knew before.
    """
    changes = state_changes(rec)
    if not changes:
        return str(rec.get("status") or "active")
    status = "active"
    for c in changes:
        if c.effective > day:
            break
        status = c.status
    return status


def states_without(rec: Mapping[str, Any], event_ids: Collection[str]) -> list[str]:
    """The record's ``states`` entries but those the events ``event_ids`` made."""
    return [str(raw) for raw in rec.get("states") or []
            if str(raw).split("|", 2)[-1] not in event_ids]


def status_without(rec: Mapping[str, Any], day: dt.date, event_id: str) -> str:
    """The status on ``day`` as if the entry made by ``event_id`` had never been made.

    Undoing one procedure (a repair stopped in its publicity) must give back what the
    other procedures made of the record, e.g. a revocation recorded since, not ``active``.
    """
    kept = states_without(rec, {event_id})
    if not kept:
        return "active"
    return status_on({**rec, "states": kept}, day)


def latest_change_on(rec: Mapping[str, Any], today: dt.date) -> dt.date | None:
    """The date of the latest state change already in effect by ``today`` (an approved
    repair still in its publicity is dated later and is not counted)."""
    days = [c.effective for c in state_changes(rec) if c.effective <= today]
    return max(days) if days else None


@dataclass(frozen=True)
class ObjectionWindow:
    """An objection's dated steps as the record carries them.

    ``provider_due`` is fixed when the platform forwards the objection; before that the
    provider cannot be late. ``disputed``: the subject still disputes after the outcome
    (Huancui Art. 29 keeps the mark).
    """

    id: str
    filed_on: dt.date
    forwarded_on: dt.date | None = None
    provider_due: dt.date | None = None
    replied_on: dt.date | None = None
    resolved_on: dt.date | None = None
    outcome: str | None = None
    disputed: bool = False

    def pending_on(self, day: dt.date) -> bool:
        return self.filed_on <= day and (self.resolved_on is None or day < self.resolved_on)

    def provider_late_on(self, day: dt.date) -> bool:
        """The provider's deadline passed before ``day`` with no reply by ``day``."""
        if self.provider_due is None or day <= self.provider_due:
            return False
        return self.replied_on is None or self.replied_on > day

    def provider_missed_deadline_by(self, day: dt.date) -> bool:
        """By ``day``, the deadline had passed without a reply in time (late reply or none)
        while the objection was still pending on the due day.

        Wuhan Art. 31 stops disclosure because the provider failed to verify a *pending*
        objection; once the platform has resolved it (on or before the due day) no reply
        is owed any more, so there is no deadline left to miss.
        """
        if self.provider_due is None or day <= self.provider_due:
            return False
        if self.resolved_on is not None and self.resolved_on <= self.provider_due:
            return False
        return self.replied_on is None or self.replied_on > self.provider_due

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filed_on": self.filed_on.isoformat(),
            "forwarded_on": _iso(self.forwarded_on),
            "provider_due": _iso(self.provider_due),
            "replied_on": _iso(self.replied_on),
            "resolved_on": _iso(self.resolved_on),
            "outcome": self.outcome,
            "disputed": self.disputed,
        }


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def objection_windows(rec: Mapping[str, Any]) -> list[ObjectionWindow]:
    raw = rec.get("objections")
    if not raw:
        return []
    out = []
    for o in json.loads(str(raw)):
        filed = as_date(o["filed_on"])
        assert filed is not None
        out.append(ObjectionWindow(
            id=str(o["id"]),
            filed_on=filed,
            forwarded_on=as_date(o.get("forwarded_on")),
            provider_due=as_date(o.get("provider_due")),
            replied_on=as_date(o.get("replied_on")),
            resolved_on=as_date(o.get("resolved_on")),
            outcome=o.get("outcome"),
            disputed=bool(o.get("disputed")),
        ))
    return out


def windows_json(windows: Sequence[ObjectionWindow]) -> str:
    return json.dumps([w.to_json() for w in windows], ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class RecordState:
    """A record on one date under one policy."""

    standing: Standing
    disclosed_until: dt.date | None
    objection_pending: bool = False
    marked: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def in_force(self) -> bool:
        """Disclosed and able to ground measures (CONTRACT.md section 4, rule 4)."""
        return self.standing is Standing.IN_FORCE


def record_state(
    rec: Mapping[str, Any],
    *,
    subject_kind: str,
    subject_ended: Any,
    policy: Policy,
    on: dt.date,
    facts: RecordFacts | None = None,
) -> RecordState:
    """Where ``rec`` stands on ``on``. ``facts`` may be passed when already built."""
    facts = facts or record_facts(rec, subject_kind, subject_ended)
    end = policy.validity_end(facts)
    windows = objection_windows(rec)
    pending = any(w.pending_on(on) for w in windows)
    wp = policy.objection.while_pending
    marked = wp.marked and (
        pending
        or (
            wp.marked_after_resolution_if_disputed
            and any(w.disputed and w.resolved_on is not None and w.resolved_on <= on
                    for w in windows)
        )
    )

    def at(standing: Standing, *reasons: str) -> RecordState:
        return RecordState(standing, end, pending, marked, tuple(reasons))

    status = status_on(rec, on)
    if status != "active":
        return at(Standing(status))
    if on < facts.decided_on:
        return at(Standing.NOT_YET)
    if end is not None and on > end:
        return at(Standing.ARCHIVED, f"disclosure period ended {end.isoformat()}")
    if wp.rule == "stop_when_provider_overdue":
        late = next((w for w in windows if w.provider_missed_deadline_by(on)), None)
        if late is not None:
            return at(Standing.WITHHELD, f"objection {late.id}: the provider did not reply by "
                      f"{late.provider_due.isoformat() if late.provider_due else '?'}")
    elif wp.rule == "suspended":
        late = next((w for w in windows if w.pending_on(on) and w.provider_late_on(on)), None)
        if late is not None:
            return at(Standing.SUSPENDED, f"objection {late.id}: the provider has not replied "
                      f"since {late.provider_due.isoformat() if late.provider_due else '?'}")
    return at(Standing.IN_FORCE)


@dataclass(frozen=True)
class Deadline:
    """A working-day deadline; ``approximate`` when the official calendar does not cover
    the days counted and Monday to Friday stood in (``calendarApproximate``)."""

    due: dt.date
    approximate: bool


def deadline(start: dt.date, working_days: int) -> Deadline:
    day, approximate = add_working_days(start, working_days)
    return Deadline(day, approximate)


def needs_history(rec: Mapping[str, Any], on: dt.date) -> bool:
    """Whether the content in force on ``on`` may be an earlier version of ``rec``."""
    since = as_date(rec.get("content_since"))
    return int(rec.get("version") or 1) > 1 and since is not None and on < since


def content_on(
    rec: Mapping[str, Any], versions: Sequence[Mapping[str, Any]], on: dt.date
) -> Mapping[str, Any]:
    """The record's content as it stood on ``on``: the version whose time covers ``on``.

    A version holds the content from its own ``content_since`` until it was superseded;
    its life (``states``, ``objections``) is the record's, which procedures only append
    to, so the current node's life is kept whatever version is shown.
    """
    if not needs_history(rec, on):
        return rec
    chosen: Mapping[str, Any] | None = None
    for i, v in enumerate(sorted(versions, key=lambda v: int(v.get("version") or 0))):
        superseded = stamp_day(v.get("superseded_at"))
        # The first content stands for every earlier day: nothing came before it.
        since = None if i == 0 else as_date(v.get("content_since"))
        if (since is None or since <= on) and (superseded is None or on < superseded):
            chosen = v
    if chosen is None:
        return rec
    life = {k: rec[k] for k in ("states", "objections", "status", "uid") if k in rec}
    return {**chosen, **life}
