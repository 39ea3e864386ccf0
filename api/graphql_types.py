"""GraphQL types, kept apart from the domain models they are built from.

Every type that can carry a subject, a record or an ID number is built here from graph
properties *through the caller's access rules* (``schema.access``): a record the caller
may not see is never turned into an object, and an ID number is masked unless the caller
is that person or an operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import RequestContext
from api.keys import GrantInfo
from api.log_masking import shown_opt
from api.request_work import in_thread
from graph.record_versions import with_content_on
from schema import sanctions
from schema.access import can_see_persons, can_see_subject, shown_code, shown_org_code
from schema.codes import is_external
from schema.record_life import record_state
from schema.record_view import as_date

if TYPE_CHECKING:
    from api.graphql_life import ObjectionType, RecordHistory, RepairType
    from api.graphql_lists import ListEntry

# The procedures' types live with the procedures; lazy, as that module imports this one.
_Objection = Annotated["ObjectionType", strawberry.lazy("api.graphql_life")]
_Repair = Annotated["RepairType", strawberry.lazy("api.graphql_life")]
_History = Annotated["RecordHistory", strawberry.lazy("api.graphql_life")]
# Red and black lists live in their own module, which imports this one.
_ListEntry = Annotated["ListEntry", strawberry.lazy("api.graphql_lists")]

Shown = Callable[[str], str]


def ctx_of(info: Info[Any, Any]) -> RequestContext:
    ctx: RequestContext = info.context["ctx"]
    return ctx


def _float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


# --------------------------------------------------------------------------- records


@strawberry.type(description="A public credit record, as far as the caller may see it.")
class CreditRecord:
    uid: str = strawberry.field(description="Unique key: provider and the provider's id.")
    id: str = strawberry.field(description="The provider's own record id.")
    provider: str
    subject_code: str
    category: str
    kind: str
    severity: str | None
    list_kind: str | None = strawberry.field(
        name="list", description="red or black: the list the record puts its subject on."
    )
    title: str | None
    document_no: str | None
    authority: str | None
    decided_on: dt.date
    act_ended_on: dt.date | None
    valid_until: dt.date | None
    disclosed_until: dt.date | None = strawberry.field(
        description="Last day the record is disclosed under the active policy; null: no end."
    )
    disclosure: str
    status: str = strawberry.field(
        description="Where the record stands on the date asked (today by default): "
        "in_force, not_yet, archived, withdrawn, revoked, repaired, deleted, withheld, "
        "suspended. Only in_force records are disclosed and ground measures."
    )
    status_reasons: list[str]
    as_of: dt.date
    objection_pending: bool
    marked: bool = strawberry.field(
        description="Shown with an objection mark (异议标注) under the active policy."
    )
    late: bool
    responsible: list[str] = strawberry.field(
        description="Directly responsible persons named by the provider (masked ID numbers)."
    )
    props: strawberry.Private[Mapping[str, Any]]

    @strawberry.field(description="Objections against this record, with their steps and "
                      "deadlines (the subject, the provider and operators).")
    async def objections(self, info: Info[Any, Any]) -> list[_Objection]:
        from api.graphql_life import record_objections

        return await record_objections(info, self.props)

    @strawberry.field(description="Credit repair requests (the subject, the provider and "
                      "operators).")
    async def repairs(self, info: Info[Any, Any]) -> list[_Repair]:
        from api.graphql_life import record_repairs

        return await record_repairs(info, self.props)

    @strawberry.field(description="Every change of the record: who, when, why, and its earlier "
                      "versions (the subject, the provider and operators).")
    async def history(self, info: Info[Any, Any]) -> _History:
        from api.graphql_life import record_history

        return await record_history(info, self.props)

    @classmethod
    def of(
        cls, rec: Mapping[str, Any], subject_kind: str, subject_ended: Any, ctx: RequestContext,
        as_of: dt.date | None = None,
    ) -> CreditRecord:
        persons = can_see_persons(ctx.caller, ctx.state.policy)
        day = as_of or ctx.today
        state = record_state(rec, subject_kind=subject_kind, subject_ended=subject_ended,
                             policy=ctx.state.policy, on=day)
        decided = as_date(rec["decided_on"])
        assert decided is not None
        return cls(
            uid=str(rec["uid"]),
            id=str(rec.get("id", "")),
            provider=str(rec.get("provider", "")),
            subject_code=shown_code(ctx.caller, str(rec.get("subject", ""))),
            category=str(rec["category"]),
            kind=str(rec.get("kind", "")),
            severity=rec.get("severity"),
            list_kind=rec.get("list") or None,
            title=shown_opt(ctx.caller, rec.get("title")),
            document_no=shown_opt(ctx.caller, rec.get("document_no")),
            authority=shown_opt(ctx.caller, rec.get("authority")),
            decided_on=decided,
            act_ended_on=as_date(rec.get("act_ended_on")),
            valid_until=as_date(rec.get("valid_until")),
            disclosed_until=state.disclosed_until,
            disclosure=str(rec.get("disclosure") or "public"),
            status=state.standing.value,
            status_reasons=list(state.reasons),
            as_of=day,
            objection_pending=state.objection_pending,
            marked=state.marked,
            late=bool(rec.get("late")),
            responsible=[shown_code(ctx.caller, c) for c in (rec.get("responsible") or [])]
            if persons
            else [],
            props=rec,
        )


async def visible_records(
    info: Info[Any, Any], key: str, as_of: dt.date | None = None
) -> list[CreditRecord]:
    """As disclosed on ``as_of`` (today by default), each record in the content it had
    then; operators also see records that are not in force, with their status."""
    ctx = ctx_of(info)
    assert ctx.loaders is not None
    rows = await ctx.loaders.records.load(key)
    day = as_of or ctx.today
    if as_of is not None:
        rows = await in_thread(
            with_content_on, ctx.state.store, [dict(r) for r in rows], day
        )
    out = []
    for row in rows:
        rec = row["record"]
        if ctx.rules.can_see_record(
            ctx.caller,
            rec,
            subject_kind=row["subject_kind"],
            subject_ended=row.get("subject_ended"),
            today=day,
            now=ctx.today,
        ):
            out.append(CreditRecord.of(
                rec, row["subject_kind"], row.get("subject_ended"), ctx, as_of=day
            ))
    if out:
        # The persons named responsible are read with the records (shown only to
        # callers who may see persons).
        ctx.touch(key, *(str(c) for r in out if r.responsible
                         for c in (r.props.get("responsible") or [])))
    return out


# --------------------------------------------------------------------------- roles


def _held_on(role: Mapping[str, Any], day: dt.date) -> bool:
    since, until = as_date(role.get("since")), as_date(role.get("until"))
    return (since is None or since <= day) and (until is None or day <= until)


@strawberry.type(description="A role held in an organisation, with its dates (DOMAIN.md s.2).")
class RoleHeld:
    type: str = strawberry.field(description="Relationship type, e.g. LEGAL_REPRESENTATIVE_OF.")
    role: str
    position: str | None
    since: dt.date | None
    until: dt.date | None
    share_ratio: float | None
    current: bool = strawberry.field(description="Held today (or on the asOf asked).")
    holder_code: str
    holder_name: str | None
    holder_kind: str
    entity_code: str
    entity_name: str | None
    holder_key: strawberry.Private[str]
    entity_key: strawberry.Private[str]

    @strawberry.field(description="The person or organisation holding the role.")
    async def holder(self, info: Info[Any, Any]) -> Subject | None:
        return await load_subject(info, self.holder_key)

    @strawberry.field(description="The organisation the role is held in.")
    async def entity(self, info: Info[Any, Any]) -> Subject | None:
        return await load_subject(info, self.entity_key)


async def role_list(
    info: Info[Any, Any], key: str, *, incoming: bool, types: frozenset[str] | None,
    as_of: dt.date | None, own_kind: str = "entity",
) -> list[RoleHeld]:
    """``incoming``: roles held *in* the organisation ``key``; else roles ``key`` holds."""
    ctx = ctx_of(info)
    assert ctx.loaders is not None
    loader = ctx.loaders.roles_in if incoming else ctx.loaders.roles_held
    rows = await loader.load(key)
    policy = ctx.state.policy
    day = as_of or ctx.today
    out: list[RoleHeld] = []
    for row in rows:
        if types is not None and row["type"] not in types:
            continue
        if not can_see_subject(ctx.caller, str(row["other_kind"]), policy):
            continue
        r = row["role"]
        if as_of is not None and not _held_on(r, as_of):
            continue
        holder, entity = (row["other"], key) if incoming else (key, row["other"])
        holder_kind = str(row["other_kind"]) if incoming else own_kind
        out.append(
            RoleHeld(
                type=str(row["type"]),
                role=str(r.get("role", "")),
                position=r.get("position"),
                since=as_date(r.get("since")),
                until=as_date(r.get("until")),
                share_ratio=_float(r.get("share_ratio")),
                current=_held_on(r, day),
                holder_code=shown_code(ctx.caller, holder),
                holder_name=row["other_name"] if incoming else None,
                holder_kind=holder_kind,
                entity_code=shown_org_code(ctx.caller, entity),
                entity_name=None if incoming else row["other_name"],
                holder_key=holder,
                entity_key=entity,
            )
        )
    out.sort(key=lambda x: (not x.current, x.since or dt.date.min, x.type, x.holder_key))
    if out:  # both sides of every role returned were read (the audit entry names them)
        ctx.touch(key, *(r.holder_key if incoming else r.entity_key for r in out))
    return out


OFFICE_TYPES = frozenset(
    {"LEGAL_REPRESENTATIVE_OF", "PRINCIPAL_OF", "DIRECTOR_OF", "SUPERVISOR_OF", "MANAGER_OF"}
)


# --------------------------------------------------------------------------- subjects


@strawberry.interface(description="A subject of credit information: an organisation or a person.")
class Subject:
    code: str = strawberry.field(description="USCC, or the ID number (masked unless allowed).")
    name: str | None
    kind: str = strawberry.field(description="entity, person, or external (an FtM id).")
    key: strawberry.Private[str]

    @strawberry.field(description="Roles this subject holds in organisations, over time.")
    async def roles(
        self, info: Info[Any, Any], as_of: dt.date | None = None
    ) -> list[RoleHeld]:
        return await role_list(
            info, self.key, incoming=False, types=None, as_of=as_of, own_kind=self.kind
        )

    @strawberry.field(description="Its credit records the caller may see, as disclosed on "
                      "asOf (today by default).")
    async def records(
        self, info: Info[Any, Any], as_of: dt.date | None = None
    ) -> list[CreditRecord]:
        return await visible_records(info, self.key, as_of)

    @strawberry.field(description="Its red- and black-list entries the caller may see, with "
                      "entry and exit dates, seen on asOf (today by default).")
    async def lists(
        self, info: Info[Any, Any], as_of: dt.date | None = None
    ) -> list[_ListEntry]:
        from api.graphql_lists import subject_lists

        return await subject_lists(info, self.key, as_of)


@strawberry.type(description="A legal person or other organisation, identified by its USCC.")
class Entity(Subject):
    org_type: str | None
    status: str | None
    established: dt.date | None
    terminated: dt.date | None
    address: str | None
    registered_capital: float | None

    @strawberry.field(description="Legal representative, principal, directors, supervisors, "
                      "managers: everyone who held an office in it, with dates.")
    async def people(
        self, info: Info[Any, Any], as_of: dt.date | None = None
    ) -> list[RoleHeld]:
        return await role_list(info, self.key, incoming=True, types=OFFICE_TYPES, as_of=as_of)

    @strawberry.field(description="Its shareholders with their share ratios.")
    async def shareholders(
        self, info: Info[Any, Any], as_of: dt.date | None = None
    ) -> list[RoleHeld]:
        return await role_list(
            info, self.key, incoming=True, types=frozenset({"SHAREHOLDER_OF"}), as_of=as_of
        )

    @strawberry.field(description="Its branches (分支机构).")
    async def branches(self, info: Info[Any, Any]) -> list[RoleHeld]:
        return await role_list(
            info, self.key, incoming=True, types=frozenset({"BRANCH_OF"}), as_of=None
        )


@strawberry.type(description="A natural person, identified by the resident ID number.")
class Person(Subject):
    @strawberry.field(description="Every company and role the person held, over time.")
    async def companies(
        self, info: Info[Any, Any], as_of: dt.date | None = None
    ) -> list[RoleHeld]:
        return await role_list(
            info, self.key, incoming=False, types=None, as_of=as_of, own_kind="person"
        )


def subject_of(props: Mapping[str, Any], ctx: RequestContext) -> Subject | None:
    """Build the caller's view of a subject node, or ``None`` if it may not see it."""
    code = str(props["code"])
    kind = str(props.get("kind") or ("external" if is_external(code) else "entity"))
    if not can_see_subject(ctx.caller, kind, ctx.state.policy):
        return None
    if kind == "person":
        return Person(code=shown_code(ctx.caller, code), name=props.get("name"), kind=kind,
                      key=code)
    return Entity(
        code=shown_org_code(ctx.caller, code),
        name=props.get("name"),
        kind=kind,
        key=code,
        org_type=props.get("org_type"),
        status=props.get("status"),
        established=as_date(props.get("established")),
        terminated=as_date(props.get("terminated")),
        address=props.get("address"),
        registered_capital=_float(props.get("registered_capital")),
    )


