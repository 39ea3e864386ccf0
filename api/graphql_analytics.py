"""Analytics over the graph: communities, risk, key persons (issue 6, item 2).

Access. Every analysis is computed on the dishonest subgraph *as the caller may see it*:
its seeds are the negative records ``AccessRules.can_see_record`` lets that caller read
on the date asked, and when the caller may not see natural persons (the public under
``wuhan``) the subgraph is read without them, so no person appears in a result and no
score, community or ranking is formed through one. ID numbers go through ``shown_code``.

Cost. An analysis reads every negative record decided by the date and the roles around
the dishonest subjects, then runs Louvain and PageRank: seconds at province scale
(``docs/performance.md``, "Analytics"). Every caller may ask, and the result is kept
``CACHE_TTL_SECONDS`` per (store, policy, date, visibility class): the class is what the
access rules read of a caller (its role; the unit of an agency or a provider; the
subject's own code; the grants it holds), never its key name, so every public request
and every operator of one policy on one date share one computation, and a caller never
receives a result computed with records it may not see. A load within the TTL shows after
at most that long.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import weakref
from collections.abc import Hashable
from typing import Any

import strawberry
from strawberry.types import Info

from api.checks import check_key
from api.context import RequestContext
from api.graphql_types import ctx_of
from api.person_guard import guard_person
from api.request_work import in_thread
from graph.analytics import Analysis, read_dishonest_subgraph
from graph.analytics.cache import TtlCache
from graph.analytics.risk import RiskScore as Risk
from graph.store import GraphStore
from queries.explore import SUBJECTS_BRIEF
from schema.access import Caller, CallerRole, can_see_persons, shown_code
from schema.errors import InvalidInput, LimitExceeded, NotFound
from schema.record_view import as_date

CACHE_TTL_SECONDS = 60.0
#: Each entry holds a whole subgraph: a handful, not one per caller.
CACHE_ENTRIES = 4
MAX_FIRST = 500
MAX_MIN_SIZE = 100_000

_caches: weakref.WeakKeyDictionary[GraphStore, TtlCache[Analysis]] = (
    weakref.WeakKeyDictionary()
)


def visibility_class(caller: Caller) -> Hashable:
    """What ``can_see_record`` and ``can_see_persons`` read of a caller, and nothing more."""
    if caller.role is CallerRole.OPERATOR:
        return (caller.role.value,)
    c = dataclasses.replace(caller, key_name=None)
    if c.role is not CallerRole.SUBJECT:
        c = dataclasses.replace(c, subject_code=None)
    if c.role not in (CallerRole.AGENCY, CallerRole.PROVIDER):
        c = dataclasses.replace(c, unit=None)
    return (c.role.value, c.subject_code, c.unit, tuple(sorted(c.grants)))


def _analysis(ctx: RequestContext, day: dt.date) -> Analysis:
    store, policy, rules, caller = ctx.state.store, ctx.state.policy, ctx.rules, ctx.caller
    cache = _caches.get(store)
    if cache is None:
        cache = _caches.setdefault(store, TtlCache(CACHE_TTL_SECONDS, CACHE_ENTRIES))

    def visible(record: Any, subject_kind: str, subject_ended: Any) -> bool:
        return rules.can_see_record(
            caller, record, subject_kind=subject_kind, subject_ended=subject_ended, today=day,
            now=ctx.today,
        )

    def compute() -> Analysis:
        return Analysis(read_dishonest_subgraph(
            store, policy=policy, on=day, visible=visible,
            include_persons=can_see_persons(caller, policy),
        ))

    return cache.get((policy.name, day, visibility_class(caller)), compute)


def _bounded(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise LimitExceeded(f"{name} must be between {low} and {high}, not {value}")
    return value


@strawberry.type(name="AnalyticsSubject", description="A subject in an analysis result.")
class AnalyticsSubject:
    code: str = strawberry.field(description="USCC, or the ID number (masked unless allowed).")
    name: str | None
    kind: str
    dishonest: bool = strawberry.field(description="A negative record in force on asOf.")
    blacklisted: bool = strawberry.field(description="A black-list record in force on asOf.")


@strawberry.type(description="A cluster of dishonest companies and the persons who join "
                 "them (Louvain, fixed seed).")
class Community:
    rank: int = strawberry.field(description="1 for the largest community.")
    size: int
    as_of: dt.date
    dishonest_companies: int = strawberry.field(
        description="Organisations in it with a negative record in force."
    )
    members: list[AnalyticsSubject]
    bridging_persons: list[AnalyticsSubject] = strawberry.field(
        description="Persons in it holding roles in two or more of its dishonest companies."
    )


@strawberry.type(description="Risk spread from black-listed subjects (personalised "
                 "PageRank, docs/analytics.md), 1 for the riskiest subject, 0 when none "
                 "reaches it.")
class RiskScore:
    code: str
    name: str | None
    kind: str
    score: float
    rank: int | None = strawberry.field(description="Position among scores above 0.")
    distance: int | None = strawberry.field(
        description="Roles to the nearest black-listed subject; null when none is linked."
    )
    dishonest: bool
    blacklisted: bool
    as_of: dt.date


@strawberry.type(description="An office held on asOf in a dishonest company.")
class KeyOffice:
    company_code: str
    company_name: str | None
    type: str
    since: dt.date | None
    until: dt.date | None
    blacklisted: bool


@strawberry.type(description="A person holding office in several dishonest companies.")
class KeyPerson:
    rank: int
    code: str
    name: str | None
    dishonest_companies: int
    blacklisted_companies: int
    offices: list[KeyOffice]
    as_of: dt.date


def _subject(a: Analysis, code: str, ctx: RequestContext) -> AnalyticsSubject:
    sub = a.sub
    return AnalyticsSubject(
        code=shown_code(ctx.caller, code), name=sub.name(code), kind=sub.kind(code),
        dishonest=sub.is_dishonest(code), blacklisted=sub.is_blacklisted(code),
    )


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(description="Communities of dishonest companies and the persons who "
                      "join them on asOf (today by default), largest first.")
    async def communities(
        self,
        info: Info[Any, Any],
        as_of: dt.date | None = None,
        min_size: int = 3,
        first: int = 20,
    ) -> list[Community]:
        ctx = ctx_of(info)
        _bounded("minSize", min_size, 1, MAX_MIN_SIZE)
        _bounded("first", first, 1, MAX_FIRST)
        day = as_of or ctx.today
        a = await in_thread(_analysis, ctx, day)
        found = (await in_thread(a.communities, min_size))[:first]
        out = []
        for i, c in enumerate(found, start=1):
            ctx.touch(*c.members)
            out.append(Community(
                rank=i, size=c.size, as_of=day, dishonest_companies=len(c.dishonest_companies),
                members=[_subject(a, m, ctx) for m in c.members],
                bridging_persons=[_subject(a, p, ctx) for p in c.bridging_persons],
            ))
        ctx.count(len(out))
        return out

    @strawberry.field(description="The subjects most at risk from the black list on asOf "
                      "(today by default), highest first.")
    async def risk_scores(
        self, info: Info[Any, Any], as_of: dt.date | None = None, first: int = 50
    ) -> list[RiskScore]:
        ctx = ctx_of(info)
        _bounded("first", first, 1, MAX_FIRST)
        day = as_of or ctx.today
        a = await in_thread(_analysis, ctx, day)
        risk = await in_thread(a.risk)
        out = [_risk_view(a, r, ctx, day) for r in risk.top(first)]
        ctx.count(len(out))
        return out

    @strawberry.field(description="One subject's risk score on asOf (today by default); 0 "
                      "when no black-listed subject reaches it.")
    async def risk_score(
        self, info: Info[Any, Any], code: str, as_of: dt.date | None = None
    ) -> RiskScore:
        ctx = ctx_of(info)
        key = check_key(code)
        guard_person(ctx, key)
        day = as_of or ctx.today
        a = await in_thread(_analysis, ctx, day)
        risk = await in_thread(a.risk)
        if key not in a.sub.graph:
            rows = await in_thread(ctx.state.store.read, SUBJECTS_BRIEF,
                                           {"codes": [key]})
            if not rows:
                raise NotFound(f"no subject with code {shown_code(ctx.caller, key)}")
            ctx.touch(key)
            ctx.count(1)
            r = rows[0]
            return RiskScore(code=shown_code(ctx.caller, key), name=r.get("name"),
                             kind=str(r.get("kind") or "entity"), score=0.0, rank=None,
                             distance=None, dishonest=False, blacklisted=False, as_of=day)
        ctx.count(1)
        return _risk_view(a, risk.of(key), ctx, day)

    @strawberry.field(description="Persons holding office in the most dishonest companies "
                      "on asOf (today by default); none for callers who may not see persons.")
    async def key_persons(
        self,
        info: Info[Any, Any],
        as_of: dt.date | None = None,
        first: int = 20,
        min_companies: int = 2,
    ) -> list[KeyPerson]:
        ctx = ctx_of(info)
        _bounded("first", first, 1, MAX_FIRST)
        if min_companies < 1:
            raise InvalidInput("minCompanies must be at least 1")
        day = as_of or ctx.today
        a = await in_thread(_analysis, ctx, day)
        found = (await in_thread(a.key_persons, min_companies))[:first]
        out = []
        for i, p in enumerate(found, start=1):
            ctx.touch(p.code, *p.companies)
            out.append(KeyPerson(
                rank=i, code=shown_code(ctx.caller, p.code), name=p.name,
                dishonest_companies=p.dishonest_companies,
                blacklisted_companies=p.blacklisted_companies,
                offices=[
                    KeyOffice(company_code=shown_code(ctx.caller, o.company),
                              company_name=a.sub.name(o.company), type=o.type,
                              since=as_date(o.since), until=as_date(o.until),
                              blacklisted=o.blacklisted)
                    for o in p.offices
                ],
                as_of=day,
            ))
        ctx.count(len(out))
        return out


def _risk_view(a: Analysis, r: Risk, ctx: RequestContext, day: dt.date) -> RiskScore:
    ctx.touch(r.code)
    return RiskScore(
        code=shown_code(ctx.caller, r.code), name=a.sub.name(r.code), kind=a.sub.kind(r.code),
        score=r.score, rank=r.rank, distance=r.distance, dishonest=r.dishonest,
        blacklisted=r.blacklisted, as_of=day,
    )
