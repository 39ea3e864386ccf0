"""Feedback from the systems that apply measures, and reversals (issue 5, item 7).

``reportMeasureApplied`` and ``reportMeasureReversed`` are written by the systems that
apply measures (Nantong Art. 28); ``pendingReversals`` tells them which applications
lost their ground (Zhengzhou Art. 24); ``measureReport`` is the monthly report. The
services are in ``api.feedback``; this module decides what each caller sees of them:

- an agency or provider key sees its own unit's applications, an operator all of them;
- a basis record is listed for a non-operator only if that caller could read it on the
  check's date (it was then in the check it received), and ``otherBasis`` only the
  records it may read today: a record hidden from a caller stays absent here too;
- the subject's code is shown as the reporting key sent it; to every other
  non-operator key an ID number is masked, as everywhere else. The notes are free text
  and may carry ID numbers too: each is shown as written to the key that wrote it, and
  to other non-operator keys with ID numbers masked (``_note``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import strawberry
from strawberry.types import Info

from api import feedback
from api.context import RequestContext
from api.graphql_types import ctx_of
from api.log_masking import shown_text
from api.request_work import in_thread
from schema.access import CallerRole, shown_code
from schema.errors import Forbidden, LimitExceeded

MAX_PENDING = 500


@strawberry.type(description="One change of a measure application: who, when, what, why.")
class ApplicationEvent:
    at: str = strawberry.field(description="UTC time, ISO 8601.")
    by: str = strawberry.field(description="The key that made the change.")
    action: str = strawberry.field(description="reported, applied_changed or reversed.")
    applied: bool | None
    note: str | None


@strawberry.type(
    description="A system's report that it applied (or did not apply) one measure of one "
    "check to one subject (Nantong Art. 28)."
)
class MeasureApplication:
    id: str
    check_id: str
    code: str = strawberry.field(
        description="The subject's code as the reporting key sent it (ID numbers masked for "
        "other keys)."
    )
    measure: str
    as_of: dt.date = strawberry.field(description="The date of the check reported on.")
    reporter: str = strawberry.field(description="Name of the key that reported it.")
    unit: str | None
    applied: bool
    note: str | None
    reported_at: str
    basis: list[str] = strawberry.field(
        description="Records that grounded the measure on the code in that check."
    )
    reversed: bool
    reversed_at: str | None
    reversed_by: str | None
    reversal_note: str | None
    trail: list[ApplicationEvent]


@strawberry.type(description="Where a basis record of an application stands today.")
class BasisRecordStanding:
    record_id: str
    standing: str = strawberry.field(
        description="record_life standing: archived, withdrawn, revoked, repaired, deleted, "
        "withheld, suspended, or in_force when it no longer reaches the subject."
    )
    reason: str | None
    since: dt.date | None = strawberry.field(
        description="The day it stopped grounding measures, when known."
    )


@strawberry.type(
    description="An application whose measure lost every record it rested on: the system "
    "that applied it should undo it (Zhengzhou Art. 24)."
)
class PendingReversal:
    application: MeasureApplication
    basis: list[BasisRecordStanding]
    other_basis: list[str] = strawberry.field(
        description="Records that ground the same measure on the same code today but were "
        "not its basis: when not empty the measure still stands, on another ground."
    )


@strawberry.type(description="One unit and measure of the monthly report.")
class MeasureReportRow:
    unit: str | None
    measure: str
    applied: int = strawberry.field(
        description="Reported applied in the month, or changed to applied in it (a report "
        "of an earlier month); each application once, by its flag at the month's end."
    )
    not_applied: int = strawberry.field(
        description="Reported not applied in the month, or changed to not applied in it."
    )
    reversed: int = strawberry.field(description="Reversed in the month.")
    pending_reversal: int = strawberry.field(
        description="Still to be reversed at the month's end (pendingAsOf)."
    )


@strawberry.type(
    description="The monthly report of applied measures (Nantong Art. 28), as it was known at "
    "the month's end: a flag changed or a record deleted after it does not change it."
)
class MeasureReport:
    month: str
    pending_as_of: dt.date
    rows: list[MeasureReportRow]


# --------------------------------------------------------------------------- views


#: A record's life reset: only its disclosure level, kind and subject are then judged.
_NO_LIFE: Mapping[str, Any] = {"status": "active", "states": None, "objections": None}


def _sees_record(
    ctx: RequestContext, ref: feedback.RecordRef, day: dt.date, *, as_then: bool = False
) -> bool:
    """Whether the caller may read ``ref`` on ``day``. ``as_then``: a basis record, which
    grounded the measure on ``day`` but may have been withdrawn or revoked later that same
    day; what the caller could read then is decided by its disclosure level alone, since
    its standing since then is what the list reports."""
    if ctx.caller.role is CallerRole.OPERATOR:
        return True
    if ref.record is None or ref.subject_kind is None:
        return False
    record = {**ref.record, **_NO_LIFE} if as_then else ref.record
    return ctx.rules.can_see_record(
        ctx.caller, record, subject_kind=ref.subject_kind,
        subject_ended=ref.subject_ended, today=day,
    )


def _code(ctx: RequestContext, app: feedback.Application) -> str:
    if ctx.caller.key_name is not None and ctx.caller.key_name == app.reporter:
        return app.code
    return shown_code(ctx.caller, app.code)


def _note(ctx: RequestContext, text: str | None, author: str | None) -> str | None:
    """A note as this caller may read it: as written to the key that wrote it, like the
    code it sent; to everyone else with ID numbers masked unless the caller is an
    operator or the person a number belongs to (as objection reasons are)."""
    if text is None:
        return None
    caller = ctx.caller
    if caller.key_name is not None and caller.key_name == author:
        return text
    return shown_text(caller, text)


def application_view(
    ctx: RequestContext, app: feedback.Application, refs: Mapping[str, feedback.RecordRef]
) -> MeasureApplication:
    """``refs``: the basis records' graph properties, to decide which the caller sees."""
    return MeasureApplication(
        id=app.id,
        check_id=app.check_id,
        code=_code(ctx, app),
        measure=app.measure,
        as_of=app.as_of,
        reporter=app.reporter,
        unit=app.unit,
        applied=app.applied,
        note=_note(ctx, app.note, app.reporter),
        reported_at=app.reported_at,
        basis=[u for u in app.basis if _sees_record(ctx, refs[u], app.as_of, as_then=True)],
        reversed=app.reversed,
        reversed_at=app.reversed_at,
        reversed_by=app.reversed_by,
        reversal_note=_note(ctx, app.reversal_note, app.reversed_by),
        trail=[ApplicationEvent(at=t.at, by=t.by, action=t.action, applied=t.applied,
                                note=_note(ctx, t.note, t.by)) for t in app.trail],
    )


