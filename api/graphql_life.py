"""GraphQL for a record's life: objections, revocation, repair, deletion, history.

Resolvers are thin: each procedure lives in ``api.objections`` or ``api.repairs`` and
is run off the event loop. Details of objections and repairs are personal to the record's
subject: they are shown to the subject (and persons the record names), the provider that
submitted the record and operators; everyone else sees only the mark on the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import strawberry
from strawberry.types import Info

from api import objections as obj
from api import repairs as rep
from api.context import RequestContext
from api.graphql_types import CreditRecord, ctx_of
from api.log_masking import shown_opt, shown_text
from api.record_procedures import (
    Actor,
    is_concerned,
    is_its_provider,
    load_record,
)
from api.request_work import in_thread
from graph.record_versions import with_content_on
from graph.store import GraphStore
from queries import life
from schema.access import Caller, CallerRole, shown_code
from schema.errors import Forbidden, NotFound
from schema.models import Disclosure, ListKind, Severity
from schema.objection_steps import Step
from schema.record_view import as_date

ObjectionOutcome = strawberry.enum(
    obj.Outcome, name="ObjectionOutcome",
    description="CONFIRMED: the record stays; CORRECTED: a new version; DELETED: wrong, "
    "deleted (kept as history); UNVERIFIABLE: deleted where the policy says so, else kept.",
)
ProviderVerdict = strawberry.enum(
    obj.Verdict, name="ProviderVerdict",
    description="The provider's answer after verifying the disputed record.",
)


def _actor(ctx: RequestContext) -> Actor:
    return Actor(ctx.caller, ctx.today)


def _may_see_details(ctx: RequestContext, record: Mapping[str, Any]) -> bool:
    c = ctx.caller
    return (c.role is CallerRole.OPERATOR or is_concerned(c, record)
            or is_its_provider(c, record))


@strawberry.type(description="One step of an objection, with its deadline in working days.")
class ObjectionStep:
    name: str = strawberry.field(
        description="first_step, second_step, provider_verification or afterwards."
    )
    action: str | None
    article: str
    working_days: int | None = strawberry.field(description="Null: the text says 'promptly'.")
    starts_on: dt.date | None
    due_on: dt.date | None
    done_on: dt.date | None
    overdue: bool = strawberry.field(description="Not done and past its due date today.")
    late: bool = strawberry.field(description="Done after its due date.")
    calendar_approximate: bool = strawberry.field(
        description="The official calendar does not cover the days counted yet: Monday to "
        "Friday stood in."
    )

    @classmethod
    def of(cls, s: Step, today: dt.date) -> ObjectionStep:
        return cls(
            name=s.name, action=s.action, article=s.article, working_days=s.working_days,
            starts_on=s.starts_on, due_on=s.due, done_on=s.done_on, overdue=s.overdue_on(today),
            late=s.late, calendar_approximate=s.approximate,
        )


@strawberry.type(name="Objection", description="An objection (异议) against a record.")
class ObjectionType:
    id: str
    record_id: str
    subject_code: str
    reason: str
    status: str = strawberry.field(description="pending or resolved.")
    filed_on: dt.date
    filed_by: str
    forwarded_on: dt.date | None
    complex: bool
    provider_due: dt.date | None
    replied_on: dt.date | None
    verdict: obj.Verdict | None
    reply_note: str | None
    resolved_on: dt.date | None
    outcome: obj.Outcome | None
    effect: str | None
    note: str | None
    still_disputed: bool
    steps: list[ObjectionStep]
    overdue: bool = strawberry.field(description="Some step is past its due date today.")
    calendar_approximate: bool

    @classmethod
    def of(cls, v: obj.ObjectionView, ctx: RequestContext) -> ObjectionType:
        p = v.props
        steps = [ObjectionStep.of(s, ctx.today) for s in v.steps]
        filed = as_date(p["filed_on"])
        assert filed is not None
        return cls(
            id=v.id, record_id=v.record_uid,
            subject_code=shown_code(ctx.caller, str(p.get("subject", ""))),
            reason=shown_text(ctx.caller, str(p.get("reason", ""))),
            status=str(p.get("status")),
            filed_on=filed, filed_by=str(p.get("filed_by", "")),
            forwarded_on=as_date(p.get("forwarded_on")), complex=bool(p.get("complex")),
            provider_due=as_date(p.get("provider_due")), replied_on=as_date(p.get("replied_on")),
            verdict=obj.Verdict(p["verdict"]) if p.get("verdict") else None,
            reply_note=shown_opt(ctx.caller, p.get("reply_note")),
            resolved_on=as_date(p.get("resolved_on")),
            outcome=obj.Outcome(p["outcome"]) if p.get("outcome") else None,
            effect=p.get("effect"), note=shown_opt(ctx.caller, p.get("note")),
            still_disputed=bool(p.get("still_disputed")), steps=steps,
            overdue=any(s.overdue for s in steps),
            calendar_approximate=any(s.calendar_approximate for s in steps),
        )


@strawberry.type(name="Repair", description="A credit repair request (信用修复).")
class RepairType:
    id: str
    record_id: str
    status: str = strawberry.field(
        description="requested, in_publicity (approved, not yet in effect), approved, "
        "rejected, cancelled (stopped during its publicity)."
    )
    reason: str
    requested_on: dt.date
    corrected_on: dt.date | None
    commitment: bool
    decided_on: dt.date | None
    approved: bool | None
    note: str | None
    certificate_no: str | None
    publicity_ends: dt.date | None = strawberry.field(
        description="Last working day of the publicity (Nantong Art. 35)."
    )
    effective_on: dt.date | None
    calendar_approximate: bool

    @classmethod
    def of(cls, v: rep.RepairView, caller: Caller) -> RepairType:
        """``caller``: free text (reason, note) may hold an ID number someone typed in; it
        is masked as ``subjectCode`` is, as an objection's text is."""
        p = v.props
        requested = as_date(p["requested_on"])
        assert requested is not None
        note = p.get("note")
        return cls(
            id=v.id, record_id=v.record_uid, status=str(p["status"]),
            reason=shown_text(caller, str(p.get("reason", ""))), requested_on=requested,
            corrected_on=as_date(p.get("corrected_on")), commitment=bool(p.get("commitment")),
            decided_on=as_date(p.get("decided_on")), approved=p.get("approved"),
            note=None if note is None else shown_text(caller, str(note)),
            certificate_no=p.get("certificate_no"),
            publicity_ends=as_date(p.get("publicity_ends")),
            effective_on=as_date(p.get("effective_on")),
            calendar_approximate=bool(p.get("calendar_approximate")),
        )


