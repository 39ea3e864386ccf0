"""Objections (异议): filing, forwarding, the provider's reply and the outcome.

The steps and deadlines are the active policy's (``schema.objection_steps``); what a
pending objection does to the record (still applied, suspended, disclosure stopped) is
decided by ``schema.record_life`` from the dated steps this module keeps on the record.

Who acts: the subject (or a person the record names as responsible) files; an operator
may file on its behalf. The platform (operators) forwards and resolves. The provider
that submitted the record (or an operator) replies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from api.record_procedures import (
    Actor,
    StoredRecord,
    change_status,
    is_its_provider,
    load_record,
    new_id,
    note_event,
    now_iso,
    record_for,
    require_text,
    standing_day,
    step_day,
)
from graph.store import GraphStore
from loaders.errors import RowRejected
from loaders.rows import parse_row
from queries import life
from schema.access import AccessRules
from schema.errors import CreditGraphError, Forbidden, InvalidInput, NotFound
from schema.models import Disclosure, ListKind, Record, Severity
from schema.objection_steps import Step, objection_steps, provider_working_days
from schema.policy import Policy
from schema.record_life import (
    ObjectionWindow,
    deadline,
    needs_history,
    objection_windows,
    windows_json,
)
from schema.record_view import as_date

PENDING, RESOLVED = "pending", "resolved"


class Verdict(StrEnum):
    """The provider's answer after verifying."""

    CORRECT = "correct"  # the record is right
    WRONG = "wrong"  # the record is wrong
    UNVERIFIABLE = "unverifiable"


class Outcome(StrEnum):
    CONFIRMED = "confirmed"  # the record stays as it is; the mark is removed
    CORRECTED = "corrected"  # a new version with the corrections
    DELETED = "deleted"  # wrong and not correctable: deleted, kept as history
    UNVERIFIABLE = "unverifiable"  # deleted where the policy says so, else kept


class ConcurrentChange(CreditGraphError):
    """Another procedure changed the record at the same moment; trying again is safe."""

    code = "CONFLICT"


