"""The Strawberry schema (CONTRACT.md section 3). Resolvers are thin: they call services
off the event loop and build the caller's view through ``api.graphql_types``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from api import explore
from api.check_ids import issue
from api.checks import check_key, check_sanctions, visible_to
from api.context import RequestContext
from api.date_scalar import STRICT_DATE
from api.graphql_analytics import AnalyticsQuery
from api.graphql_explore import (
    ControllerView,
    GraphPathView,
    SubgraphView,
    controller_view,
    path_view,
    subgraph_view,
)
from api.graphql_export import ExportQuery
from api.graphql_feedback import FeedbackMutation, FeedbackQuery
from api.graphql_life import LifeMutation, LifeQuery
from api.graphql_lists import ListsQuery
from api.graphql_types import (
    AuditEntry,
    CreditRecord,
    Entity,
    Grant,
    Person,
    RoleHeld,
    SanctionCheck,
    Subject,
    ctx_of,
    load_subject,
    subject_of,
)
from api.keys import grant_authorization, withdraw_authorization
from api.log_masking import mask_name
from api.person_guard import guard_person
from api.request_work import in_thread
from api.search import search_subjects
from schema import sanctions
from schema.access import CallerRole, can_see_persons, shown_code
from schema.codes import mask_code
from schema.errors import CreditGraphError, Forbidden, LimitExceeded, NotFound

MAX_BATCH = 1000
MAX_SUBJECTS = 500
MAX_AUDIT_PAGE = 500


def _run_check(
    ctx: RequestContext, code: str, measure: str | None, as_of: dt.date | None
) -> sanctions.SanctionCheck:
    key = check_key(code)
    guard_person(ctx, key)
    day = as_of or ctx.today
    return check_sanctions(
        ctx.state.store,
        key,
        policy=ctx.state.policy,
        catalogue=ctx.state.catalogue,
        as_of=day,
        measure=measure,
        visible=visible_to(ctx.rules, ctx.caller, key, day, ctx.today),
        # Signed, so a report of an applied measure can name this check (api.check_ids).
        check_id=issue(ctx.state.check_secret, key, day, ctx.state.policy.name),
    )


def _view(ctx: RequestContext, result: sanctions.SanctionCheck) -> SanctionCheck:
    ctx.touch(result.code)
    return SanctionCheck.of(result, lambda c: c if c == result.code else shown_code(ctx.caller, c))


@strawberry.type(description="Who the service takes the caller to be.")
class Whoami:
    role: str
    key_name: str | None
    subject_code: str | None
    unit: str | None


@strawberry.type
class CoreQuery:
    @strawberry.field(description="Who the service takes the caller to be (no data read).")
    def whoami(self, info: Info[Any, Any]) -> Whoami:
        c = ctx_of(info).caller
        return Whoami(
            role=c.role.value,
            key_name=c.key_name,
            subject_code=shown_code(c, c.subject_code) if c.subject_code else None,
            unit=c.unit,
        )

    @strawberry.field(description="One subject by its code: an Entity (USCC) or a Person.")
    async def subject(self, info: Info[Any, Any], code: str) -> Subject:
        ctx = ctx_of(info)
        key = check_key(code)
        guard_person(ctx, key)
        found = await load_subject(info, key)
        if found is None:
            raise NotFound(f"no subject with code {shown_code(ctx.caller, key)}")
        ctx.touch(key)
        ctx.count(1)
        return found

    @strawberry.field(
        description=f"Up to {MAX_SUBJECTS} subjects by code, in the order asked; an unknown "
        "or hidden code gets its own error and a null item."
    )
    async def subjects(self, info: Info[Any, Any], codes: list[str]) -> list[Subject | None]:
        ctx = ctx_of(info)
        if len(codes) > MAX_SUBJECTS:
            raise LimitExceeded(f"codes: {len(codes)} codes; at most {MAX_SUBJECTS}")
        keys: list[str | CreditGraphError] = []
        for code in codes:
            try:
                key = check_key(code)
                guard_person(ctx, key)
                keys.append(key)
            except CreditGraphError as e:
                keys.append(e)
        assert ctx.loaders is not None
        found = await ctx.loaders.subject.load_many([k for k in keys if isinstance(k, str)])
        by_key = dict(zip([k for k in keys if isinstance(k, str)], found, strict=True))
        out: list[Any] = []
        for k in keys:
            if not isinstance(k, str):
                out.append(k)
                continue
            props = by_key[k]
            view = subject_of(props, ctx) if props is not None else None
            if view is None:
                out.append(NotFound(f"no subject with code {shown_code(ctx.caller, k)}"))
            else:
                ctx.touch(k)
                out.append(view)
        ctx.count(sum(1 for x in out if isinstance(x, Subject)))
        return out

    @strawberry.field(
        description="Subjects by name (Chinese, full pinyin or initials, fuzzy) or code "
        "prefix, best first. Natural persons only for callers who may see them."
    )
    async def search_subjects(
        self, info: Info[Any, Any], text: str, first: int = 20
    ) -> list[Subject]:
        ctx = ctx_of(info)
        hits = await in_thread(
            lambda: search_subjects(
                ctx.state.store, text, first=first,
                include_persons=can_see_persons(ctx.caller, ctx.state.policy),
            )
        )
        assert ctx.loaders is not None
        found = await ctx.loaders.subject.load_many([h.code for h in hits])
        out = [v for v in (subject_of(p, ctx) for p in found if p is not None) if v is not None]
        ctx.touch(*(v.key for v in out))
        ctx.count(len(out))
        return out

    @strawberry.field(description="The joint-punishment check of one subject (CONTRACT.md s.4).")
    async def check_sanctions(
        self,
        info: Info[Any, Any],
        code: str,
        measure: str | None = None,
        as_of: dt.date | None = None,
    ) -> SanctionCheck:
        ctx = ctx_of(info)
        result = await in_thread(_run_check, ctx, code, measure, as_of)
        ctx.count(1)
        return _view(ctx, result)

    @strawberry.field(
        description=f"Up to {MAX_BATCH} checks in one request, in the order asked. A bad code "
        "gets its own error (path: the item's index) and a null item; the rest still run."
    )
    async def check_sanctions_batch(
        self,
        info: Info[Any, Any],
        codes: list[str],
        measure: str | None = None,
        as_of: dt.date | None = None,
    ) -> list[SanctionCheck | None]:
        ctx = ctx_of(info)
        if len(codes) > MAX_BATCH:
            raise LimitExceeded(f"codes: {len(codes)} codes; at most {MAX_BATCH} per batch")

        def run_all() -> list[Any]:
            out: list[Any] = []
            for code in codes:
                try:
                    out.append(_view(ctx, _run_check(ctx, code, measure, as_of)))
                except CreditGraphError as e:
                    # graphql-core turns an exception *value* in a list into an error
                    # located at that item, leaving the other items intact.
                    out.append(e)
            return out

        results = await in_thread(run_all)
        ctx.count(sum(1 for r in results if isinstance(r, SanctionCheck)))
        return results

    @strawberry.field(
        description="The query log (Wuhan Art. 28): operators read all of it, a subject reads "
        "who looked it up. Newest first."
    )
    async def audit_log(
        self,
        info: Info[Any, Any],
        subject_code: str | None = None,
        first: int = 50,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        ctx = ctx_of(info)
        caller = ctx.caller
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise LimitExceeded(f"first: between 1 and {MAX_AUDIT_PAGE}")
        code = check_key(subject_code, "subjectCode") if subject_code else None
        if caller.role is CallerRole.SUBJECT:
            if code is not None and code != caller.subject_code:
                raise Forbidden("a subject sees who looked up its own information only")
            code = caller.subject_code
        elif caller.role is not CallerRole.OPERATOR:
            raise Forbidden("the audit log is for operators, and for subjects about themselves")
        log = info.context["audit"]()
        entries = await in_thread(
            lambda: log.query(subject_code=code, first=first, before_seq=before_seq)
        )
        if code is not None:
            ctx.touch(code)
        ctx.count(len(entries))
        own = caller.role is CallerRole.SUBJECT
        return [
            AuditEntry(
                seq=e.seq,
                at=e.at,
                key_name=e.key_name,
                key_role=e.key_role,
                operation=e.operation,
                fields=list(e.fields),
                # A subject learns who looked it up, when and why (Wuhan Art. 28), not
                # whom else the same request looked up: of the subjects, only itself (as
                # stored); the looker's purpose is kept, with every ID-number-like run in
                # it masked (the log masks only free-standing ones).
                subjects=[mask_code(code)] if own and code is not None else list(e.subjects),
                purpose=mask_name(e.purpose) if own and e.purpose else e.purpose,
                client=e.client,
                results=e.results,
                outcome=e.outcome,
                hash=e.hash,
            )
            for e in entries
        ]

    @strawberry.field(description="Shortest and alternative paths between two subjects "
                      "within maxHops, by roles and shareholdings, optionally as of a date.")
    async def paths(
        self,
        info: Info[Any, Any],
        from_code: str,
        to_code: str,
        max_hops: int = 4,
        first: int = 5,
        types: list[str] | None = None,
        as_of: dt.date | None = None,
    ) -> list[GraphPathView]:
        ctx = ctx_of(info)
        a, b = check_key(from_code), check_key(to_code)
        guard_person(ctx, a)
        guard_person(ctx, b)
        ctx.touch(a, b)  # asked about, whether or not a path is found
        found = await in_thread(
            lambda: explore.find_paths(
                ctx.state.store, a, b, max_hops=max_hops, first=first, types=types,
                as_of=as_of, include_persons=can_see_persons(ctx.caller, ctx.state.policy),
            )
        )
        ctx.count(len(found))
        return [path_view(p, ctx) for p in found]

    @strawberry.field(description="The subjects within `hops` of one, and the roles "
                      "between them; `truncated` when the limit cut it.")
    async def neighborhood(
        self,
        info: Info[Any, Any],
        code: str,
        hops: int = 1,
        limit: int = 500,
        types: list[str] | None = None,
        as_of: dt.date | None = None,
    ) -> SubgraphView:
        ctx = ctx_of(info)
        key = check_key(code)
        guard_person(ctx, key)
        ctx.touch(key)
        g = await in_thread(
            lambda: explore.neighborhood(
                ctx.state.store, key, hops=hops, limit=limit, types=types, as_of=as_of,
                include_persons=can_see_persons(ctx.caller, ctx.state.policy),
            )
        )
        ctx.count(len(g.nodes))
        return subgraph_view(g, ctx)

    @strawberry.field(description="Ownership penetration: the ultimate owners of a company, "
                      "their effective shares and every chain (cycles counted once).")
    async def control_chain(
        self, info: Info[Any, Any], code: str, as_of: dt.date | None = None
    ) -> list[ControllerView]:
        ctx = ctx_of(info)
        key = check_key(code)
        guard_person(ctx, key)
        ctx.touch(key)  # asked about, whether or not it has owners
        found = await in_thread(
            lambda: explore.control_chain(
                ctx.state.store, key, as_of=as_of,
                include_persons=can_see_persons(ctx.caller, ctx.state.policy),
            )
        )
        # Every holder and company along the chains is returned too, not only the owners.
        ctx.touch(*(
            c for ctl in found for chain in ctl.chains for step in chain
            for c in (step.holder_code, step.entity_code) if c
        ))
        ctx.count(len(found))
        return [controller_view(c, ctx) for c in found]

    @strawberry.field(description="Grants of authorised query a subject has given "
                      "(the subject itself or operators).")
    async def grants(self, info: Info[Any, Any], subject_code: str | None = None) -> list[Grant]:
        from api.keys import grants_given

        ctx = ctx_of(info)
        caller = ctx.caller
        if caller.role is CallerRole.SUBJECT:
            code = caller.subject_code
            if subject_code is not None and check_key(subject_code) != code:
                raise Forbidden("a subject sees its own grants only")
        elif caller.role is CallerRole.OPERATOR:
            if subject_code is None:
                raise NotFound("subjectCode: required for an operator")
            code = check_key(subject_code, "subjectCode")
        else:
            raise Forbidden("only the subject itself or an operator sees its grants")
        assert code is not None
        rows = await in_thread(grants_given, ctx.state.store, code)
        ctx.touch(code)
        ctx.count(len(rows))
        return [Grant.of(g, ctx) for g in rows]


@strawberry.type
class CoreMutation:
    @strawberry.mutation(description="Let one key read the subject's authorised records "
                         "until a date (the subject itself, or an operator on its behalf).")
    async def grant_authorization(
        self,
        info: Info[Any, Any],
        grantee: str,
        until: dt.date,
        subject_code: str | None = None,
        note: str | None = None,
    ) -> Grant:
        ctx = ctx_of(info)
        g = await in_thread(
            lambda: grant_authorization(
                ctx.state.store,
                ctx.caller,
                grantee=grantee,
                until=until,
                subject=subject_code,
                note=note,
                today=ctx.today,
            )
        )
        ctx.state.keys.forget_grants(grantee)
        ctx.touch(g.subject)
        ctx.count(1)
        return Grant.of(g, ctx)

    @strawberry.mutation(description="End a grant before its until (the subject itself, or "
                         "an operator). The grant is kept, marked withdrawn.")
    async def withdraw_authorization(self, info: Info[Any, Any], id: str) -> Grant:
        ctx = ctx_of(info)
        g = await in_thread(withdraw_authorization, ctx.state.store, ctx.caller, id)
        ctx.state.keys.forget_grants(g.grantee)
        ctx.touch(g.subject)
        ctx.count(1)
        return Grant.of(g, ctx)


TYPES = (Entity, Person, RoleHeld, CreditRecord)

# Each part of the surface keeps its fields in its own module; the roots merge them.
Query = merge_types(
    "Query", (CoreQuery, LifeQuery, ListsQuery, FeedbackQuery, AnalyticsQuery, ExportQuery)
)
Mutation = merge_types("Mutation", (CoreMutation, LifeMutation, FeedbackMutation))


class KeptRefusalValidationCache(ValidationCache):
    """Strawberry's cache overwrites ``pre_execution_errors``, which would drop a refusal
    the cost limiter already made; a refused document is not validated at all."""

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors is not None:
            yield
            return
        yield from super().on_validate()


class CreditGraphSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry logs every error with its traceback; a refused request (a bad code,
        a forbidden subject) is not a fault of the service. ``api.errors.ErrorCodes``
        logs the unexpected ones, once."""