@strawberry.type(description="A change of a record by a procedure or its provider.")
class RecordEvent:
    id: str | None
    kind: str
    actor: str | None
    actor_role: str | None
    at: str | None = strawberry.field(description="When it was recorded (UTC).")
    on: dt.date | None = strawberry.field(description="The day it took effect.")
    reason: str | None
    ref: str | None = strawberry.field(description="The objection or repair it belongs to.")
    due_on: dt.date | None
    from_status: str | None
    to_status: str | None


@strawberry.type(description="An earlier content of a record.")
class RecordVersionView:
    version: int
    title: str | None
    severity: str | None
    list_kind: str | None = strawberry.field(name="list")
    decided_on: dt.date | None
    act_ended_on: dt.date | None
    valid_until: dt.date | None
    disclosure: str | None
    content_since: dt.date | None
    superseded_at: str | None
    superseded_by: str | None


@strawberry.type(description="Everything that happened to a record; nothing is rewritten.")
class RecordHistory:
    events: list[RecordEvent]
    versions: list[RecordVersionView]


@strawberry.type(description="A revocation or deletion recorded, with its deadline.")
class ProcedureResult:
    record_id: str
    event_id: str
    effective_on: dt.date = strawberry.field(
        description="From this day the record grounds nothing and is not disclosed."
    )
    due_on: dt.date | None = strawberry.field(
        description="The policy's deadline for the platform to act (it acted at once)."
    )
    calendar_approximate: bool


