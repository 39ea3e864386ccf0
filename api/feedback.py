"""Feedback from the systems that apply measures, and reversal when a measure loses its
ground (Nantong Art. 28, Zhengzhou Art. 24; DOMAIN.md section 8).

A system that ran a check and applied one of its measures reports it, naming the check
by its signed id (``api.check_ids``). The service re-runs that check as of its date with
the reporting key's own visibility (what that key's check showed it), and with the
records' life as it was known when the check was made (the id signs that moment): a
record deleted, withdrawn or revoked since still grounds what the check returned, one
deleted before it does not. It keeps, with the report, the records that grounded the
measure then: its *basis*. When none of them grounds the measure any longer (expired,
withdrawn, revoked, repaired, deleted, or changed so it no longer reaches the subject),
the application is pending reversal until the system reports that it undid it; one
whose record was deleted before it was reported is pending at once.

The monthly report (Nantong Art. 28) reads each application's flag from its trail as it
stood at the month's end, so a past month's report does not change when a flag is
changed later; the change counts in the month it was made. A reversed application was
applied and undone: it cannot be changed to not applied.

Whether a basis record still grounds the measure is decided by the check itself, re-run
for the code as of the day asked (once per code, whatever the number of applications),
so the answer follows every rule the check follows and cannot drift from it.

Everything here works with a store, a policy, a catalogue and a date; access (who may
report, who sees which application) is decided by ``Caller`` arguments, what a reporting
key's check could ground by ``api.checks.visible_to``, and what a caller may read of the
records by the GraphQL layer through ``schema.access``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.check_ids import verify_issued
from api.checks import check_key, check_sanctions, visible_to
from graph.store import GraphStore
from queries.feedback import (
    APPLICATION_BY_ID,
    CHANGE_APPLIED,
    CREATE_APPLICATION,
    EVENTS_RECORDED_AT,
    OPEN_APPLICATIONS,
    OPEN_APPLICATIONS_OF_UNIT,
    RECORDS_BY_UID,
    REPORTED_OR_CHANGED_IN_MONTH,
    REVERSE_APPLICATION,
    REVERSED_IN_MONTH,
)
from schema.access import AccessRules, Caller, CallerRole
from schema.catalogue import Catalogue
from schema.codes import mask_code
from schema.errors import Forbidden, InvalidInput, NotFound
from schema.policy import Policy
from schema.record_life import Standing, record_state, state_changes, states_without
from schema.workdays import CHINA_TIME, china_day

#: Roles whose keys report applying measures: the systems that use the information.
REPORTING_ROLES = frozenset({CallerRole.AGENCY, CallerRole.PROVIDER, CallerRole.OPERATOR})
MAX_NOTE = 1000
#: Open applications read per round trip while looking for pending reversals.
PAGE = 500


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class TrailEntry:
    """One change of an application: who made it, when, and why."""

    at: str
    by: str
    action: str  # reported | applied_changed | reversed
    applied: bool | None = None
    note: str | None = None
    #: The service's calendar day (China's) the change was made on; entries written
    #: before it was kept have None, and their day is read from ``at``.
    on: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {"at": self.at, "by": self.by, "action": self.action, "applied": self.applied,
             "note": self.note, "on": self.on},
            ensure_ascii=False, sort_keys=True,
        )

    @classmethod
    def of(cls, raw: str) -> TrailEntry:
        d = json.loads(raw)
        return cls(at=str(d["at"]), by=str(d["by"]), action=str(d["action"]),
                   applied=d.get("applied"), note=d.get("note"), on=d.get("on"))


@dataclass(frozen=True)
class Application:
    """One system's report about one measure of one check, as stored."""

    id: str
    check_id: str
    code: str
    measure: str
    as_of: dt.date
    reporter: str
    unit: str | None
    applied: bool
    note: str | None
    reported_at: str
    reported_on: dt.date
    basis: tuple[str, ...]
    reversed_at: str | None = None
    reversed_on: dt.date | None = None
    reversed_by: str | None = None
    reversal_note: str | None = None
    trail: tuple[TrailEntry, ...] = ()

    @property
    def reversed(self) -> bool:
        return self.reversed_at is not None

    def _day_of(self, entry: TrailEntry) -> dt.date:
        if entry.action == "reported":
            return self.reported_on
        if entry.on:
            return dt.date.fromisoformat(entry.on)
        moment = _instant(entry.at)
        return china_day(moment) if moment is not None else self.reported_on

    def applied_on(self, day: dt.date) -> bool | None:
        """The flag as reported by the end of ``day`` (the first report and every change
        made by then, from the trail); None when it was not reported by then."""
        if self.reported_on > day:
            return None
        flag: bool | None = None
        for entry in self.trail:
            if (entry.action in ("reported", "applied_changed") and entry.applied is not None
                    and self._day_of(entry) <= day):
                flag = bool(entry.applied)
        return self.applied if flag is None else flag

    @classmethod
    def of(cls, p: Mapping[str, Any]) -> Application:
        rev_on = p.get("reversed_on")
        return cls(
            id=str(p["id"]),
            check_id=str(p["check_id"]),
            code=str(p["code"]),
            measure=str(p["measure"]),
            as_of=dt.date.fromisoformat(str(p["as_of"])),
            reporter=str(p["reporter"]),
            unit=p.get("unit"),
            applied=bool(p["applied"]),
            note=p.get("note"),
            reported_at=str(p["reported_at"]),
            reported_on=dt.date.fromisoformat(str(p["reported_on"])),
            basis=tuple(str(u) for u in (p.get("basis") or [])),
            reversed_at=p.get("reversed_at"),
            reversed_on=dt.date.fromisoformat(str(rev_on)) if rev_on else None,
            reversed_by=p.get("reversed_by"),
            reversal_note=p.get("reversal_note"),
            trail=tuple(TrailEntry.of(str(t)) for t in (p.get("trail") or [])),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "checkId": self.check_id, "code": self.code,
            "measure": self.measure, "asOf": self.as_of.isoformat(),
            "reporter": self.reporter, "unit": self.unit, "applied": self.applied,
            "note": self.note, "reportedAt": self.reported_at, "basis": list(self.basis),
            "reversedAt": self.reversed_at, "reversedBy": self.reversed_by,
            "reversalNote": self.reversal_note,
        }