def pending_view(ctx: RequestContext, p: feedback.PendingReversal) -> PendingReversal:
    app = p.application
    refs = {b.ref.uid: b.ref for b in p.basis}
    return PendingReversal(
        application=application_view(ctx, app, refs),
        basis=[
            BasisRecordStanding(record_id=b.ref.uid, standing=b.standing.value,
                                reason=b.reason, since=b.since)
            for b in p.basis if _sees_record(ctx, b.ref, app.as_of, as_then=True)
        ],
        other_basis=[r.uid for r in p.other_basis if _sees_record(ctx, r, ctx.today)],
    )


def _unit_scope(ctx: RequestContext, unit: str | None, what: str) -> str | None:
    """Operators read every unit (or the one asked); agency and provider keys their own."""
    caller = ctx.caller
    if caller.role is CallerRole.OPERATOR:
        return unit
    if caller.role in (CallerRole.AGENCY, CallerRole.PROVIDER) and caller.unit is not None:
        if unit is not None and unit != caller.unit:
            raise Forbidden(f"unit: an {caller.role.value} key reads its own unit's {what} only")
        return caller.unit
    raise Forbidden(f"{what} are for operators and for agency or provider keys (their unit)")


def _with_refs(
    ctx: RequestContext, app: feedback.Application
) -> tuple[feedback.Application, dict[str, feedback.RecordRef]]:
    return app, feedback.records_by_uid(ctx.state.store, app.basis)


# --------------------------------------------------------------------------- roots