async def load_subject(info: Info[Any, Any], code: str) -> Subject | None:
    ctx = ctx_of(info)
    assert ctx.loaders is not None
    props = await ctx.loaders.subject.load(code)
    view = None if props is None else subject_of(props, ctx)
    if view is not None:  # read, whichever field it was reached through
        ctx.touch(code)
    return view


# --------------------------------------------------------------------------- the check


@strawberry.type(description="A measure (or incentive) that applies, with why it applies.")
class AppliedMeasure:
    measure: str
    name: str
    kind: str
    basis_record_id: str
    role: str | None
    valid_from: dt.date
    valid_until: dt.date | None
    legal_basis: str
    via_codes: strawberry.Private[tuple[str, ...]]
    via_shown: strawberry.Private[list[str]]

    @strawberry.field(description="Codes from the checked subject to the record's subject.")
    def via(self, info: Info[Any, Any]) -> list[str]:
        # The path names the subjects whose records ground the measure: reading it reads
        # about them, so they are in the request's audit entry (Wuhan Art. 28).
        ctx_of(info).touch(*self.via_codes)
        return self.via_shown

    @classmethod
    def of(cls, m: sanctions.AppliedMeasure, shown: Shown) -> AppliedMeasure:
        return cls(
            measure=m.measure,
            name=m.name,
            kind=m.kind,
            basis_record_id=m.basis_record_id,
            via_codes=tuple(m.via),
            via_shown=[shown(c) for c in m.via],
            role=m.role,
            valid_from=m.valid_from,
            valid_until=m.valid_until,
            legal_basis=m.legal_basis,
        )