@strawberry.input(description="Fields an objection corrects; omitted fields stay as they are.")
class RecordCorrectionInput:
    title: str | None = None
    severity: str | None = None
    list_kind: str | None = strawberry.field(name="list", default=None)
    clear_list: bool = False
    decided_on: dt.date | None = None
    act_ended_on: dt.date | None = None
    valid_until: dt.date | None = None
    disclosure: str | None = None
    document_no: str | None = None
    authority: str | None = None

    def to_domain(self) -> obj.Correction:
        from schema.errors import InvalidInput

        def enum(cls: Any, value: str | None, field: str) -> Any:
            if value is None:
                return None
            try:
                return cls(value)
            except ValueError:
                known = ", ".join(m.value for m in cls)
                raise InvalidInput(f"correction.{field}: {value!r}; one of {known}") from None

        return obj.Correction(
            title=self.title, severity=enum(Severity, self.severity, "severity"),
            list_kind=enum(ListKind, self.list_kind, "list"), clear_list=self.clear_list,
            decided_on=self.decided_on, act_ended_on=self.act_ended_on,
            valid_until=self.valid_until,
            disclosure=enum(Disclosure, self.disclosure, "disclosure"),
            document_no=self.document_no, authority=self.authority,
        )


# --------------------------------------------------------------------------- fields on records


async def record_objections(info: Info[Any, Any], props: Mapping[str, Any]) -> list[ObjectionType]:
    ctx = ctx_of(info)
    uid = str(props["uid"])
    if not _may_see_details(ctx, props):
        return []
    views = await in_thread(obj.objections_of, ctx.state.store, ctx.state.policy, uid)
    return [ObjectionType.of(v, ctx) for v in views]


async def record_repairs(info: Info[Any, Any], props: Mapping[str, Any]) -> list[RepairType]:
    ctx = ctx_of(info)
    if not _may_see_details(ctx, props):
        return []
    views = await in_thread(rep.repairs_of, ctx.state.store, str(props["uid"]),
                                    ctx.today)
    return [RepairType.of(v, ctx.caller) for v in views]


def _history(store: GraphStore, uid: str, caller: Caller) -> RecordHistory:
    events = [e["event"] for e in store.read(life.EVENTS_OF_RECORD, {"uid": uid})]
    versions = [v["version"] for v in store.read(life.VERSIONS_OF_RECORD, {"uid": uid})]
    return RecordHistory(
        events=[
            RecordEvent(
                id=e.get("id"), kind=str(e.get("kind")), actor=e.get("actor"),
                actor_role=e.get("actor_role"), at=e.get("at"), on=as_date(e.get("on")),
                reason=shown_opt(caller, e.get("reason")), ref=e.get("ref"),
                due_on=as_date(e.get("due")),
                from_status=e.get("from_status"), to_status=e.get("to_status"),
            )
            for e in events
        ],
        versions=[
            RecordVersionView(
                version=int(v.get("version") or 0), title=shown_opt(caller, v.get("title")),
                severity=v.get("severity"), list_kind=v.get("list"),
                decided_on=as_date(v.get("decided_on")),
                act_ended_on=as_date(v.get("act_ended_on")),
                valid_until=as_date(v.get("valid_until")), disclosure=v.get("disclosure"),
                content_since=as_date(v.get("content_since")),
                superseded_at=v.get("superseded_at"), superseded_by=v.get("superseded_by"),
            )
            for v in versions
        ],
    )


async def record_history(info: Info[Any, Any], props: Mapping[str, Any]) -> RecordHistory:
    ctx = ctx_of(info)
    if not _may_see_details(ctx, props):
        raise Forbidden("a record's history is for its subject, its provider and operators")
    return await in_thread(_history, ctx.state.store, str(props["uid"]), ctx.caller)


# --------------------------------------------------------------------------- roots


def _objection_for(ctx: RequestContext, objection_id: str) -> obj.ObjectionView:
    view = obj.get_objection(ctx.state.store, ctx.state.policy, objection_id)
    rec = load_record(ctx.state.store, view.record_uid)
    if not _may_see_details(ctx, rec.props):
        raise NotFound(f"no objection {objection_id!r}")
    ctx.touch(rec.subject)
    return view