@dataclass(frozen=True)
class RecordRef:
    """A record as the graph holds it, with what ``schema.access`` and ``record_life``
    need to judge it; ``record`` is None when no such record is in the graph."""

    uid: str
    record: Mapping[str, Any] | None
    subject_kind: str | None = None
    subject_ended: Any = None


@dataclass(frozen=True)
class BasisStanding:
    """Where one basis record of an application stands on the day asked.

    ``since``: the day its status changed or its period ended, when known; ``reason``
    in words (``withdrawn on 2026-03-02 (event ...)``, ``disclosure period ended ...``).
    """

    ref: RecordRef
    standing: Standing
    reason: str | None
    since: dt.date | None


@dataclass(frozen=True)
class PendingReversal:
    """An application none of whose basis records grounds its measure any more.

    ``other_basis``: records that ground the same measure on the same code on the day
    asked but were not its basis, so the system can tell a measure to undo from one to
    keep on another ground.
    """

    application: Application
    basis: tuple[BasisStanding, ...]
    other_basis: tuple[RecordRef, ...]


@dataclass(frozen=True)
class ReportRow:
    unit: str | None
    measure: str
    applied: int = 0
    not_applied: int = 0
    reversed: int = 0
    pending_reversal: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "measure": self.measure, "applied": self.applied,
                "notApplied": self.not_applied, "reversed": self.reversed,
                "pendingReversal": self.pending_reversal}


@dataclass(frozen=True)
class MonthlyReport:
    """Per unit and measure for one month (Nantong Art. 28): reports made in the month,
    reversals made in the month, and applications pending reversal at its end (on
    ``pending_as_of``: the month's last day, or today while the month runs)."""

    month: str
    pending_as_of: dt.date
    rows: tuple[ReportRow, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "pendingAsOf": self.pending_as_of.isoformat(),
                "rows": [r.as_dict() for r in self.rows]}


