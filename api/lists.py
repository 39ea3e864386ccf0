"""Red and black lists as of a date (Nantong Art. 17, 28; Yangjiang Art. 20).

A record with ``list`` puts its subject on that list from its decision date for as long
as it is in force: the list is not a separate fact to keep in step with the records, it
is read from them. So a subject leaves the list exactly when its record stops being in
force (``schema.record_life``): its disclosure period ends, or a procedure withdraws,
revokes, repairs, deletes, withholds or suspends it. Entry and exit dates are therefore
computed, never stored, and answer for any date under the active policy.

A record's standing can only change on a few days it carries itself: its decision date,
the day after its disclosure period, each dated status change, and each objection step.
Evaluating ``record_state`` on those days alone gives its whole time on the list.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.record_versions import with_content_on
from graph.store import GraphStore
from queries.lists import LIST_CURSOR_RECORD, LIST_MEMBERS_SCAN, LIST_RECORDS_OF
from schema.codes import mask_code
from schema.errors import InvalidInput, LimitExceeded, NotFound
from schema.models import ListKind
from schema.policy import Policy, RecordFacts
from schema.record_life import (
    RecordState,
    Standing,
    objection_windows,
    record_state,
    state_changes,
)
from schema.record_view import as_date, record_facts

#: ``visible(record, subject_kind, subject_ended)``: may the caller see this record?
ListVisible = Callable[[Mapping[str, Any], str, Any], bool]

MAX_MEMBERS_PAGE = 500
#: Records read per round trip while filling a page of members.
SCAN_BATCH = 1000

_CURSOR_PREFIX = "lm1:"


def list_kind(value: str, field: str = "list") -> ListKind:
    try:
        return ListKind(value)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a list; use red or black") from None


@dataclass(frozen=True)
class ListPeriod:
    """One stretch on the list; ``exit_on`` is the first day off it (None: no end known)."""

    entered_on: dt.date
    exit_on: dt.date | None


@dataclass(frozen=True)
class ListEntry:
    """What one record says about its subject and a list, seen from the date ``on``.

    ``exit_on`` is the first exit after the decision; a record that comes back into force
    (an objection answered, a withdrawn record resubmitted) has further ``periods``.
    """

    list_kind: ListKind
    record_uid: str
    subject_code: str
    subject_kind: str
    title: str | None
    authority: str | None
    document_no: str | None
    entered_on: dt.date
    exit_on: dt.date | None
    on: dt.date
    on_list: bool
    standing: Standing
    reason: str
    exit_reason: str | None
    periods: tuple[ListPeriod, ...]


@dataclass(frozen=True)
class ListMember:
    code: str
    kind: str
    name: str | None
    terminated: dt.date | None
    entries: tuple[ListEntry, ...]

    @property
    def entered_on(self) -> dt.date:
        return min(e.entered_on for e in self.entries)


@dataclass(frozen=True)
class MembersPage:
    list_kind: ListKind
    on: dt.date
    members: tuple[ListMember, ...]
    end_cursor: str | None
    has_more: bool


# --------------------------------------------------------------------------- one record


def _change_days(rec: Mapping[str, Any], facts: RecordFacts, end: dt.date | None) -> list[dt.date]:
    """The days on which the record's standing can change, from its decision on."""
    days = {facts.decided_on}
    if end is not None and end < dt.date.max:
        days.add(end + dt.timedelta(days=1))
    days.update(c.effective for c in state_changes(rec))
    for w in objection_windows(rec):
        days.add(w.filed_on)
        if w.provider_due is not None and w.provider_due < dt.date.max:
            days.add(w.provider_due + dt.timedelta(days=1))
        days.update(d for d in (w.replied_on, w.resolved_on) if d is not None)
    return sorted(d for d in days if d >= facts.decided_on)


def _why(
    rec: Mapping[str, Any], state: RecordState, kind: ListKind, facts: RecordFacts,
    policy: Policy, day: dt.date,
) -> str:
    """A sentence a caller can act on: why the record does or does not keep its subject
    on the list on ``day``, citing the article that ends a disclosure period."""
    if state.in_force:
        why = f"on the {kind.value} list since {facts.decided_on.isoformat()}"
        return why + ("; marked: an objection is pending" if state.marked else "")
    if state.standing is Standing.NOT_YET:
        return f"not yet: the decision of {facts.decided_on.isoformat()} puts it on the list"
    if state.standing is Standing.ARCHIVED:
        if facts.valid_until is not None:
            basis = "the record's own valid_until"
        else:
            rule = policy.period_rule(facts)
            basis = f"{policy.name} {rule.article}" if rule is not None else policy.name
        return f"archived: {'; '.join(state.reasons)} ({basis})"
    if state.reasons:
        return f"{state.standing.value}: {'; '.join(state.reasons)}"
    since = [c.effective for c in state_changes(rec)
             if c.effective <= day and c.status == state.standing.value]
    return state.standing.value + (f" on {since[-1].isoformat()}" if since else "")