@strawberry.type(description="A person barred from office who holds an office role on asOf.")
class Conflict:
    person_code: str
    entity_code: str
    role: str
    since: dt.date | None
    basis_record_ids: list[str]

    @classmethod
    def of(cls, c: sanctions.Conflict, shown: Shown) -> Conflict:
        return cls(
            person_code=shown(c.person_code),
            entity_code=shown(c.entity_code) if is_external(c.entity_code) else c.entity_code,
            role=c.role,
            since=c.since,
            basis_record_ids=list(c.basis_record_ids),
        )


@strawberry.type(description="May this subject be given X? CONTRACT.md section 4.")
class SanctionCheck:
    check_id: str
    code: str
    subject_kind: str
    subject_name: str | None
    as_of: dt.date
    policy: str
    restricted: bool
    measures: list[AppliedMeasure]
    incentives: list[AppliedMeasure]
    conflict_list: strawberry.Private[list[Conflict]]
    conflict_codes: strawberry.Private[tuple[str, ...]]

    @strawberry.field(description="Persons barred from office who hold an office role on "
                      "asOf, and where.")
    def conflicts(self, info: Info[Any, Any]) -> list[Conflict]:
        # Each names a person and a company other than the one checked: audited as read.
        ctx_of(info).touch(*self.conflict_codes)
        return self.conflict_list

    @classmethod
    def of(cls, c: sanctions.SanctionCheck, shown: Shown) -> SanctionCheck:
        """``code`` echoes what the caller asked; every other ID number goes through
        ``shown`` (the caller's masking)."""
        return cls(
            check_id=c.check_id,
            code=c.code,
            subject_kind=c.subject_kind,
            subject_name=c.subject_name,
            as_of=c.as_of,
            policy=c.policy,
            restricted=c.restricted,
            measures=[AppliedMeasure.of(m, shown) for m in c.measures],
            incentives=[AppliedMeasure.of(m, shown) for m in c.incentives],
            conflict_list=[Conflict.of(x, shown) for x in c.conflicts],
            conflict_codes=tuple(
                code for x in c.conflicts for code in (x.person_code, x.entity_code)
            ),
        )