@dataclass(frozen=True)
class Correction:
    """The fields an objection may correct; ``None`` leaves a field as it is."""

    title: str | None = None
    severity: Severity | None = None
    list_kind: ListKind | None = None
    clear_list: bool = False
    decided_on: dt.date | None = None
    act_ended_on: dt.date | None = None
    valid_until: dt.date | None = None
    disclosure: Disclosure | None = None
    document_no: str | None = None
    authority: str | None = None

    def changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("title", "document_no", "authority"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for name in ("decided_on", "act_ended_on", "valid_until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        if self.severity is not None:
            out["severity"] = self.severity.value
        if self.disclosure is not None:
            out["disclosure"] = self.disclosure.value
        if self.list_kind is not None:
            out["list"] = self.list_kind.value
        elif self.clear_list:
            out["list"] = None
        return out


@dataclass(frozen=True)
class ObjectionView:
    """An objection with its steps computed under the active policy."""

    props: Mapping[str, Any]
    record_uid: str
    steps: list[Step]

    @property
    def id(self) -> str:
        return str(self.props["id"])

    def overdue_on(self, day: dt.date) -> list[Step]:
        return [s for s in self.steps if s.overdue_on(day)]


def _view(props: Mapping[str, Any], record_uid: str, policy: Policy) -> ObjectionView:
    return ObjectionView(props, record_uid, objection_steps(props, policy))


def _get(store: GraphStore, objection_id: str) -> tuple[dict[str, Any], str]:
    rows = store.read(life.GET_OBJECTION, {"id": objection_id})
    if not rows:
        raise NotFound(f"no objection {objection_id!r}")
    return dict(rows[0]["objection"]), str(rows[0]["record"])


def _windows_with(rec: StoredRecord, window: ObjectionWindow) -> str:
    """The record's objection summary with one objection's dated steps replaced (or
    added)."""
    windows = [w for w in objection_windows(rec.props) if w.id != window.id] + [window]
    windows.sort(key=lambda w: (w.filed_on, w.id))
    return windows_json(windows)


def _changed_meanwhile(rec: StoredRecord) -> ConcurrentChange:
    return ConcurrentChange(
        f"record {rec.uid!r} changed while this step was recorded; send it again"
    )


def _write_window(
    store: GraphStore, rec: StoredRecord, window: ObjectionWindow
) -> None:
    """Replace (or add) one objection's dated steps on the record, if nobody else
    changed the record's objections since it was read."""
    done = store.write_one(
        life.WRITE_OBJECTION_WINDOWS,
        {"uid": rec.uid, "rev": rec.rev, "windows": _windows_with(rec, window)},
    )
    if not done:
        raise _changed_meanwhile(rec)


def _window_of(rec: StoredRecord, objection_id: str) -> ObjectionWindow:
    found = next((w for w in objection_windows(rec.props) if w.id == objection_id), None)
    if found is None:  # the node exists but the record's summary lost it: rebuild it
        raise ConcurrentChange(f"objection {objection_id!r} is not on its record yet")
    return found


def file_objection(
    store: GraphStore, rules: AccessRules, actor: Actor, *, record_uid: str, reason: str,
    on: dt.date | None = None,
) -> ObjectionView:
    reason = require_text(reason, "reason")
    rec = record_for(store, rules, actor, record_uid,
                     who="the record's subject, a person it names, or an operator")
    day = step_day(on, actor, not_before=rec.decided_on, what="the record's decision")
    windows = objection_windows(rec.props)
    pending = [w for w in windows if w.resolved_on is None]
    if pending:
        raise InvalidInput(
            f"recordId: objection {pending[0].id} on this record is still pending"
        )
    resolved = [w.resolved_on for w in windows if w.resolved_on is not None]
    if resolved and day < max(resolved):
        raise InvalidInput(f"on: {day.isoformat()} is before the last objection on this record "
                           f"was resolved ({max(resolved).isoformat()})")
    # Judged as the record stands now, not as it stood on a backdated filing day: a record
    # deleted or revoked since leaves nothing to object to.
    state = rec.state(rules.policy, standing_day(rec, day, actor.today))
    if state.standing.value in ("deleted", "revoked", "withdrawn", "repaired"):
        raise InvalidInput(f"recordId: the record is {state.standing.value}; nothing to object to")
    oid = new_id("obj")
    props = {
        "id": oid, "record": rec.uid, "subject": rec.subject, "provider": rec.provider,
        "reason": reason, "filed_on": day.isoformat(), "filed_at": now_iso(),
        "filed_by": actor.name, "filed_by_role": actor.role, "status": PENDING,
        "policy": rules.policy.name,
    }
    # The objection and the record's summary listing it are one revision-checked
    # statement: a filing that loses a race (another filing, any step on the record)
    # leaves nothing behind, not an objection its record does not know of.
    created = store.write_one(life.FILE_OBJECTION, {
        "uid": rec.uid, "rev": rec.rev, "id": oid, "props": props,
        "windows": _windows_with(rec, ObjectionWindow(id=oid, filed_on=day)),
    })
    if not created:
        raise _changed_meanwhile(rec)
    steps = objection_steps(props, rules.policy)
    note_event(store, rec, actor, kind="objection_filed", on=day, reason=reason, ref=oid,
               due=steps[0].due)
    return _view(props, rec.uid, rules.policy)


def forward_objection(
    store: GraphStore, rules: AccessRules, actor: Actor, *, objection_id: str,
    complex_case: bool = False, on: dt.date | None = None,
) -> ObjectionView:
    """The platform has compared its record and sends the objection to the provider; the
    provider's deadline runs from this day."""
    if not actor.is_operator:
        raise Forbidden("only an operator of the platform forwards an objection")
    props, uid = _get(store, objection_id)
    if props.get("status") != PENDING or props.get("forwarded_on"):
        raise InvalidInput("objectionId: already forwarded or resolved")
    filed = as_date(props["filed_on"])
    day = step_day(on, actor, not_before=filed, what="the filing")
    if complex_case and rules.policy.objection.provider_verification.complex_working_days is None:
        raise InvalidInput(f"complex: the {rules.policy.name} policy has no longer deadline "
                           "for complex cases")
    rec = load_record(store, uid)
    wd = provider_working_days(rules.policy, complex_case)
    due = deadline(day, wd).due if wd is not None else None
    window = replace(_window_of(rec, objection_id), forwarded_on=day, provider_due=due)
    _write_window(store, rec, window)
    props.update(forwarded_on=day.isoformat(), complex=complex_case,
                 provider_due=due.isoformat() if due else None)
    store.write_one(life.UPDATE_OBJECTION, {"id": objection_id, "props": {
        "forwarded_on": props["forwarded_on"], "complex": complex_case,
        "provider_due": props["provider_due"], "forwarded_by": actor.name,
    }})
    note_event(store, rec, actor, kind="objection_forwarded", on=day, reason=None,
               ref=objection_id, due=due)
    return _view(props, uid, rules.policy)


def reply_to_objection(
    store: GraphStore, rules: AccessRules, actor: Actor, *, objection_id: str,
    verdict: Verdict, note: str | None, on: dt.date | None = None,
) -> ObjectionView:
    """The provider's verification. Its day decides whether it was in time: a reply on
    the due day is in time, the day after is late (with the policy's consequences)."""
    props, uid = _get(store, objection_id)
    rec = load_record(store, uid)
    if not (actor.is_operator or is_its_provider(actor.caller, rec.props)):
        raise Forbidden("only the provider that submitted the record, or an operator, replies")
    if props.get("status") != PENDING:
        raise InvalidInput("objectionId: already resolved")
    forwarded = as_date(props.get("forwarded_on"))
    if forwarded is None:
        raise InvalidInput("objectionId: not forwarded to the provider yet")
    if props.get("replied_on"):
        raise InvalidInput("objectionId: the provider has already replied")
    day = step_day(on, actor, not_before=forwarded, what="the forwarding")
    window = replace(_window_of(rec, objection_id), replied_on=day)
    _write_window(store, rec, window)
    update = {"replied_on": day.isoformat(), "verdict": verdict.value, "reply_note": note,
              "replied_by": actor.name}
    props.update(update)
    store.write_one(life.UPDATE_OBJECTION, {"id": objection_id, "props": update})
    note_event(store, rec, actor, kind="objection_replied", on=day,
               reason=f"{verdict.value}: {note}" if note else verdict.value, ref=objection_id)
    return _view(props, uid, rules.policy)


def _input_name(field: str) -> str:
    """A record field as ``RecordCorrectionInput`` names it (``valid_until``:
    ``validUntil``)."""
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def _loader_refusal(fields: Mapping[str, Any], policy: Policy, today: dt.date) -> str | None:
    """Why the loader would refuse a record row with these fields, or None: the very
    validation a loaded record passes (``loaders.rows.parse_row``, ``schema.models.Record``)."""
    row = {"type": "record", **{k: v for k, v in fields.items() if v is not None}}
    try:
        parse_row(row, 0, policy, today)
    except RowRejected as e:
        # The caller names the corrected field: drop the loader's own ("row" for a rule
        # on the row as a whole).
        head, sep, rest = e.reason.partition(": ")
        return rest if sep and (head == "row" or head in Record.model_fields) else e.reason
    return None


def _check_correction(
    rec: StoredRecord, correction: Correction, day: dt.date, today: dt.date, policy: Policy
) -> None:
    """Refuse a correction that would make a record the loader refuses, or that is dated
    before the record's current content took effect.

    Dated earlier, the new version would carry content that arrived later (a provider's
    reload) into days it did not hold: ``content_on`` shows the current node from its
    ``content_since`` on, and the version in force that day cannot be corrected apart
    without rewriting the versions stored since. The loader never dates new content
    before the content it supersedes either. A record's first content stands for every
    earlier day, so a correction of it may be dated back to the objection's steps.
    """
    if needs_history(rec.props, day):
        since = str(rec.props["content_since"])
        raise InvalidInput(
            f"on: {day.isoformat()} is before {since}, when the record's current content "
            f"(version {rec.props.get('version')}) took effect; dated earlier, the correction "
            f"would show that content on days it did not hold: date it {since} or later"
        )
    changes = correction.changes()
    current = {k: rec.props.get(k) for k in Record.model_fields if k != "action"}
    problem = _loader_refusal({**current, **changes}, policy, today)
    if problem is None:
        return
    # Name the corrected fields that break a rule on their own, else all of them (two
    # dates each right alone, wrong together).
    alone = [k for k in changes
             if _loader_refusal({**current, k: changes[k]}, policy, today) is not None]
    named = ", ".join(sorted(f"correction.{_input_name(k)}" for k in alone or changes))
    raise InvalidInput(f"{named}: {problem}; the record as corrected would be refused by "
                       "the loader (docs/loading.md), so nothing was changed")


def resolve_objection(
    store: GraphStore, rules: AccessRules, actor: Actor, *, objection_id: str,
    outcome: Outcome, note: str | None, correction: Correction | None = None,
    still_disputed: bool = False, on: dt.date | None = None,
) -> ObjectionView:
    """The platform's decision, told to the applicant. A correction becomes a new
    version of the record from this day; a deletion or an unverifiable record that the
    policy deletes ends the record's effect from this day, with the reason kept."""
    if not actor.is_operator:
        raise Forbidden("only an operator of the platform resolves an objection")
    props, uid = _get(store, objection_id)
    if props.get("status") != PENDING:
        raise InvalidInput("objectionId: already resolved")
    steps_done = [d for d in (as_date(props["filed_on"]), as_date(props.get("forwarded_on")),
                              as_date(props.get("replied_on"))) if d is not None]
    # The latest step done so far: a resolution may not precede the forwarding either.
    day = step_day(on, actor, not_before=max(steps_done), what="the previous step")
    policy = rules.policy
    if outcome is Outcome.CORRECTED:
        if correction is None or not correction.changes():
            raise InvalidInput("correction: a corrected outcome needs the corrected fields")
    elif correction is not None:
        raise InvalidInput("correction: only for the outcome CORRECTED")
    if still_disputed and not policy.objection.while_pending.marked_after_resolution_if_disputed:
        raise InvalidInput(f"stillDisputed: the {policy.name} policy keeps no mark after an "
                           "objection is resolved")
    rec = load_record(store, uid)
    if outcome is Outcome.CORRECTED:
        assert correction is not None
        _check_correction(rec, correction, day, actor.today, policy)
    window = replace(_window_of(rec, objection_id), resolved_on=day, outcome=outcome.value,
                     disputed=still_disputed)
    _write_window(store, rec, window)
    effect = "record kept as it is"
    if outcome is Outcome.CORRECTED:
        assert correction is not None
        changes = correction.changes()
        store.write_one(life.CORRECT_RECORD, {
            "uid": uid, "changes": changes, "at": now_iso(), "on": day.isoformat(),
            "event_id": new_id("ev"), "kind": "corrected", "actor": actor.name,
            "actor_role": actor.role, "reason": note or "objection upheld", "ref": objection_id,
        })
        effect = "corrected: " + ", ".join(sorted(changes))
    elif outcome is Outcome.DELETED or (
        outcome is Outcome.UNVERIFIABLE
        and policy.objection.unverifiable.action == "delete_and_record_reason"
    ):
        why = "unverifiable" if outcome is Outcome.UNVERIFIABLE else "objection upheld"
        change_status(store, rec, actor, status="deleted", kind="deleted", on=day,
                      reason=f"{why}: {note}" if note else why, ref=objection_id)
        effect = "deleted"
    elif outcome is Outcome.UNVERIFIABLE:
        effect = (f"kept: the {policy.name} policy does not delete unverifiable information "
                  f"({policy.objection.unverifiable.article})")
    update = {"status": RESOLVED, "resolved_on": day.isoformat(), "outcome": outcome.value,
              "note": note, "effect": effect, "still_disputed": still_disputed,
              "resolved_by": actor.name}
    props.update(update)
    store.write_one(life.UPDATE_OBJECTION, {"id": objection_id, "props": update})
    # The effect may already say the outcome ("corrected: title", "deleted").
    said = effect == outcome.value or effect.startswith(f"{outcome.value}:")
    note_event(store, rec, actor, kind="objection_resolved", on=day,
               reason=effect if said else f"{outcome.value}: {effect}", ref=objection_id)
    return _view(props, uid, policy)


def objections_of(store: GraphStore, policy: Policy, record_uid: str) -> list[ObjectionView]:
    rows = store.read(life.OBJECTIONS_OF_RECORD, {"uid": record_uid})
    return [_view(r["objection"], record_uid, policy) for r in rows]


def get_objection(store: GraphStore, policy: Policy, objection_id: str) -> ObjectionView:
    props, uid = _get(store, objection_id)
    return _view(props, uid, policy)


def overdue_objections(
    store: GraphStore, policy: Policy, on: dt.date
) -> list[tuple[ObjectionView, list[Step]]]:
    """Objections pending on ``on`` with a step past its due date and not done by
    then, oldest first. A past day is answered as it stood: an objection resolved since,
    or a step done late since, is still listed for the days it was overdue."""
    out = []
    params = {"pending": PENDING, "as_of": on.isoformat()}
    for row in store.read(life.OBJECTIONS_PENDING_ON, params):
        view = _view(row["objection"], str(row["objection"]["record"]), policy)
        late = view.overdue_on(on)
        if late:
            out.append((view, late))
    return out