def list_entry(
    rec: Mapping[str, Any],
    *,
    subject_kind: str,
    subject_ended: Any,
    policy: Policy,
    on: dt.date,
) -> ListEntry | None:
    """The entry ``rec`` makes, or None when it puts its subject on no list."""
    if not rec.get("list"):
        return None
    kind = ListKind(str(rec["list"]))
    facts = record_facts(rec, subject_kind, subject_ended)
    end = policy.validity_end(facts)

    def state_on(day: dt.date) -> RecordState:
        return record_state(rec, subject_kind=subject_kind, subject_ended=subject_ended,
                            policy=policy, on=day, facts=facts)

    timeline = [(d, state_on(d)) for d in _change_days(rec, facts, end)]
    periods: list[ListPeriod] = []
    start: dt.date | None = None
    for day, state in timeline:
        if state.in_force and start is None:
            start = day
        elif not state.in_force and start is not None:
            periods.append(ListPeriod(start, day))
            start = None
    if start is not None:
        periods.append(ListPeriod(start, None))
    exit_on, exit_state = next(((d, s) for d, s in timeline if not s.in_force), (None, None))
    now = state_on(on)
    return ListEntry(
        list_kind=kind,
        record_uid=str(rec["uid"]),
        subject_code=str(rec.get("subject") or ""),
        subject_kind=subject_kind,
        title=rec.get("title"),
        authority=rec.get("authority"),
        document_no=rec.get("document_no"),
        entered_on=facts.decided_on,
        exit_on=exit_on,
        on=on,
        on_list=now.in_force,
        standing=now.standing,
        reason=_why(rec, now, kind, facts, policy, on),
        exit_reason=(
            _why(rec, exit_state, kind, facts, policy, exit_on)
            if exit_on is not None and exit_state is not None else None
        ),
        periods=tuple(periods),
    )


def entries_of(
    rows: Iterable[Mapping[str, Any]],
    *,
    policy: Policy,
    on: dt.date,
    visible: ListVisible | None = None,
    kind: ListKind | None = None,
) -> list[ListEntry]:
    """Entries from rows carrying ``record``, ``subject_kind`` and ``subject_ended`` (the
    profile loader's rows or ``LIST_RECORDS_OF``'s), already in their content on ``on``
    (``with_content_on``); hidden records are left out as if absent. Oldest first."""
    out = []
    for row in rows:
        rec = row.get("record")
        if not rec or not rec.get("list") or (kind is not None and rec["list"] != kind.value):
            continue
        kind_of_subject = str(row["subject_kind"])
        ended = row.get("subject_ended")
        if visible is not None and not visible(rec, kind_of_subject, ended):
            continue
        entry = list_entry(rec, subject_kind=kind_of_subject, subject_ended=ended,
                           policy=policy, on=on)
        if entry is not None:
            out.append(entry)
    return sorted(out, key=lambda e: (e.entered_on, e.record_uid))


# --------------------------------------------------------------------------- one subject


def list_entries(
    store: GraphStore,
    code: str,
    *,
    policy: Policy,
    on: dt.date,
    visible: ListVisible | None = None,
) -> list[ListEntry]:
    """Every list entry of the subject ``code`` (a normalised code); ``NotFound`` if the
    graph has no such subject."""
    rows = store.read(
        LIST_RECORDS_OF, {"code": code, "lists": [k.value for k in ListKind]}
    )
    if not rows:
        raise NotFound(f"no subject with code {mask_code(code)}")
    rows = with_content_on(store, [r for r in rows if r.get("record")], on)
    return entries_of(rows, policy=policy, on=on, visible=visible)


# --------------------------------------------------------------------------- members


def encode_cursor(record_uid: str) -> str:
    """A cursor names the last entry of a page by its record: a caller has seen that uid,
    and unlike the subject's code it never carries an ID number."""
    raw = (_CURSOR_PREFIX + record_uid).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raw = ""
    if not raw.startswith(_CURSOR_PREFIX) or len(raw) == len(_CURSOR_PREFIX):
        raise InvalidInput("after: not a cursor of listMembers")
    return raw[len(_CURSOR_PREFIX):]