@strawberry.type
class LifeQuery:
    @strawberry.field(description="One record by its uid, as it stood on asOf (today by "
                      "default), if the caller may see it.")
    async def record(
        self, info: Info[Any, Any], record_id: str, as_of: dt.date | None = None
    ) -> CreditRecord:
        ctx = ctx_of(info)
        rec = await in_thread(load_record, ctx.state.store, record_id)
        day = as_of or ctx.today
        if as_of is not None:
            rows = await in_thread(
                with_content_on, ctx.state.store, [{"record": dict(rec.props)}], day
            )
            props = rows[0]["record"]
        else:
            props = rec.props
        if not ctx.rules.can_see_record(
            ctx.caller, props, subject_kind=rec.subject_kind, subject_ended=rec.subject_ended,
            today=day, now=ctx.today,
        ) and not _may_see_details(ctx, rec.props):
            raise NotFound(f"no record {record_id!r}")
        ctx.touch(rec.subject)
        ctx.count(1)
        return CreditRecord.of(props, rec.subject_kind, rec.subject_ended, ctx, as_of=day)

    @strawberry.field(description="One objection (its subject, the record's provider, "
                      "operators).")
    async def objection(self, info: Info[Any, Any], id: str) -> ObjectionType:
        ctx = ctx_of(info)
        view = await in_thread(_objection_for, ctx, id)
        ctx.count(1)
        return ObjectionType.of(view, ctx)

    @strawberry.field(description="Objections pending on asOf (today by default) with a step "
                      "past its due date on that day, as it stood then, even if done or "
                      "resolved since. Operators only.")
    async def overdue_objections(
        self, info: Info[Any, Any], as_of: dt.date | None = None
    ) -> list[ObjectionType]:
        ctx = ctx_of(info)
        if ctx.caller.role is not CallerRole.OPERATOR:
            raise Forbidden("overdue objections are for operators of the platform")
        day = as_of or ctx.today
        found = await in_thread(
            obj.overdue_objections, ctx.state.store, ctx.state.policy, day
        )
        ctx.touch(*(str(v.props.get("subject")) for v, _ in found))
        ctx.count(len(found))
        out = []
        for v, _late in found:
            o = ObjectionType.of(v, ctx)
            for s in o.steps:
                s.overdue = any(x.name == s.name for x in _late)
            o.overdue = True
            out.append(o)
        return out


def _done(ctx: RequestContext, subject: str | None) -> None:
    if subject:
        ctx.touch(subject)
    ctx.count(1)


