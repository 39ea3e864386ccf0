"""GraphQL for related parties and exports (issue 6, items 1 and 3).

Both read through the caller's view, like ``paths`` and ``neighborhood``: natural persons
only for callers who may see them (``can_see_persons``), ID numbers through
``shown_code``, and a person's code asked for by a caller who may not see persons is
``FORBIDDEN`` whether or not it exists. Both are audited like every field: the subjects
returned are touched, so the audit entry names what was exported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.types import Info

from api import exports, related
from api.checks import check_key
from api.context import RequestContext
from api.graphql_types import ctx_of
from api.person_guard import guard_person
from api.request_work import in_thread
from schema.access import can_see_persons, shown_code, shown_org_code
from schema.errors import LimitExceeded

RelatedLinkKind = strawberry.enum(
    related.LinkKind,
    name="RelatedLinkKind",
    description="LEGAL_REPRESENTATIVE: the same legal representative or principal; "
    "EXECUTIVE: the same person in an office (legal representative, principal, director, "
    "supervisor, manager) of both; SHAREHOLDER: the same shareholder; ADDRESS: the same "
    "address once normalised.",
)

ExportFormat = strawberry.enum(
    exports.ExportFormat,
    name="ExportFormat",
    description="GRAPHML and GEXF (Gephi), CSV (nodes.csv and edges.csv, UTF-8 with BOM), "
    "JSON (nodes and edges).",
)


@strawberry.type(name="RelatedRole", description="A role of the shared holder and its term.")
class RelatedRoleView:
    type: str
    since: dt.date | None
    until: dt.date | None
    share_ratio: float | None


@strawberry.type(name="RelatedLink", description="One reason two companies are related.")
class RelatedLinkView:
    kind: RelatedLinkKind  # type: ignore[valid-type]
    via: str | None = strawberry.field(
        description="Code of the shared person or organisation (ID numbers masked); null "
        "for ADDRESS. A link through a person the caller may not see is never shown."
    )
    via_name: str | None
    via_kind: str | None
    address: str | None = strawberry.field(description="The shared address, normalised.")
    here: RelatedRoleView | None = strawberry.field(
        description="The shared holder's role in the company asked about."
    )
    there: RelatedRoleView | None = strawberry.field(
        description="The shared holder's role in the related company."
    )
    truncated: bool = strawberry.field(
        description=f"The shared holder or address joins more than {related.HUB_CAP} "
        "companies; only that many were read, so other companies may be missing."
    )


@strawberry.type(name="RelatedParty", description="A company related to the one asked about.")
class RelatedPartyView:
    code: str
    name: str | None
    kind: str
    links: list[RelatedLinkView]
    truncated: bool = strawberry.field(
        description="A bound cut the search around this company (a link's hub, or more "
        f"than {related.HOLDER_CAP} holders of the company asked about)."
    )


@strawberry.input(description="What to export: exactly one of neighborhoodOf, "
                  "pathFrom with pathTo, or codes (the subgraph among them, at most "
                  f"{exports.MAX_CODES}). asOf: only roles held that day.")
class ExportSource:
    neighborhood_of: str | None = None
    hops: int = 1
    limit: int = 500
    path_from: str | None = None
    path_to: str | None = None
    max_hops: int = 4
    first: int = 5
    codes: list[str] | None = None
    as_of: dt.date | None = None


@strawberry.type(description="One file of an export.")
class ExportFile:
    filename: str
    media_type: str
    content: str


def _role(t: related.RoleTerm | None) -> RelatedRoleView | None:
    if t is None:
        return None
    return RelatedRoleView(type=t.type, since=t.since, until=t.until, share_ratio=t.share_ratio)


def _party_view(p: related.RelatedParty, ctx: RequestContext) -> RelatedPartyView:
    ctx.touch(p.code, *(link.via_code for link in p.links if link.via_code))
    return RelatedPartyView(
        code=shown_org_code(ctx.caller, p.code),
        name=p.name,
        kind=p.kind,
        truncated=p.truncated,
        links=[
            RelatedLinkView(
                kind=link.kind,
                via=shown_code(ctx.caller, link.via_code) if link.via_code else None,
                via_name=link.via_name,
                via_kind=link.via_kind,
                address=link.address,
                here=_role(link.here),
                there=_role(link.there),
                truncated=link.truncated,
            )
            for link in p.links
        ],
    )


def _guard_source(ctx: RequestContext, req: exports.ExportRequest) -> None:
    """Refuse a bad source before anything is read: which source, how many codes, and a
    person's code from a caller who may not see persons. The codes let through are
    touched: they were asked about, whether or not the export finds them."""
    exports.check_source(req)
    codes = list(req.codes or [])
    if len(codes) > exports.MAX_CODES:
        raise LimitExceeded(f"codes: {len(codes)} codes; at most {exports.MAX_CODES}")
    named = [
        ("neighborhoodOf", req.neighborhood_of),
        ("pathFrom", req.path_from),
        ("pathTo", req.path_to),
        *((f"codes[{i}]", c) for i, c in enumerate(codes)),
    ]
    for field, code in named:
        if code is not None:
            key = check_key(code, field)
            guard_person(ctx, key)
            ctx.touch(key)


@strawberry.type
class ExportQuery:
    @strawberry.field(
        description="Companies sharing a legal representative or principal, an executive, "
        "a shareholder or the address with a company, each with the shared links; the "
        "most distinct reasons first. Roles held on asOf (default today) at both "
        "companies, or every role ever held with includePast (without asOf)."
    )
    async def related_parties(
        self,
        info: Info[Any, Any],
        code: str,
        as_of: dt.date | None = None,
        first: int = 50,
        include_past: bool = False,
    ) -> list[RelatedPartyView]:
        ctx = ctx_of(info)
        key = check_key(code)
        guard_person(ctx, key)
        day = as_of if as_of is not None or include_past else ctx.today
        found = await in_thread(
            lambda: related.related_parties(
                ctx.state.store, key, as_of=day, include_past=include_past, first=first,
                include_persons=can_see_persons(ctx.caller, ctx.state.policy),
            )
        )
        ctx.touch(key)
        ctx.count(len(found))
        return [_party_view(p, ctx) for p in found]

    @strawberry.field(
        description="A neighbourhood, a path set or the subgraph among given codes as "
        "files (GraphML, GEXF, CSV, JSON), holding exactly what the caller may read "
        "through neighborhood and paths."
    )
    async def export_graph(
        self,
        info: Info[Any, Any],
        source: ExportSource,
        format: ExportFormat,  # type: ignore[valid-type]
    ) -> list[ExportFile]:
        ctx = ctx_of(info)
        req = exports.ExportRequest(
            neighborhood_of=source.neighborhood_of,
            hops=source.hops,
            limit=source.limit,
            path_from=source.path_from,
            path_to=source.path_to,
            max_hops=source.max_hops,
            first=source.first,
            codes=source.codes,
            as_of=source.as_of,
        )
        _guard_source(ctx, req)
        out = await in_thread(
            lambda: exports.export_graph(
                ctx.state.store, req, exports.ExportFormat(format),
                include_persons=can_see_persons(ctx.caller, ctx.state.policy),
                show=lambda c: shown_code(ctx.caller, c),
            )
        )
        ctx.touch(*out.codes)
        ctx.count(len(out.codes))
        return [
            ExportFile(filename=f.filename, media_type=f.media_type, content=f.content)
            for f in out.files
        ]
