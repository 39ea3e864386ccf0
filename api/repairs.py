"""Revocation, credit repair and deletion of positive records (DOMAIN.md section 7).

- Revocation (Huancui Art. 30): the act behind a record was revoked by its agency, on
  review or by a court. The record stops grounding anything from the day it is
  recorded; the policy's platform deadline is kept with the event.
- Credit repair: Huancui Art. 31 (the provider's certificate; off the query interface
  at once, inside the 3 working days allowed) and Nantong Art. 34-35 (the act corrected,
  one year without a similar act, a commitment; 5 working days of publicity, after which
  the repair takes effect and the original is archived). Other profiles have none.
- Deletion of commendations, volunteering and donations on the subject's request
  (Wuhan Art. 29, Huancui Art. 33), within the policy's working days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.objections import ConcurrentChange
from api.record_procedures import (
    Actor,
    StoredRecord,
    change_status,
    is_its_provider,
    load_record,
    new_id,
    now_iso,
    operator_or_own_subject,
    operator_or_provider,
    record_for,
    require_text,
    standing_day,
    step_day,
)
from graph.store import GraphStore
from queries import life
from schema.access import AccessRules
from schema.errors import CreditGraphError, Forbidden, InvalidInput, NotFound
from schema.policy import Policy, add_years
from schema.record_life import Standing, deadline, state_entry, status_on, status_without
from schema.record_view import as_date

REQUESTED, IN_PUBLICITY, APPROVED = "requested", "in_publicity", "approved"
REJECTED, CANCELLED = "rejected", "cancelled"


class ProcedureNotAvailable(CreditGraphError):
    """The active policy has no such procedure, or its conditions are not met."""

    code = "PROCEDURE_NOT_AVAILABLE"


@dataclass(frozen=True)
class RevocationResult:
    record_uid: str
    subject: str
    event_id: str
    effective_on: dt.date
    platform_due: dt.date | None
    calendar_approximate: bool


#: Statuses of a similar record that say the act it records is not one (Nantong Art. 34).
_NOT_AN_ACT = frozenset({Standing.WITHDRAWN, Standing.REVOKED, Standing.DELETED})


def revoke_record(
    store: GraphStore, rules: AccessRules, actor: Actor, *, record_uid: str, reason: str,
    notice_on: dt.date | None = None,
) -> RevocationResult:
    """By an operator on the notice, or by the provider that submitted the record."""
    reason = require_text(reason, "reason")
    rec = record_for(store, rules, actor, record_uid, allowed=operator_or_provider,
                     who="an operator or the record's provider")
    day = step_day(notice_on, actor, not_before=rec.decided_on, what="the record's decision")
    # A backdated notice must not slip under a change recorded since (a deletion, an
    # earlier revocation): judge the record as it stands on the later of the two days.
    state = rec.state(rules.policy, standing_day(rec, day, actor.today))
    if state.standing.value in ("revoked", "deleted", "withdrawn"):
        raise InvalidInput(f"recordId: the record is already {state.standing.value}")
    revocation = rules.policy.revocation
    wd = revocation.platform_working_days
    due = deadline(day, wd) if wd is not None else None
    # Huancui Art. 30 has the centre delete the record of a revoked act (``action:
    # delete``): deleted, it is kept for operators only, as one an objection found wrong.
    # Elsewhere the regulations say nothing of deletion and the record stays, revoked,
    # readable as before and grounding nothing (CONTRACT.md section 4, rule 4).
    status = "deleted" if revocation.action == "delete" else "revoked"
    event = change_status(store, rec, actor, status=status, kind="revoked", on=day,
                          reason=f"{reason} ({revocation.article})" if status == "deleted"
                          else reason, due=due.due if due else None)
    return RevocationResult(rec.uid, rec.subject, event, day, due.due if due else None,
                            bool(due and due.approximate))


# --------------------------------------------------------------------------- repair


@dataclass(frozen=True)
class RepairView:
    props: Mapping[str, Any]
    record_uid: str

    @property
    def id(self) -> str:
        return str(self.props["id"])


def _unmet_conditions(
    store: GraphStore, policy: Policy, rec: StoredRecord, day: dt.date,
    corrected_on: dt.date | None, commitment: bool, standing_on: dt.date,
) -> list[str]:
    """What keeps the record from being repaired on ``day``; whether it is still in use
    is judged on ``standing_on`` (``standing_day``: a backdated request must not reach
    the record as it stood before a revocation or deletion recorded since)."""
    rule = policy.repair
    unmet = []
    state = rec.state(policy, standing_on)
    if str(rec.props.get("category")) != "negative":
        unmet.append("only dishonesty (negative) information can be repaired")
    if state.standing is not Standing.IN_FORCE:
        unmet.append(f"the record must still be in use; it is {state.standing.value} "
                     f"({rule.article})")
    if rule.commitment_required and not commitment:
        unmet.append(f"a written commitment not to break faith again is required ({rule.article})")
    if rule.years_without_recurrence:
        years = rule.years_without_recurrence
        if corrected_on is None:
            unmet.append(f"correctedOn: the day the act was corrected is required ({rule.article})")
        elif corrected_on > day:
            unmet.append("correctedOn: in the future")
        else:
            clean_until = add_years(corrected_on, years)
            if day < clean_until:
                unmet.append(f"{years} year(s) without a similar act must have passed since "
                             f"the correction: not before {clean_until.isoformat()} "
                             f"({rule.article})")
            for row in store.read(life.SIMILAR_RECORDS, {
                "subject": rec.subject, "kind": rec.props.get("kind"), "negative": "negative",
                "uid": rec.uid,
            }):
                other = row["record"]
                # Art. 34(2) asks for a year clean of a similar act: one after that year
                # does not undo it, nor does a record that no longer stands (withdrawn by
                # its provider, revoked, deleted after an objection).
                if status_on(other, day) in _NOT_AN_ACT:
                    continue
                act = as_date(other.get("act_ended_on")) or as_date(other["decided_on"])
                if act is not None and corrected_on < act <= min(day, clean_until):
                    unmet.append(f"a similar act ({other['uid']}, {act.isoformat()}) followed "
                                 f"the correction ({rule.article})")
    return unmet


def request_repair(
    store: GraphStore, rules: AccessRules, actor: Actor, *, record_uid: str, reason: str,
    corrected_on: dt.date | None = None, commitment: bool = False, on: dt.date | None = None,
) -> RepairView:
    policy = rules.policy
    reason = require_text(reason, "reason")
    # Repair is the subject's own procedure (docs/api.md); a person the record only
    # names as responsible may object to it, not ask for the subject's record to be
    # repaired.
    rec = record_for(store, rules, actor, record_uid, allowed=operator_or_own_subject,
                     who="the record's subject or an operator")
    if not policy.repair.available:
        raise ProcedureNotAvailable(
            f"the {policy.name} policy has no credit repair ({policy.repair.article}: "
            f"{policy.repair.note or 'not provided'})"
        )
    day = step_day(on, actor, not_before=rec.decided_on, what="the record's decision")
    _refuse_if_open(store, rec.uid, actor.today)
    unmet = _unmet_conditions(store, policy, rec, day, corrected_on, commitment,
                              standing_day(rec, day, actor.today))
    if unmet:
        raise ProcedureNotAvailable("repair conditions not met: " + "; ".join(unmet))
    rid = new_id("rep")
    props = {
        "id": rid, "record": rec.uid, "subject": rec.subject, "reason": reason,
        "requested_on": day.isoformat(), "requested_at": now_iso(),
        "requested_by": actor.name, "corrected_on": corrected_on.isoformat()
        if corrected_on else None, "commitment": commitment, "status": REQUESTED,
        "policy": policy.name,
    }
    # One open repair per record: the request applies only if the record is as read
    # (no other request, nor any other step, recorded since the open ones were listed).
    if not _guarded(store, life.OPEN_REPAIR, rec, actor, rid, props, kind="repair_requested",
                    on=day, reason=reason):
        _refuse_if_open(store, rec.uid, actor.today)
        raise _conflict(rec)
    return RepairView(props, rec.uid)


def _refuse_if_open(store: GraphStore, uid: str, today: dt.date) -> None:
    """A request, or an approval still in its publicity today, keeps the record's repair
    open: one at a time, so a stop undoes the only repair there is (Nantong Art. 35)."""
    open_ = [r for r in _repairs(store, uid) if r["status"] == REQUESTED or (
        r["status"] == IN_PUBLICITY and (as_date(r.get("effective_on")) or today) > today)]
    if open_:
        raise InvalidInput(f"recordId: repair {open_[0]['id']} of this record is still open")


def _guarded(
    store: GraphStore, query: str, rec: StoredRecord, actor: Actor, repair_id: str,
    props: Mapping[str, Any], *, kind: str, on: dt.date, reason: str | None,
    repair_status: str | None = None, status: str | None = None, event_id: str | None = None,
    due: dt.date | None = None,
) -> bool:
    """Write one repair step with its event (and status entry) if the record and the
    repair are still as read (``life.OPEN_REPAIR``, ``REPAIR_STEP``,
    ``REPAIR_STATUS_STEP``); False when another step got there first."""
    event_id = event_id or new_id("ev")
    params: dict[str, Any] = {
        "uid": rec.uid, "rev": rec.rev, "states": len(rec.props.get("states") or []),
        "id": repair_id, "props": dict(props), "event_id": event_id, "kind": kind,
        "actor": actor.name, "actor_role": actor.role, "at": now_iso(), "on": on.isoformat(),
        "reason": reason, "due": due.isoformat() if due else None,
    }
    if repair_status is not None:
        params["repair_status"] = repair_status
    if status is not None:
        params.update(status=status, entry=state_entry(on, status, event_id))
    return bool(store.write_one(query, params))


def _conflict(rec: StoredRecord) -> ConcurrentChange:
    return ConcurrentChange(
        f"record {rec.uid!r} changed while this step was recorded; send it again"
    )


def _lost_to_another_step(store: GraphStore, repair_id: str, rec: StoredRecord,
                          expected: str) -> CreditGraphError:
    """What the loser of a race on a repair is told: the refusal it would get now if
    another step already moved the repair on, else CONFLICT (safe to send again)."""
    now, _ = _get_repair(store, repair_id)
    if now["status"] != expected:
        return InvalidInput(f"repairId: already {now['status']}")
    return _conflict(rec)


def decide_repair(
    store: GraphStore, rules: AccessRules, actor: Actor, *, repair_id: str, approve: bool,
    note: str | None, certificate_no: str | None = None, on: dt.date | None = None,
) -> RepairView:
    """The provider's written opinion or certificate (or an operator recording it).

    Approved under Nantong, the opinion is publicised for 5 working days counted after the
    decision day; the repair takes effect the day after the last one. Under Huancui it
    takes effect on the day of the certificate.
    """
    policy = rules.policy
    props, uid = _get_repair(store, repair_id)
    rec = load_record(store, uid)
    if not (actor.is_operator or is_its_provider(actor.caller, rec.props)):
        raise Forbidden("only the record's provider, or an operator, decides a repair")
    if props["status"] != REQUESTED:
        raise InvalidInput(f"repairId: already {props['status']}")
    requested = as_date(props["requested_on"])
    day = step_day(on, actor, not_before=requested, what="the request")
    rule = policy.repair
    update: dict[str, Any] = {"decided_on": day.isoformat(), "decided_by": actor.name,
                              "note": note, "approved": approve}
    if approve:
        # The record may have been revoked, deleted or withdrawn since the request: a
        # record that grounds nothing any more cannot be repaired (Huancui Art. 30-31), and
        # approving would turn "revoked" into "repaired" in its history.
        standing = rec.state(policy, standing_day(rec, day, actor.today)).standing
        if standing in _ENDED:
            raise ProcedureNotAvailable(
                f"repair conditions not met: the record is {standing.value} "
                f"({rule.article})"
            )
    # One decision per repair: it applies only if the repair is still requested and the
    # record as read (a revocation racing an approval must not end up "repaired").
    if not approve:
        update["status"] = REJECTED
        done = _guarded(store, life.REPAIR_STEP, rec, actor, repair_id, update,
                        kind="repair_rejected", on=day, reason=note, repair_status=REQUESTED)
    else:
        if rule.effect == "removed_from_query":  # Huancui: the provider's certificate
            if not (certificate_no or "").strip():
                raise InvalidInput(f"certificateNo: the provider's repair certificate is "
                                   f"required ({rule.article})")
            update["certificate_no"] = certificate_no
        effective = day
        approximate = False
        if rule.publicity_working_days:
            publicity = deadline(day, rule.publicity_working_days)
            update["publicity_ends"] = publicity.due.isoformat()
            effective = publicity.due + dt.timedelta(days=1)
            approximate = publicity.approximate
        update.update(effective_on=effective.isoformat(), calendar_approximate=approximate,
                      status=IN_PUBLICITY if effective > day else APPROVED)
        platform_due = (deadline(day, rule.platform_working_days).due
                        if rule.platform_working_days is not None else None)
        update["state_event"] = new_id("ev")
        done = _guarded(store, life.REPAIR_STATUS_STEP, rec, actor, repair_id, update,
                        kind="repaired", on=effective,
                        reason=note or f"credit repair approved ({rule.article})",
                        repair_status=REQUESTED, status="repaired",
                        event_id=update["state_event"], due=platform_due)
    if not done:
        raise _lost_to_another_step(store, repair_id, rec, REQUESTED)
    props.update(update)
    return RepairView(props, uid)


def cancel_repair(
    store: GraphStore, rules: AccessRules, actor: Actor, *, repair_id: str, reason: str,
    on: dt.date | None = None,
) -> RepairView:
    """A founded objection during the publicity stops an approved repair before it takes
    effect (Nantong Art. 35: publicised "无异议的" before it is used). The repair's dated
    state stays in the record's history and a later entry on the same day restores it,
    so nothing is rewritten."""
    reason = require_text(reason, "reason")
    if not actor.is_operator:
        raise Forbidden("only an operator of the platform stops a repair in publicity")
    props, uid = _get_repair(store, repair_id)
    effective = as_date(props.get("effective_on"))
    decided = as_date(props.get("decided_on"))
    day = step_day(on, actor, not_before=decided, what="the decision")
    # Still in its publicity *today*: a backdated stop must not reach a repair already in
    # effect and rewrite what checks have answered since (as ``standing_day`` keeps
    # other backdated steps from reaching a change already in effect).
    if props["status"] != IN_PUBLICITY or effective is None or actor.today >= effective:
        took = (f"; it took effect on {effective.isoformat()}"
                if props["status"] == IN_PUBLICITY and effective is not None else "")
        raise InvalidInput(
            f"repairId: only a repair still in its publicity today can be stopped{took}"
        )
    rec = load_record(store, uid)
    # Undo only the repair: what other procedures recorded since (a revocation during the
    # publicity) still stands from the day the repair would have taken effect.
    restored = status_without(rec.props, effective, _repair_state_event(rec, props, effective))
    update = {"status": CANCELLED, "cancelled_on": day.isoformat(), "cancel_reason": reason,
              "cancelled_by": actor.name}
    # One stop per repair, computed from the record as read: it applies only if the
    # repair is still in its publicity and the record unchanged since.
    if not _guarded(store, life.REPAIR_STATUS_STEP, rec, actor, repair_id, update,
                    kind="repair_cancelled", on=effective, reason=reason,
                    repair_status=IN_PUBLICITY, status=restored):
        raise _lost_to_another_step(store, repair_id, rec, IN_PUBLICITY)
    props.update(update)
    return RepairView(props, uid)


#: Standings after which a record grounds nothing for good and cannot be repaired.
_ENDED = frozenset({Standing.REVOKED, Standing.DELETED, Standing.WITHDRAWN, Standing.REPAIRED,
                    Standing.ARCHIVED})


def _repair_state_event(rec: StoredRecord, props: Mapping[str, Any], effective: dt.date) -> str:
    """The event of the repair's ``repaired`` entry. Repairs approved before the event
    was kept on the repair are found by their entry: the last ``repaired`` one dated on
    the day the repair takes effect (one repair of a record is open at a time)."""
    if props.get("state_event"):
        return str(props["state_event"])
    found = ""
    for raw in rec.props.get("states") or []:
        day, status, event_id = str(raw).split("|", 2)
        if status == "repaired" and day == effective.isoformat():
            found = event_id
    return found


def _get_repair(store: GraphStore, repair_id: str) -> tuple[dict[str, Any], str]:
    """The repair's properties and its record's uid."""
    rows = store.read(life.GET_REPAIR, {"id": repair_id})
    if not rows:
        raise NotFound(f"no repair {repair_id!r}")
    return dict(rows[0]["repair"]), str(rows[0]["record"])


def _repairs(store: GraphStore, uid: str) -> list[dict[str, Any]]:
    return [dict(r["repair"]) for r in store.read(life.REPAIRS_OF_RECORD, {"uid": uid})]


def repairs_of(store: GraphStore, uid: str, today: dt.date) -> list[RepairView]:
    out = []
    for props in _repairs(store, uid):
        if props["status"] == IN_PUBLICITY and (as_date(props.get("effective_on"))
                                                or today) <= today:
            props = {**props, "status": APPROVED}
        out.append(RepairView(props, uid))
    return out


# --------------------------------------------------------------------------- deletion


@dataclass(frozen=True)
class DeletionResult:
    record_uid: str
    subject: str
    event_id: str
    effective_on: dt.date
    due: dt.date | None
    calendar_approximate: bool


def delete_positive_record(
    store: GraphStore, rules: AccessRules, actor: Actor, *, record_uid: str,
    on: dt.date | None = None,
) -> DeletionResult:
    policy = rules.policy
    rule = policy.positive_deletion
    rec = record_for(store, rules, actor, record_uid, allowed=operator_or_own_subject,
                     who="the record's subject or an operator")
    if not rule.available:
        raise ProcedureNotAvailable(
            f"the {policy.name} policy gives no right to delete positive records "
            f"({rule.article})"
        )
    kind = str(rec.props.get("kind", ""))
    if kind not in rule.kinds:
        raise ProcedureNotAvailable(
            f"only {', '.join(rule.kinds)} can be deleted on request ({rule.article}); "
            f"this record is {kind!r}"
        )
    day = step_day(on, actor, not_before=rec.decided_on, what="the record's decision")
    # Judged as it stands on the later of that day and its latest recorded change, as a
    # revocation is: a backdated deletion must not slip under a revocation recorded since.
    state = rec.state(policy, standing_day(rec, day, actor.today))
    if state.standing.value in ("deleted", "withdrawn", "revoked"):
        raise InvalidInput(f"recordId: the record is already {state.standing.value}")
    due = deadline(day, rule.working_days) if rule.working_days is not None else None
    event = change_status(store, rec, actor, status="deleted", kind="deleted_on_request",
                          on=day, reason=f"the subject asked for deletion ({rule.article})",
                          due=due.due if due else None)
    return DeletionResult(rec.uid, rec.subject, event, day, due.due if due else None,
                          bool(due and due.approximate))