@strawberry.type
class FeedbackQuery:
    @strawberry.field(
        description="Applications whose measure no longer rests on any of the records that "
        "grounded it (expired, withdrawn, revoked, repaired, deleted...), oldest first: the "
        "systems that applied them should undo them and report it with reportMeasureReversed."
    )
    async def pending_reversals(
        self, info: Info[Any, Any], unit: str | None = None, first: int = 100
    ) -> list[PendingReversal]:
        ctx = ctx_of(info)
        if not 1 <= first <= MAX_PENDING:
            raise LimitExceeded(f"first: between 1 and {MAX_PENDING}")
        scope = _unit_scope(ctx, unit, "pending reversals")
        found = await in_thread(
            lambda: feedback.pending_reversals(
                ctx.state.store, policy=ctx.state.policy, catalogue=ctx.state.catalogue,
                today=ctx.today, unit=scope, first=first,
            )
        )
        ctx.touch(*(p.application.code for p in found))
        ctx.count(len(found))
        return [pending_view(ctx, p) for p in found]

    @strawberry.field(
        description="The monthly report (Nantong Art. 28), month YYYY-MM: per unit and "
        "measure, applications reported applied and not applied, reversed, and pending "
        "reversal at the month's end."
    )
    async def measure_report(
        self, info: Info[Any, Any], month: str, unit: str | None = None
    ) -> MeasureReport:
        ctx = ctx_of(info)
        scope = _unit_scope(ctx, unit, "measure reports")
        report = await in_thread(
            lambda: feedback.monthly_report(
                ctx.state.store, policy=ctx.state.policy, catalogue=ctx.state.catalogue,
                month=month, today=ctx.today, unit=scope,
            )
        )
        ctx.count(len(report.rows))
        return MeasureReport(
            month=report.month,
            pending_as_of=report.pending_as_of,
            rows=[
                MeasureReportRow(unit=r.unit, measure=r.measure, applied=r.applied,
                                 not_applied=r.not_applied, reversed=r.reversed,
                                 pending_reversal=r.pending_reversal)
                for r in report.rows
            ],
        )


@strawberry.type
class FeedbackMutation:
    @strawberry.mutation(
        description="Report that this system applied (applied: true) or did not apply a "
        "measure of a check to a subject. checkId is the one checkSanctions returned for "
        "that code; the measure must be one the check grounded when it was made (a record "
        "deleted since still counts, and the application is then pending reversal). Sent "
        "again, it returns the same application; only a change of `applied` is recorded, "
        "and a reversed application cannot be changed to not applied (INVALID_INPUT)."
    )
    async def report_measure_applied(
        self,
        info: Info[Any, Any],
        check_id: str,
        code: str,
        measure: str,
        applied: bool,
        note: str | None = None,
    ) -> MeasureApplication:
        ctx = ctx_of(info)

        def run() -> tuple[feedback.Application, dict[str, feedback.RecordRef]]:
            app = feedback.report_applied(
                ctx.state.store, ctx.caller, secret=ctx.state.check_secret,
                policy=ctx.state.policy, rules=ctx.rules, catalogue=ctx.state.catalogue,
                check_id=check_id, code=code, measure=measure, applied=applied, note=note,
                today=ctx.today,
            )
            return _with_refs(ctx, app)

        app, refs = await in_thread(run)
        ctx.touch(app.code)
        ctx.count(1)
        return application_view(ctx, app, refs)

    @strawberry.mutation(
        description="Report that this system undid the measure of an application; it "
        "leaves pendingReversals. The key that reported it, or an operator."
    )
    async def report_measure_reversed(
        self, info: Info[Any, Any], application_id: str, note: str | None = None
    ) -> MeasureApplication:
        ctx = ctx_of(info)

        def run() -> tuple[feedback.Application, dict[str, feedback.RecordRef]]:
            app = feedback.report_reversed(
                ctx.state.store, ctx.caller, application_id, today=ctx.today, note=note,
            )
            return _with_refs(ctx, app)

        app, refs = await in_thread(run)
        ctx.touch(app.code)
        ctx.count(1)
        return application_view(ctx, app, refs)
