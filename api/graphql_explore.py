"""GraphQL types for link investigation: paths, neighbourhoods, ownership chains.

Built from ``api.explore``'s results through the caller's view: the walks already leave
out natural persons a caller may not see, and every ID number left is masked unless the
caller is that person or an operator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import strawberry
from strawberry.types import Info

from api import explore
from api.context import RequestContext
from api.graphql_types import CreditRecord, visible_records
from schema.access import shown_code, shown_org_code

#: What a node id is a keyed digest of, so the same secret's other digests (check ids)
#: never coincide with one.
_NODE_ID_CONTEXT = b"credit-graph node id\x00"
NODE_ID_HEX = 20


def node_id(ctx: RequestContext, code: str) -> str:
    """An opaque id for the subject ``code``: the same in every answer of this service
    (and every service sharing its ``check-id.key``), for every caller, and telling
    nothing about the code. Two persons whose masked ID numbers read alike get two ids.

    A keyed digest, not a plain hash: an ID number has too few possible values for a
    plain hash to hide it."""
    mac = hmac.new(ctx.state.check_secret, _NODE_ID_CONTEXT + code.encode("utf-8"),
                   hashlib.sha256)
    return "n" + mac.hexdigest()[:NODE_ID_HEX]


def risk_of(records: Sequence[CreditRecord]) -> str:
    """black, negative, red or none, from the records in force (as the explorer colours)."""
    live = [r for r in records if r.status == "in_force"]
    if any(r.list_kind == "black" for r in live):
        return "black"
    if any(r.category == "negative" for r in live):
        return "negative"
    if any(r.list_kind == "red" for r in live):
        return "red"
    return "none"


@strawberry.type(name="GraphNode", description="A subject on a path or in a subgraph.")
class GraphNodeView:
    code: str
    name: str | None
    kind: str
    id: strawberry.ID = strawberry.field(
        description="An opaque id of the subject, the same in every answer and for every "
        "caller; use it, not code, to tell nodes apart: two masked ID numbers can read "
        "alike. It reveals nothing of the code."
    )
    key: strawberry.Private[str]

    @strawberry.field(description="From the subject's records the caller may read (as "
                      "`records` shows them) in force today: black (on the black list), "
                      "negative (a negative record), red (on the red list), or none.")
    async def risk(self, info: Info[Any, Any]) -> str:
        return risk_of(await visible_records(info, self.key))


@strawberry.type(name="GraphEdge", description="A role between two subjects, in its real "
                 "direction: fromCode holds the role in toCode.")
class GraphEdgeView:
    type: str
    from_code: str
    to_code: str
    from_id: strawberry.ID = strawberry.field(description="The holder's node id.")
    to_id: strawberry.ID = strawberry.field(description="The organisation's node id.")
    since: dt.date | None
    until: dt.date | None
    share_ratio: float | None


@strawberry.type(name="GraphPath", description="A simple path; edges lists every role of "
                 "every hop, so there may be more edges than hops.")
class GraphPathView:
    nodes: list[GraphNodeView]
    edges: list[GraphEdgeView]
    length: int


@strawberry.type(name="Subgraph")
class SubgraphView:
    nodes: list[GraphNodeView]
    edges: list[GraphEdgeView]
    truncated: bool = strawberry.field(description="True when the limit (or a hub's cap) "
                                       "cut the neighbourhood.")


@strawberry.type(name="ControlStep", description="holderCode holds shareRatio of entityCode.")
class ControlStepView:
    holder_code: str | None
    entity_code: str
    share_ratio: float | None


@strawberry.type(name="Controller", description="An ultimate owner with its effective share "
                 "(product along each chain, summed over chains) and every chain.")
class ControllerView:
    code: str | None
    name: str | None
    kind: str
    effective_share: float | None
    known_share: float
    chains: list[list[ControlStepView]]
    controlling: bool = strawberry.field(description="Effective share above 50%.")
    beneficial_owner: bool = strawberry.field(description="A natural person at 25% or more.")
    ultimate: bool
    undisclosed: bool = strawberry.field(description="The aggregate of natural persons the "
                                         "caller may not see (no code, no name).")


def node_view(n: explore.GraphNode, ctx: RequestContext) -> GraphNodeView:
    return GraphNodeView(code=shown_code(ctx.caller, n.code), name=n.name, kind=n.kind,
                         id=strawberry.ID(node_id(ctx, n.code)), key=n.code)


def edge_view(e: explore.GraphEdge, ctx: RequestContext) -> GraphEdgeView:
    return GraphEdgeView(
        type=e.type,
        from_code=shown_code(ctx.caller, e.from_code),
        to_code=shown_code(ctx.caller, e.to_code),
        from_id=strawberry.ID(node_id(ctx, e.from_code)),
        to_id=strawberry.ID(node_id(ctx, e.to_code)),
        since=e.since,
        until=e.until,
        share_ratio=e.share_ratio,
    )


def path_view(p: explore.GraphPath, ctx: RequestContext) -> GraphPathView:
    ctx.touch(*(n.code for n in p.nodes))
    return GraphPathView(
        nodes=[node_view(n, ctx) for n in p.nodes],
        edges=[edge_view(e, ctx) for e in p.edges],
        length=p.length,
    )


def subgraph_view(g: explore.Subgraph, ctx: RequestContext) -> SubgraphView:
    ctx.touch(*(n.code for n in g.nodes))
    return SubgraphView(
        nodes=[node_view(n, ctx) for n in g.nodes],
        edges=[edge_view(e, ctx) for e in g.edges],
        truncated=g.truncated,
    )


def controller_view(c: explore.Controller, ctx: RequestContext) -> ControllerView:
    if c.code is not None:
        ctx.touch(c.code)
    return ControllerView(
        code=shown_code(ctx.caller, c.code) if c.code else None,
        name=c.name,
        kind=c.kind,
        effective_share=c.effective_share,
        known_share=c.known_share,
        chains=[
            [
                ControlStepView(
                    holder_code=shown_code(ctx.caller, s.holder_code) if s.holder_code else None,
                    entity_code=shown_org_code(ctx.caller, s.entity_code),
                    share_ratio=s.share_ratio,
                )
                for s in chain
            ]
            for chain in c.chains
        ],
        controlling=c.controlling,
        beneficial_owner=c.beneficial_owner,
        ultimate=c.ultimate,
        undisclosed=c.undisclosed,
    )
