"""What every procedure on a record shares: finding it, who may act, dated events.

Procedures are the only way a record's effect changes after loading (Wuhan Art. 34,
Huancui Art. 36, Nantong Art. 36). Each one records an ``Event`` (who, when it was
recorded, the day it takes effect, why) and, when it changes the record's status, a
dated entry in ``states``, so the check for any date sees the record as it stood then.

``on`` is the day a step happened; it may be earlier than the day it is recorded (a
letter that arrived on Friday, entered on Monday) but never in the future, and every
deadline counts from it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graph.store import GraphStore
from queries import life
from schema.access import AccessRules, Caller, CallerRole
from schema.errors import Forbidden, InvalidInput, NotFound
from schema.policy import Policy
from schema.record_life import RecordState, latest_change_on, record_state, state_entry
from schema.record_view import as_date


@dataclass(frozen=True)
class Actor:
    """Who acts, as written into events: the key's name and role."""

    caller: Caller
    today: dt.date

    @property
    def name(self) -> str:
        return self.caller.label

    @property
    def role(self) -> str:
        return self.caller.role.value

    @property
    def is_operator(self) -> bool:
        return self.caller.role is CallerRole.OPERATOR


@dataclass(frozen=True)
class StoredRecord:
    props: Mapping[str, Any]
    subject_kind: str
    subject_ended: Any
    rev: int

    @property
    def uid(self) -> str:
        return str(self.props["uid"])

    @property
    def subject(self) -> str:
        return str(self.props.get("subject", ""))

    @property
    def provider(self) -> str:
        return str(self.props.get("provider", ""))

    @property
    def decided_on(self) -> dt.date:
        d = as_date(self.props["decided_on"])
        assert d is not None
        return d

    def state(self, policy: Policy, on: dt.date) -> RecordState:
        return record_state(
            self.props, subject_kind=self.subject_kind, subject_ended=self.subject_ended,
            policy=policy, on=on,
        )


def now_iso() -> str:
    """Microseconds: the steps of one request are recorded within the same second and
    their history is ordered by this time."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def load_record(store: GraphStore, uid: str) -> StoredRecord:
    rows = store.read(life.RECORD_FOR_PROCEDURE, {"uid": uid})
    if not rows:
        raise NotFound(f"no record {uid!r}")
    r = rows[0]
    return StoredRecord(r["record"], str(r["subject_kind"]), r.get("subject_ended"), int(r["rev"]))


def is_concerned(caller: Caller, record: Mapping[str, Any]) -> bool:
    """The record's subject, or a person it names as responsible (it grounds measures
    on them, so they may dispute it too). ``record``: the node's properties."""
    code = caller.subject_code
    return (
        caller.role is CallerRole.SUBJECT
        and code is not None
        and (code == record.get("subject") or code in (record.get("responsible") or []))
    )


def is_its_provider(caller: Caller, record: Mapping[str, Any]) -> bool:
    return caller.role is CallerRole.PROVIDER and caller.unit == record.get("provider")


def record_for(
    store: GraphStore, rules: AccessRules, actor: Actor, uid: str, *,
    allowed: Callable[[Actor, StoredRecord], bool] | None = None, who: str = "",
) -> StoredRecord:
    """The record, if the actor may act on it. Someone who may not even see the record is
    told it does not exist, so a procedure cannot be used to probe for hidden records."""
    rec = load_record(store, uid)
    if (allowed or allowed_to)(actor, rec):
        return rec
    sees = rules.can_see_record(
        actor.caller, rec.props, subject_kind=rec.subject_kind, subject_ended=rec.subject_ended,
        today=actor.today,
    )
    if not sees:
        raise NotFound(f"no record {uid!r}")
    raise Forbidden(f"only {who or 'the record subject or an operator'} may do this")


def allowed_to(actor: Actor, rec: StoredRecord) -> bool:
    return actor.is_operator or is_concerned(actor.caller, rec.props)


def operator_or_provider(actor: Actor, rec: StoredRecord) -> bool:
    return actor.is_operator or is_its_provider(actor.caller, rec.props)


def operator_or_own_subject(actor: Actor, rec: StoredRecord) -> bool:
    """Only the subject itself (not a person the record names) for its own record."""
    return actor.is_operator or (
        actor.caller.role is CallerRole.SUBJECT and actor.caller.subject_code == rec.subject
    )


def step_day(on: dt.date | None, actor: Actor, *, not_before: dt.date | None, what: str) -> dt.date:
    """The day a step happened: today by default, never in the future, never before the
    step it follows."""
    day = on or actor.today
    if day > actor.today:
        raise InvalidInput(f"on: {day.isoformat()} is in the future; record steps that happened")
    if not_before is not None and day < not_before:
        raise InvalidInput(
            f"on: {day.isoformat()} is before {what} ({not_before.isoformat()})"
        )
    return day


def standing_day(rec: StoredRecord, day: dt.date, today: dt.date) -> dt.date:
    """The day to judge whether a procedure may still act on the record: ``day``, or the
    latest state change already recorded if later. A backdated step must not reach a
    record as it stood before it was deleted, revoked or repaired."""
    latest = latest_change_on(rec.props, today)
    return max(day, latest) if latest is not None else day


def change_status(
    store: GraphStore, rec: StoredRecord, actor: Actor, *, status: str, kind: str,
    on: dt.date, reason: str, ref: str | None = None, due: dt.date | None = None,
) -> str:
    event_id = new_id("ev")
    store.write_one(life.CHANGE_STATUS, {
        "uid": rec.uid, "event_id": event_id, "kind": kind, "actor": actor.name,
        "actor_role": actor.role, "at": now_iso(), "on": on.isoformat(), "reason": reason,
        "ref": ref, "due": due.isoformat() if due else None, "status": status,
        "entry": state_entry(on, status, event_id),
    })
    return event_id


def note_event(
    store: GraphStore, rec: StoredRecord, actor: Actor, *, kind: str, on: dt.date,
    reason: str | None, ref: str | None = None, due: dt.date | None = None,
) -> str:
    event_id = new_id("ev")
    store.write_one(life.NOTE_EVENT, {
        "uid": rec.uid, "event_id": event_id, "kind": kind, "actor": actor.name,
        "actor_role": actor.role, "at": now_iso(), "on": on.isoformat(), "reason": reason,
        "ref": ref, "due": due.isoformat() if due else None,
    })
    return event_id


def require_text(value: str | None, field: str, *, limit: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field}: required")
    if len(text) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters")
    return text