def _member_entry(
    row: Mapping[str, Any], kind: ListKind, policy: Policy, on: dt.date,
    visible: ListVisible | None,
) -> ListEntry | None:
    """The row's entry when it keeps its subject on ``kind`` on ``on`` and may be seen.
    Most records a scan meets have left the list: one ``record_state`` tells, before the
    whole timeline is worked out."""
    rec = row.get("record")
    if not rec or rec.get("list") != kind.value:
        return None
    if not record_state(rec, subject_kind=str(row["subject_kind"]),
                        subject_ended=row.get("subject_ended"), policy=policy, on=on).in_force:
        return None
    found = entries_of([row], policy=policy, on=on, visible=visible, kind=kind)
    return found[0] if found and found[0].on_list else None


def _resume_after(
    store: GraphStore, cursor: str, kind: ListKind, policy: Policy, on: dt.date,
    visible: ListVisible | None,
) -> tuple[str, str, str]:
    """``(position, uid, member code)`` to resume after. A cursor whose record is unknown,
    hidden from the caller or not on this list on ``on`` gets one and the same answer, so
    a guessed uid tells nothing about a record the caller may not see."""
    uid = decode_cursor(cursor)
    rows = with_content_on(store, store.read(LIST_CURSOR_RECORD, {"uid": uid}), on)
    if not rows or _member_entry(rows[0], kind, policy, on, visible) is None:
        raise InvalidInput(f"after: not a cursor of the {kind.value} list on {on.isoformat()}")
    row = rows[0]
    return str(row["position"]), str(row["uid"]), str(row["code"])


def list_members(
    store: GraphStore,
    kind: ListKind | str,
    *,
    policy: Policy,
    on: dt.date,
    first: int = 100,
    after: str | None = None,
    visible: ListVisible | None = None,
    subject_visible: Callable[[str], bool] | None = None,
) -> MembersPage:
    """Subjects on the list on ``on``, by code, each with its entries on that list.

    ``subject_visible(kind)`` drops subjects the caller may not see at all (natural
    persons for the public where they are not public), whatever their records say.
    """
    kind = list_kind(kind) if isinstance(kind, str) else kind
    if first < 1:
        raise InvalidInput("first: at least 1")
    if first > MAX_MEMBERS_PAGE:
        raise LimitExceeded(f"first: at most {MAX_MEMBERS_PAGE}")
    after_pos, after_uid, skip = "", "", None
    if after:
        after_pos, after_uid, skip = _resume_after(store, after, kind, policy, on, visible)

    # Rows come by subject, so a member is complete once the next one shows up: reading
    # stops at the first member past the page, which also says there are more.
    members: dict[str, tuple[Mapping[str, Any], list[ListEntry]]] = {}
    full = False
    while not full:
        rows = store.read(LIST_MEMBERS_SCAN, {
            "list": kind.value, "on": on.isoformat(), "after_code": after_pos,
            "after_uid": after_uid, "limit": SCAN_BATCH,
        })
        for row in with_content_on(store, rows, on):
            code = str(row["code"])
            if code == skip:
                continue
            if subject_visible is not None and not subject_visible(str(row["subject_kind"])):
                continue
            entry = _member_entry(row, kind, policy, on, visible)
            if entry is None:
                continue
            members.setdefault(code, (row, []))[1].append(entry)
            if len(members) > first:
                full = True
                break
        if len(rows) < SCAN_BATCH:
            break
        after_pos, after_uid = str(rows[-1]["position"]), str(rows[-1]["uid"])

    page = [_member(row, entries) for row, entries in list(members.values())[:first]]
    return MembersPage(
        list_kind=kind,
        on=on,
        members=tuple(page),
        end_cursor=(
            encode_cursor(max(e.record_uid for e in page[-1].entries)) if page else None
        ),
        has_more=len(members) > first,
    )


def _member(row: Mapping[str, Any], entries: Sequence[ListEntry]) -> ListMember:
    return ListMember(
        code=str(row["code"]),
        kind=str(row["subject_kind"]),
        name=row.get("subject_name"),
        terminated=as_date(row.get("subject_ended")),
        entries=tuple(sorted(entries, key=lambda e: (e.entered_on, e.record_uid))),
    )