@strawberry.type
class LifeMutation:
    @strawberry.mutation(description="Object to a record (the subject, a person it names, or "
                         "an operator on their behalf). `on`: the day it was filed, if earlier.")
    async def file_objection(
        self, info: Info[Any, Any], record_id: str, reason: str, on: dt.date | None = None
    ) -> ObjectionType:
        ctx = ctx_of(info)
        v = await in_thread(lambda: obj.file_objection(
            ctx.state.store, ctx.rules, _actor(ctx), record_uid=record_id, reason=reason, on=on))
        _done(ctx, v.props.get("subject"))
        return ObjectionType.of(v, ctx)

    @strawberry.mutation(description="The platform forwards an objection to the provider; the "
                         "provider's deadline runs from `on`. Operators.")
    async def forward_objection(
        self, info: Info[Any, Any], objection_id: str, complex: bool = False,
        on: dt.date | None = None,
    ) -> ObjectionType:
        ctx = ctx_of(info)
        v = await in_thread(lambda: obj.forward_objection(
            ctx.state.store, ctx.rules, _actor(ctx), objection_id=objection_id,
            complex_case=complex, on=on))
        _done(ctx, v.props.get("subject"))
        return ObjectionType.of(v, ctx)

    @strawberry.mutation(description="The provider's verification of a forwarded objection "
                         "(the record's provider or an operator).")
    async def reply_to_objection(
        self, info: Info[Any, Any], objection_id: str, verdict: obj.Verdict,
        note: str | None = None, on: dt.date | None = None,
    ) -> ObjectionType:
        ctx = ctx_of(info)
        v = await in_thread(lambda: obj.reply_to_objection(
            ctx.state.store, ctx.rules, _actor(ctx), objection_id=objection_id,
            verdict=verdict, note=note, on=on))
        _done(ctx, v.props.get("subject"))
        return ObjectionType.of(v, ctx)

    @strawberry.mutation(description="The platform's decision on an objection. Operators.")
    async def resolve_objection(
        self, info: Info[Any, Any], objection_id: str, outcome: obj.Outcome,
        note: str | None = None, correction: RecordCorrectionInput | None = None,
        still_disputed: bool = False, on: dt.date | None = None,
    ) -> ObjectionType:
        ctx = ctx_of(info)
        v = await in_thread(lambda: obj.resolve_objection(
            ctx.state.store, ctx.rules, _actor(ctx), objection_id=objection_id,
            outcome=outcome, note=note,
            correction=correction.to_domain() if correction else None,
            still_disputed=still_disputed, on=on))
        _done(ctx, v.props.get("subject"))
        return ObjectionType.of(v, ctx)

    @strawberry.mutation(description="The act behind a record was revoked: the record "
                         "grounds nothing from `noticeOn`; under Huancui (Art. 30) it is "
                         "deleted, kept for operators only. Operators or its provider.")
    async def revoke_record(
        self, info: Info[Any, Any], record_id: str, reason: str, notice_on: dt.date | None = None
    ) -> ProcedureResult:
        ctx = ctx_of(info)
        r = await in_thread(lambda: rep.revoke_record(
            ctx.state.store, ctx.rules, _actor(ctx), record_uid=record_id, reason=reason,
            notice_on=notice_on))
        _done(ctx, r.subject)
        return ProcedureResult(record_id=r.record_uid, event_id=r.event_id,
                               effective_on=r.effective_on, due_on=r.platform_due,
                               calendar_approximate=r.calendar_approximate)

    @strawberry.mutation(description="Ask for credit repair of a dishonesty record (where the "
                         "policy has it: Huancui Art. 31, Nantong Art. 34-35).")
    async def request_repair(
        self, info: Info[Any, Any], record_id: str, reason: str,
        corrected_on: dt.date | None = None, commitment: bool = False,
        on: dt.date | None = None,
    ) -> RepairType:
        ctx = ctx_of(info)
        v = await in_thread(lambda: rep.request_repair(
            ctx.state.store, ctx.rules, _actor(ctx), record_uid=record_id, reason=reason,
            corrected_on=corrected_on, commitment=commitment, on=on))
        _done(ctx, v.props.get("subject"))
        return RepairType.of(v, ctx.caller)

    @strawberry.mutation(description="The provider's repair opinion or certificate (or an "
                         "operator recording it). Approved under Nantong, it takes effect after "
                         "5 working days of publicity.")
    async def decide_repair(
        self, info: Info[Any, Any], repair_id: str, approve: bool, note: str | None = None,
        certificate_no: str | None = None, on: dt.date | None = None,
    ) -> RepairType:
        ctx = ctx_of(info)
        v = await in_thread(lambda: rep.decide_repair(
            ctx.state.store, ctx.rules, _actor(ctx), repair_id=repair_id, approve=approve,
            note=note, certificate_no=certificate_no, on=on))
        _done(ctx, v.props.get("subject"))
        return RepairType.of(v, ctx.caller)

    @strawberry.mutation(description="Stop an approved repair during its publicity, on a "
                         "founded objection (Nantong Art. 35). Operators.")
    async def cancel_repair(
        self, info: Info[Any, Any], repair_id: str, reason: str, on: dt.date | None = None
    ) -> RepairType:
        ctx = ctx_of(info)
        v = await in_thread(lambda: rep.cancel_repair(
            ctx.state.store, ctx.rules, _actor(ctx), repair_id=repair_id, reason=reason, on=on))
        _done(ctx, v.props.get("subject"))
        return RepairType.of(v, ctx.caller)

    @strawberry.mutation(description="Delete one of the subject's commendations, volunteering "
                         "or donations at its request (Wuhan Art. 29, Huancui Art. 33).")
    async def delete_positive_record(
        self, info: Info[Any, Any], record_id: str, on: dt.date | None = None
    ) -> ProcedureResult:
        ctx = ctx_of(info)
        r = await in_thread(lambda: rep.delete_positive_record(
            ctx.state.store, ctx.rules, _actor(ctx), record_uid=record_id, on=on))
        _done(ctx, r.subject)
        return ProcedureResult(record_id=r.record_uid, event_id=r.event_id,
                               effective_on=r.effective_on, due_on=r.due,
                               calendar_approximate=r.calendar_approximate)