# --------------------------------------------------------------------------- grants


@strawberry.type(description="A subject's authorisation for one key to read its records.")
class Grant:
    id: str
    subject_code: str
    grantee: str
    since: dt.date
    until: dt.date
    granted_by: str
    note: str | None
    withdrawn_at: str | None = strawberry.field(
        description="When the subject (or an operator) ended the grant before its until; "
        "from then on the grantee reads nothing through it."
    )
    withdrawn_by: str | None

    @classmethod
    def of(cls, g: GrantInfo, ctx: RequestContext) -> Grant:
        return cls(
            id=g.id,
            subject_code=shown_code(ctx.caller, g.subject),
            grantee=g.grantee,
            since=g.since,
            until=g.until,
            granted_by=g.granted_by,
            note=g.note,
            withdrawn_at=g.withdrawn_at,
            withdrawn_by=g.withdrawn_by,
        )



@strawberry.type(description="One audit entry: who read what, when and why (Wuhan Art. 28).")
class AuditEntry:
    seq: int
    at: dt.datetime
    key_name: str
    key_role: str
    operation: str
    fields: list[str]
    subjects: list[str] = strawberry.field(description="Subjects touched (ID numbers masked).")
    purpose: str | None
    client: str | None
    results: int
    outcome: str
    hash: str