def build_schema(
    *, production: bool = False, extra_extensions: list[Any] | None = None
) -> strawberry.Schema:
    from api.errors import ErrorCodes
    from api.graphql_router import OperationFacts
    from api.hardening import CostModel, Limits, schema_config, schema_extensions

    # Realistic list lengths for what a check returns, so a full 1,000-code batch fits the
    # budget while a deep nest of large lists does not.
    costs = CostModel(
        list_sizes={
            "SanctionCheck.measures": 3,
            "SanctionCheck.incentives": 2,
            "SanctionCheck.conflicts": 1,
            "AppliedMeasure.via": 3,
            "Conflict.basisRecordIds": 2,
            "Subgraph.nodes": 500,
            "Subgraph.edges": 1000,
            "PendingReversal.basis": 2,
            "PendingReversal.otherBasis": 1,
            "MeasureApplication.basis": 2,
            "MeasureApplication.trail": 2,
            "Objection.steps": 4,
            "CreditRecord.objections": 1,
            "CreditRecord.repairs": 1,
            "ListMembersPage.members": 100,
            "RelatedParty.links": 2,
        }
    )
    return CreditGraphSchema(
        query=Query,
        mutation=Mutation,
        types=list(TYPES),
        config=schema_config(production),
        scalar_overrides={dt.date: STRICT_DATE},
        extensions=[
            *schema_extensions(production=production, limits=Limits(max_cost=20_000, costs=costs)),
            # Integrating systems send the same few documents thousands of times a day:
            # parsing and validating each once saves most of the GraphQL layer's cost.
            # Both caches are keyed by the document text and bounded.
            lambda: ParserCache(maxsize=256),
            lambda: KeptRefusalValidationCache(maxsize=256),
            OperationFacts,
            *(extra_extensions or []),
            ErrorCodes,
        ],
    )