# --------------------------------------------------------------------------- reporting


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _instant(text: str) -> dt.datetime | None:
    """A stored time (ISO 8601, UTC when it names no zone), or None if it is none."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


Rows = list[dict[str, Any]]


def life_known_before(store: GraphStore, moment: dt.datetime) -> Callable[[Rows], Rows]:
    """For ``check_sanctions(as_known=...)``: the check's rows with their records' status
    changes (deleted, withdrawn, revoked, repaired, revived) recorded at or after
    ``moment`` left out, so each record stands as it was known just before ``moment``.

    One read of the events that made the rows' ``states`` entries, and only when a record
    has any. An entry whose event time is unknown stays: judged as known, which can only
    refuse a report, never accept one its check did not answer. Times kept to the second
    (the loader's) are rounded down, which errs the same way. What else a record's life
    holds (objection steps, corrected content) is judged as it is now."""

    def known(rows: Rows) -> Rows:
        ids = sorted({
            str(entry).split("|", 2)[2]
            for r in rows if r.get("record")
            for entry in (r["record"].get("states") or []) if str(entry).count("|") >= 2
        })
        if not ids:
            return rows
        later = set()
        for e in store.read(EVENTS_RECORDED_AT, {"ids": ids}):
            at = _instant(str(e.get("at") or ""))
            if at is not None and at >= moment:
                later.add(str(e["id"]))
        if not later:
            return rows
        out = []
        for r in rows:
            rec = r.get("record")
            if rec:
                kept = states_without(rec, later)
                if len(kept) < len(rec.get("states") or []):
                    status = kept[-1].split("|", 2)[1] if kept else "active"
                    r = {**r, "record": {**rec, "states": kept, "status": status}}
            out.append(r)
        return out

    return known


def _note(note: str | None, name: str = "note") -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"{name}: at most {MAX_NOTE} characters")
    return note.strip()


def application_id(check_id: str, code: str, measure: str, reporter: str) -> str:
    """The same report sent twice names the same application."""
    digest = hashlib.sha256(f"{check_id}|{code}|{measure}|{reporter}".encode()).hexdigest()
    return f"ma-{digest[:24]}"


def get_application(store: GraphStore, app_id: str) -> Application:
    rows = store.read(APPLICATION_BY_ID, {"id": app_id})
    if not rows:
        raise NotFound(f"no measure application with id {app_id!r}")
    return Application.of(rows[0]["application"])


def report_applied(
    store: GraphStore,
    caller: Caller,
    *,
    secret: bytes,
    policy: Policy,
    rules: AccessRules,
    catalogue: Catalogue,
    check_id: str,
    code: str,
    measure: str,
    applied: bool,
    today: dt.date,
    note: str | None = None,
    now: str | None = None,
) -> Application:
    """Record that ``caller``'s system applied (or did not apply) ``measure`` of the
    check ``check_id`` to ``code``.

    The same report again returns the application it made; only a changed ``applied``
    is recorded, in the trail (a reversed application cannot become not applied). The
    measure must be one the check grounded on the code as ``caller`` sees it
    (``rules``): the check it received. Judged with full visibility, a measure grounded
    only on a record hidden from the caller would be accepted where a code without
    records is refused, which tells the caller the record exists, and would record a
    measure its own check never gave it.

    The check is re-run as of its date with the records' life as known when it was made
    (signed in the id, ``api.check_ids``): a record deleted by an objection since still
    grounds the measure the check returned, so the system can report it and is told to
    undo it; one deleted before the check was made grounded nothing in it and is refused
    like a record that never was. Deleted records are otherwise hidden whatever the date
    (``visible_to(..., now=today)``), as in the check itself. An id issued before ids
    carried their time is judged as a check made now.
    """
    if caller.role not in REPORTING_ROLES or caller.key_name is None:
        raise Forbidden(
            "only the systems that apply measures (agency, provider or operator keys) "
            "report them"
        )
    key = check_key(code)
    as_of, issued = verify_issued(secret, check_id, key, policy.name)
    if measure not in catalogue.codes:
        known = ", ".join(sorted(catalogue.codes))
        raise InvalidInput(f"measure: {measure!r} is not a measure code; known: {known}")
    note = _note(note)
    app_id = application_id(check_id.strip(), key, measure, caller.key_name)
    stamp = now or _now()
    rows = store.read(APPLICATION_BY_ID, {"id": app_id})
    if rows:
        return _with_applied(store, Application.of(rows[0]["application"]), caller, applied,
                             note, stamp, today)

    # The id's time is cut to the millisecond: what was recorded within that millisecond
    # is taken as known to the check (a refusal at worst, never a measure it did not give).
    as_known = (None if issued is None
                else life_known_before(store, issued + dt.timedelta(milliseconds=1)))
    visible = visible_to(rules, caller, key, as_of, today)
    result = check_sanctions(store, key, policy=policy, catalogue=catalogue, as_of=as_of,
                             measure=measure, visible=visible, as_known=as_known)
    basis = sorted({m.basis_record_id for m in result.measures if m.measure == measure})
    if not basis:
        raise InvalidInput(
            f"measure: {measure} did not apply in check {check_id.strip()} (as of "
            f"{as_of.isoformat()}, policy {policy.name}); only a measure the check grounded "
            "can be reported"
        )
    entry = TrailEntry(at=stamp, by=caller.key_name, action="reported", applied=applied,
                       note=note, on=today.isoformat())
    created = store.write_one(
        CREATE_APPLICATION,
        {
            "id": app_id,
            "check_id": check_id.strip(),
            "code": key,
            "measure": measure,
            "as_of": as_of.isoformat(),
            "reporter": caller.key_name,
            "reporter_role": caller.role.value,
            "unit": caller.unit,
            "applied": applied,
            "note": note,
            "now": stamp,
            "today": today.isoformat(),
            "basis": basis,
            "entry": entry.to_json(),
        },
    )
    if not created:
        raise NotFound(f"no subject with code {mask_code(key)}")  # gone since the check
    # A concurrent identical report may have made the node first, with another flag.
    return _with_applied(store, Application.of(created[0]["application"]), caller, applied,
                         note, stamp, today)


def _refuse_unapplying(app: Application) -> None:
    if app.reversed and app.applied:
        on = f" on {app.reversed_on.isoformat()}" if app.reversed_on else ""
        raise InvalidInput(
            f"applied: application {app.id} was applied and reported reversed{on}; a "
            "reversed application cannot be changed to not applied"
        )


def _with_applied(
    store: GraphStore, app: Application, caller: Caller, applied: bool, note: str | None,
    stamp: str, today: dt.date,
) -> Application:
    if app.applied == applied:
        return app
    if not applied:
        _refuse_unapplying(app)
    assert caller.key_name is not None
    entry = TrailEntry(at=stamp, by=caller.key_name, action="applied_changed",
                       applied=applied, note=note, on=today.isoformat())
    rows = store.write_one(
        CHANGE_APPLIED, {"id": app.id, "applied": applied, "now": stamp,
                         "entry": entry.to_json()},
    )
    if rows:
        return Application.of(rows[0]["application"])
    current = get_application(store, app.id)
    if not applied:
        _refuse_unapplying(current)  # reversed meanwhile, by a concurrent request
    return current


def report_reversed(
    store: GraphStore,
    caller: Caller,
    application_id: str,
    *,
    today: dt.date,
    note: str | None = None,
    now: str | None = None,
) -> Application:
    """Mark an application reversed: the system undid the measure. Only the key that
    reported it, or an operator; a second call returns the application unchanged."""
    app = get_application(store, application_id)
    if caller.role is not CallerRole.OPERATOR and (
        caller.key_name is None or caller.key_name != app.reporter
    ):
        raise Forbidden("only the key that reported an application, or an operator, "
                        "reports its reversal")
    if not app.applied:
        raise InvalidInput(f"applicationId: {app.id} was reported as not applied; "
                           "there is nothing to reverse")
    if app.reversed:
        return app
    stamp = now or _now()
    actor = caller.key_name or caller.role.value
    note = _note(note)
    entry = TrailEntry(at=stamp, by=actor, action="reversed", applied=True, note=note)
    rows = store.write_one(
        REVERSE_APPLICATION,
        {"id": app.id, "now": stamp, "today": today.isoformat(), "actor": actor,
         "note": note, "entry": entry.to_json()},
    )
    return Application.of(rows[0]["application"]) if rows else get_application(store, app.id)


# --------------------------------------------------------------------------- reversal


def grounded_by(
    store: GraphStore, code: str, *, policy: Policy, catalogue: Catalogue, on: dt.date,
    known_before: dt.datetime | None = None,
) -> dict[str, set[str]]:
    """Per measure, the records that ground it on ``code`` on ``on`` (full visibility),
    with their status changes recorded from ``known_before`` on left out when given.
    A subject no longer in the graph grounds nothing."""
    known = None if known_before is None else life_known_before(store, known_before)
    try:
        result = check_sanctions(store, code, policy=policy, catalogue=catalogue, as_of=on,
                                 as_known=known)
    except NotFound:
        return {}
    out: dict[str, set[str]] = {}
    for m in result.measures:
        out.setdefault(m.measure, set()).add(m.basis_record_id)
    return out


def records_by_uid(store: GraphStore, uids: Sequence[str]) -> dict[str, RecordRef]:
    wanted = sorted(set(uids))
    found = {
        str(r["uid"]): RecordRef(str(r["uid"]), r["record"], str(r["subject_kind"]),
                                 r.get("subject_ended"))
        for r in (store.read(RECORDS_BY_UID, {"uids": wanted}) if wanted else [])
    }
    return {u: found.get(u, RecordRef(u, None)) for u in wanted}


def standing_of(
    ref: RecordRef, measure: str, *, policy: Policy, on: dt.date
) -> BasisStanding:
    """Why a basis record no longer grounds ``measure`` on ``on``."""
    if ref.record is None:
        return BasisStanding(ref, Standing.DELETED, "no longer in the graph", None)
    state = record_state(ref.record, subject_kind=ref.subject_kind or "entity",
                         subject_ended=ref.subject_ended, policy=policy, on=on)
    standing = state.standing
    if standing is Standing.IN_FORCE:
        return BasisStanding(
            ref, standing,
            f"in force, but no longer grounds {measure} on this subject (its content or "
            "the roles linking it changed)",
            None,
        )
    if standing is Standing.ARCHIVED and state.disclosed_until is not None:
        return BasisStanding(ref, standing, "; ".join(state.reasons) or None,
                             state.disclosed_until + dt.timedelta(days=1))
    changes = [c for c in state_changes(ref.record) if c.effective <= on]
    if standing.value == (changes[-1].status if changes else None):
        last = changes[-1]
        return BasisStanding(
            ref, standing, f"{last.status} on {last.effective.isoformat()} (event "
            f"{last.event_id})", last.effective,
        )
    return BasisStanding(ref, standing, "; ".join(state.reasons) or standing.value, None)


def _pages(store: GraphStore, query: str, params: Mapping[str, Any]) -> Iterator[list[Application]]:
    skip = 0
    while True:
        rows = store.read(query, {**params, "skip": skip, "limit": PAGE})
        if not rows:
            return
        yield [Application.of(r["application"]) for r in rows]
        if len(rows) < PAGE:
            return
        skip += PAGE


def _open_pages(
    store: GraphStore, *, on: dt.date, unit: str | None
) -> Iterator[list[Application]]:
    """Applications reported applied by the end of ``on`` (as their trail says then) and
    not reversed by then."""
    query = OPEN_APPLICATIONS if unit is None else OPEN_APPLICATIONS_OF_UNIT
    for page in _pages(store, query, {"on": on.isoformat(), "unit": unit}):
        yield [a for a in page if a.applied_on(on)]


def iter_pending(
    store: GraphStore,
    *,
    policy: Policy,
    catalogue: Catalogue,
    on: dt.date,
    unit: str | None = None,
    known_before: dt.datetime | None = None,
) -> Iterator[PendingReversal]:
    """Applications in effect on ``on`` whose basis no longer grounds their measure then,
    oldest report first. Each code is checked once per call. ``known_before``: judge the
    records as they were known then (a past month's report), not with status changes
    recorded since, even those dated back."""
    grounds: dict[str, dict[str, set[str]]] = {}
    for page in _open_pages(store, on=on, unit=unit):
        if not page:
            continue
        for code in {a.code for a in page} - grounds.keys():
            grounds[code] = grounded_by(store, code, policy=policy, catalogue=catalogue, on=on,
                                        known_before=known_before)
        pending = [
            a for a in page if not set(a.basis) & grounds[a.code].get(a.measure, set())
        ]
        if not pending:
            continue
        refs = records_by_uid(store, [
            u for a in pending
            for u in (*a.basis, *grounds[a.code].get(a.measure, set()))
        ])
        for a in pending:
            now_basis = grounds[a.code].get(a.measure, set())
            yield PendingReversal(
                application=a,
                basis=tuple(standing_of(refs[u], a.measure, policy=policy, on=on)
                            for u in a.basis),
                other_basis=tuple(refs[u] for u in sorted(now_basis)),
            )


def pending_reversals(
    store: GraphStore,
    *,
    policy: Policy,
    catalogue: Catalogue,
    today: dt.date,
    unit: str | None = None,
    first: int = 100,
) -> list[PendingReversal]:
    """The first ``first`` applications to undo on ``today`` (Zhengzhou Art. 24)."""
    out: list[PendingReversal] = []
    for p in iter_pending(store, policy=policy, catalogue=catalogue, on=today, unit=unit):
        out.append(p)
        if len(out) >= first:
            break
    return out


# --------------------------------------------------------------------------- monthly report


def month_bounds(month: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """First day of ``month`` (``YYYY-MM``) and of the next; a month not yet begun is an
    error (there is nothing to report)."""
    try:
        start = dt.datetime.strptime(month.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidInput(f"month: {month!r} is not a month YYYY-MM") from None
    if start > today:
        raise InvalidInput(f"month: {month} has not begun")
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, end


def monthly_report(
    store: GraphStore,
    *,
    policy: Policy,
    catalogue: Catalogue,
    month: str,
    today: dt.date,
    unit: str | None = None,
) -> MonthlyReport:
    """The report of ``month`` as it was known at its end: a flag changed or a record
    deleted (even with an earlier date) after the month is not in it.

    ``applied`` / ``not_applied``: the applications reported in the month, and those
    reported earlier whose flag was changed in it (to a flag other than the one the
    month began with), each once, by its flag at the month's end. ``reversed``:
    reversals made in the month. ``pending_reversal``: pending on the month's last day
    (today while it runs), judged on what was known at the month's end."""
    start, end = month_bounds(month, today)
    last_day = end - dt.timedelta(days=1)
    pending_on = min(last_day, today)
    # A month that has ended is judged without what was recorded after it.
    known_before = (dt.datetime.combine(end, dt.time.min, CHINA_TIME)
                    if last_day < today else None)
    counts: dict[tuple[str | None, str], dict[str, int]] = {}

    def bump(unit_: str | None, measure: str, column: str, n: int) -> None:
        row = counts.setdefault((unit_, measure), {})
        row[column] = row.get(column, 0) + n

    span = {"from": start.isoformat(), "to": end.isoformat(), "unit": unit}
    touched = {**span, "changed_from": (start - dt.timedelta(days=1)).isoformat()}
    for page in _pages(store, REPORTED_OR_CHANGED_IN_MONTH, touched):
        for a in page:
            flag = a.applied_on(last_day)
            if flag is None:
                continue
            if a.reported_on < start and a.applied_on(start - dt.timedelta(days=1)) == flag:
                continue  # not changed in the month (or changed back within it)
            bump(a.unit, a.measure, "applied" if flag else "not_applied", 1)
    for r in store.read(REVERSED_IN_MONTH, span):
        bump(r.get("unit"), str(r["measure"]), "reversed", int(r["n"]))
    for p in iter_pending(store, policy=policy, catalogue=catalogue, on=pending_on, unit=unit,
                          known_before=known_before):
        bump(p.application.unit, p.application.measure, "pending_reversal", 1)

    order = {c: i for i, c in enumerate(catalogue.order)}
    rows = tuple(
        ReportRow(unit=u, measure=m, **c)
        for (u, m), c in sorted(counts.items(),
                                key=lambda kv: (kv[0][0] or "", order.get(kv[0][1], 999)))
    )
    return MonthlyReport(month=start.strftime("%Y-%m"), pending_as_of=pending_on, rows=rows)
