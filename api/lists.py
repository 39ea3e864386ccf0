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

A provider may correct a record (its previous content is kept as a version): each day
is then judged on the content that stood on it (``schema.record_life.content_on``), so
the days a content took effect are change days too. A correction that removes ``list``
(or moves the record to the other list) is an exit on the day the new content took
effect, known to every date asked; an entry a correction took off the list is shown to
those who see entries that have left it. ``listMembers`` finds the records whose earlier
content was on the list through their versions (``queries.lists``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.store import GraphStore
from queries.lists import (
    LIST_CURSOR_RECORD,
    LIST_MEMBERS_PAST_SCAN,
    LIST_MEMBERS_SCAN,
    LIST_RECORDS_OF,
)
from queries.records import VERSIONS_OF
from schema.codes import mask_code
from schema.errors import InvalidInput, LimitExceeded, NotFound
from schema.models import ListKind
from schema.policy import Policy, RecordFacts
from schema.record_life import (
    RecordState,
    Standing,
    content_on,
    needs_history,
    objection_windows,
    record_state,
    state_changes,
)
from schema.record_view import as_date, record_facts, stamp_day

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


# --------------------------------------------------------------------------- contents

#: A record's contents through time: ``(first day, content)``, oldest first; the first
#: content stands for every day before the next (``since`` None).
Contents = list[tuple[dt.date | None, Mapping[str, Any]]]


def contents_of(rec: Mapping[str, Any], versions: Sequence[Mapping[str, Any]]) -> Contents:
    """Every content the record had, from the day each took effect, exactly as
    ``schema.record_life.content_on`` chooses them: it is evaluated on the days where its
    choice can change (a content's arrival, a version's supersession)."""
    if not versions or int(rec.get("version") or 1) <= 1:
        return [(None, rec)]
    days = {as_date(rec.get("content_since"))}
    for v in versions:
        days.add(as_date(v.get("content_since")))
        days.add(stamp_day(v.get("superseded_at")))
    out: Contents = [(None, content_on(rec, versions, dt.date.min))]
    for day in sorted(d for d in days if d is not None):
        content = content_on(rec, versions, day)
        if content.get("version") != out[-1][1].get("version"):
            out.append((day, content))
    return out


def _content_at(contents: Contents, day: dt.date) -> tuple[dt.date | None, Mapping[str, Any]]:
    found = contents[0]
    for since, content in contents[1:]:
        if since is not None and since <= day:
            found = (since, content)
    return found


class _Timeline:
    """One record's standing on one list, day by day, over all its contents: on the list
    on a day when the content of that day puts it there and is in force."""

    def __init__(
        self, contents: Contents, kind: ListKind, subject_kind: str, subject_ended: Any,
        policy: Policy,
    ) -> None:
        self.contents, self.kind, self.policy = contents, kind, policy
        self.subject_kind, self.subject_ended = subject_kind, subject_ended
        self._facts: dict[Any, RecordFacts] = {}
        days: set[dt.date] = set()
        for since, content in contents:
            if since is not None:
                days.add(since)
            if content.get("list") == kind.value:
                facts = self.facts(content)
                days.update(_change_days(content, facts, policy.validity_end(facts)))
        #: ``(day, content, state or None when that content is on no such list)``: the
        #: standing holds from ``day`` to the next entry.
        self.days: list[tuple[dt.date, Mapping[str, Any], RecordState | None]] = []
        for day in sorted(days):
            content = _content_at(contents, day)[1]
            self.days.append((day, content, self.state(content, day)))

    def facts(self, content: Mapping[str, Any]) -> RecordFacts:
        key = content.get("version")
        if key not in self._facts:
            self._facts[key] = record_facts(content, self.subject_kind, self.subject_ended)
        return self._facts[key]

    def state(self, content: Mapping[str, Any], day: dt.date) -> RecordState | None:
        if content.get("list") != self.kind.value:
            return None
        return record_state(content, subject_kind=self.subject_kind,
                            subject_ended=self.subject_ended, policy=self.policy, on=day,
                            facts=self.facts(content))

    def periods(self) -> list[ListPeriod]:
        periods: list[ListPeriod] = []
        start: dt.date | None = None
        for day, _content, state in self.days:
            on = state is not None and state.in_force
            if on and start is None:
                start = day
            elif not on and start is not None:
                periods.append(ListPeriod(start, day))
                start = None
        if start is not None:
            periods.append(ListPeriod(start, None))
        return periods

    def exit_after(self, entered: dt.date) -> dt.date | None:
        """The first exit from ``entered`` on: the first day off the list after the first
        day on it (the first day off, if it is never on it from then)."""
        first_off: dt.date | None = None
        was_on = False
        for day, _content, state in self.days:
            if day < entered:
                continue
            on = state is not None and state.in_force
            if on:
                was_on = True
            elif was_on:
                return day
            elif first_off is None:
                first_off = day
        return None if was_on else first_off

    def why_off(self, day: dt.date) -> str:
        """Why the record does not keep its subject on the list on ``day``."""
        content = _content_at(self.contents, day)[1]
        state = self.state(content, day)
        if state is None:
            return _why_corrected(self.contents, self.kind, day)
        return _why(content, state, self.kind, self.facts(content), self.policy, day)

    def last_exit_by(self, day: dt.date) -> dt.date | None:
        """The latest day by ``day`` on which the record left the list."""
        found, was_on = None, False
        for d, _content, state in self.days:
            if d > day:
                break
            on = state is not None and state.in_force
            if was_on and not on:
                found = d
            was_on = on
        return found


def _why_corrected(contents: Contents, kind: ListKind, day: dt.date) -> str:
    """A correction took the record off ``kind``: from the day its new content took
    effect (the first content since ``day`` began without the list)."""
    since, content = _content_at(contents, day)
    other = content.get("list")
    where = f"puts it on the {other} list" if other else "puts it on no list"
    taken = f"taken off the {kind.value} list"
    if since is None:
        return f"{taken}: its content {where}"
    return (f"{taken} on {since.isoformat()}: the record was corrected, its content from "
            f"that day (version {content.get('version')}) {where}")


def _entry(
    timeline: _Timeline, base: Mapping[str, Any], now: Mapping[str, Any], *, on: dt.date,
) -> ListEntry:
    """The entry of ``timeline``'s list that ``base`` (the latest content by ``on`` with
    that list) makes, seen on ``on``; ``now`` is the content on ``on``."""
    kind, policy = timeline.kind, timeline.policy
    facts = timeline.facts(base)
    state_now = record_state(now, subject_kind=timeline.subject_kind,
                             subject_ended=timeline.subject_ended, policy=policy, on=on,
                             facts=timeline.facts(now))
    listed_now = now.get("list") == kind.value
    exit_on = timeline.exit_after(facts.decided_on)
    if listed_now:
        reason = _why(now, state_now, kind, facts, policy, on)
    else:
        left = timeline.last_exit_by(on)
        reason = timeline.why_off(left) if left is not None else _why_corrected(
            timeline.contents, kind, on)
    return ListEntry(
        list_kind=kind,
        record_uid=str(base["uid"]),
        subject_code=str(base.get("subject") or ""),
        subject_kind=timeline.subject_kind,
        title=base.get("title"),
        authority=base.get("authority"),
        document_no=base.get("document_no"),
        entered_on=facts.decided_on,
        exit_on=exit_on,
        on=on,
        on_list=listed_now and state_now.in_force,
        standing=state_now.standing,
        reason=reason,
        exit_reason=timeline.why_off(exit_on) if exit_on is not None else None,
        periods=tuple(timeline.periods()),
    )


def record_entries(
    rec: Mapping[str, Any],
    versions: Sequence[Mapping[str, Any]] = (),
    *,
    subject_kind: str,
    subject_ended: Any,
    policy: Policy,
    on: dt.date,
    kind: ListKind | None = None,
    left: bool = True,
) -> list[tuple[ListEntry, Mapping[str, Any]]]:
    """The entries the record ``rec`` (its current node) makes on ``on``, each with the
    content the record had on ``on``; ``versions`` are its earlier contents.

    The content on ``on`` with a list gives that list's entry, whose exit and periods are
    those known now: a later correction that takes the record off the list is an exit on
    the day the new content took effect. A list an earlier content put it on, and that a
    correction has taken it off by ``on``, gives an entry off the list (``left``: only
    when asked for)."""
    contents = contents_of(rec, versions)
    now = _content_at(contents, on)[1]
    out = []
    for k in ListKind:
        if kind is not None and k is not kind:
            continue
        if now.get("list") == k.value:
            base: Mapping[str, Any] | None = now
        elif not left:
            continue
        else:
            # The latest content by ``on`` that had the list; only a list the record was
            # actually on before ``on`` makes an entry of its own.
            base = next((c for s, c in reversed(contents)
                         if c.get("list") == k.value and (s is None or s <= on)), None)
        if base is None:
            continue
        timeline = _Timeline(contents, k, subject_kind, subject_ended, policy)
        if base is not now and not any(p.entered_on <= on for p in timeline.periods()):
            continue
        out.append((_entry(timeline, base, now, on=on), now))
    return out


def list_entry(
    rec: Mapping[str, Any],
    *,
    subject_kind: str,
    subject_ended: Any,
    policy: Policy,
    on: dt.date,
    versions: Sequence[Mapping[str, Any]] = (),
) -> ListEntry | None:
    """The entry ``rec``'s content on ``on`` makes, or None when it puts its subject on
    no list that day."""
    found = record_entries(rec, versions, subject_kind=subject_kind,
                           subject_ended=subject_ended, policy=policy, on=on, left=False)
    return found[0][0] if found else None


def versions_of(
    store: GraphStore, rows: Iterable[Mapping[str, Any]],
    wanted: Callable[[Mapping[str, Any]], bool] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The earlier contents of the rows' records that have any (``version`` above 1) and
    are ``wanted``, by uid: one read, and none when no record among them changed."""
    uids = sorted({
        str(r["record"]["uid"]) for r in rows
        if r.get("record") and int(r["record"].get("version") or 1) > 1
        and (wanted is None or wanted(r))
    })
    out: dict[str, list[dict[str, Any]]] = {}
    if uids:
        for v in store.read(VERSIONS_OF, {"uids": uids}):
            out.setdefault(str(v["uid"]), []).append(dict(v["version"]))
    return out


def entries_of(
    rows: Iterable[Mapping[str, Any]],
    *,
    policy: Policy,
    on: dt.date,
    versions: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    visible: ListVisible | None = None,
    kind: ListKind | None = None,
    sees_left: bool = True,
) -> list[ListEntry]:
    """Entries from rows carrying ``record`` (the record's current node, the profile
    loader's rows or ``LIST_RECORDS_OF``'s), ``subject_kind`` and ``subject_ended``, with
    the records' earlier contents in ``versions`` (``versions_of``). Each is judged in the
    content the record had on ``on``; hidden records are left out as if absent, and so
    are entries a correction took off the list unless ``sees_left`` (operators: docs/api.md,
    "operators also see entries that have left the list"). Oldest first."""
    out = []
    for row in rows:
        rec = row.get("record")
        if not rec:
            continue
        kind_of_subject = str(row["subject_kind"])
        ended = row.get("subject_ended")
        found = record_entries(
            rec, (versions or {}).get(str(rec["uid"]), ()), subject_kind=kind_of_subject,
            subject_ended=ended, policy=policy, on=on, kind=kind, left=sees_left,
        )
        for entry, now in found:
            if visible is not None and not visible(now, kind_of_subject, ended):
                continue
            out.append(entry)
    return sorted(out, key=lambda e: (e.entered_on, e.record_uid, e.list_kind.value))


# --------------------------------------------------------------------------- one subject


def list_entries(
    store: GraphStore,
    code: str,
    *,
    policy: Policy,
    on: dt.date,
    visible: ListVisible | None = None,
    sees_left: bool = True,
) -> list[ListEntry]:
    """Every list entry of the subject ``code`` (a normalised code); ``NotFound`` if the
    graph has no such subject."""
    rows = store.read(
        LIST_RECORDS_OF, {"code": code, "lists": [k.value for k in ListKind]}
    )
    if not rows:
        raise NotFound(f"no subject with code {mask_code(code)}")
    rows = [r for r in rows if r.get("record")]
    return entries_of(rows, policy=policy, on=on, versions=versions_of(store, rows),
                      visible=visible, sees_left=sees_left)


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


#: A candidate row with its record's earlier contents.
_Candidate = tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]


def _member_entry(
    row: Mapping[str, Any], versions: Sequence[Mapping[str, Any]], kind: ListKind,
    policy: Policy, on: dt.date, visible: ListVisible | None,
) -> ListEntry | None:
    """The row's entry when its content on ``on`` keeps its subject on ``kind`` and may
    be seen. Most records a scan meets have left the list: one ``record_state`` tells,
    before the whole timeline is worked out."""
    rec = row.get("record")
    if not rec:
        return None
    now = content_on(rec, versions, on)
    if now.get("list") != kind.value:
        return None
    if not record_state(now, subject_kind=str(row["subject_kind"]),
                        subject_ended=row.get("subject_ended"), policy=policy, on=on).in_force:
        return None
    found = entries_of([row], policy=policy, on=on, versions={str(rec["uid"]): versions},
                       visible=visible, kind=kind, sees_left=False)
    return found[0] if found and found[0].on_list else None


def _resume_after(
    store: GraphStore, cursor: str, kind: ListKind, policy: Policy, on: dt.date,
    visible: ListVisible | None,
) -> tuple[str, str, str]:
    """``(position, uid, member code)`` to resume after. A cursor whose record is unknown,
    hidden from the caller or not on this list on ``on`` gets one and the same answer, so
    a guessed uid tells nothing about a record the caller may not see."""
    uid = decode_cursor(cursor)
    rows = store.read(LIST_CURSOR_RECORD, {"uid": uid})
    versions = versions_of(store, rows)
    if not rows or _member_entry(rows[0], versions.get(uid, ()), kind, policy, on,
                                 visible) is None:
        raise InvalidInput(f"after: not a cursor of the {kind.value} list on {on.isoformat()}")
    row = rows[0]
    return str(row["position"]), str(row["uid"]), str(row["code"])


def _scan(
    store: GraphStore, query: str, params: Mapping[str, Any], after_pos: str, after_uid: str,
    wanted: Callable[[Mapping[str, Any]], bool],
) -> Iterator[_Candidate]:
    """One scan's rows in ``(position, uid)`` order, read a batch at a time and only when
    the previous batch is used up, each with its record's earlier contents if ``wanted``."""
    while True:
        rows = store.read(query, {**params, "after_code": after_pos, "after_uid": after_uid,
                                  "limit": SCAN_BATCH})
        versions = versions_of(store, rows, wanted)
        for row in rows:
            yield row, versions.get(str(row["uid"]), ())
        if len(rows) < SCAN_BATCH:
            return
        after_pos, after_uid = str(rows[-1]["position"]), str(rows[-1]["uid"])


def _candidates(
    store: GraphStore, kind: ListKind, policy: Policy, on: dt.date, after_pos: str,
    after_uid: str,
) -> Iterator[_Candidate]:
    """The records that may keep a subject on ``kind`` on ``on``, in ``(position, uid)``
    order, each once: those whose current content is on the list and decided by ``on``,
    merged with those whose content that stood on ``on`` was (a correction took ``list``
    off or moved ``decided_on`` since, ``LIST_MEMBERS_PAST_SCAN``).

    Earlier contents are read for the records whose content on ``on`` is one of them, and
    for the members whose entries they may extend (periods, an exit by correction); not
    for the current content of a record off the list that day."""
    params = {"list": kind.value, "on": on.isoformat()}

    def wanted(row: Mapping[str, Any]) -> bool:
        rec = row["record"]
        return needs_history(rec, on) or (
            rec.get("list") == kind.value
            and record_state(rec, subject_kind=str(row["subject_kind"]),
                             subject_ended=row.get("subject_ended"), policy=policy,
                             on=on).in_force
        )

    last = None
    for row, versions in heapq.merge(
        _scan(store, LIST_MEMBERS_SCAN, params, after_pos, after_uid, wanted),
        _scan(store, LIST_MEMBERS_PAST_SCAN, params, after_pos, after_uid, wanted),
        key=lambda c: (str(c[0]["position"]), str(c[0]["uid"])),
    ):
        if row["uid"] == last:
            continue  # found by both scans
        last = row["uid"]
        yield row, versions


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
    for row, versions in _candidates(store, kind, policy, on, after_pos, after_uid):
        code = str(row["code"])
        if code == skip:
            continue
        if subject_visible is not None and not subject_visible(str(row["subject_kind"])):
            continue
        entry = _member_entry(row, versions, kind, policy, on, visible)
        if entry is None:
            continue
        members.setdefault(code, (row, []))[1].append(entry)
        if len(members) > first:
            break

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
