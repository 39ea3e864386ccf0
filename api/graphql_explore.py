"""GraphQL types for link investigation: paths, neighbourhoods, ownership chains.

Built from ``api.explore``'s results through the caller's view: the walks already leave
out natural persons a caller may not see, and every ID number left is masked unless the
caller is that person or an operator.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from api import explore
from api.context import RequestContext
from schema.access import shown_code


@strawberry.type(name="GraphNode", description="A subject on a path or in a subgraph.")
class GraphNodeView:
    code: str
    name: str | None
    kind: str


@strawberry.type(name="GraphEdge", description="A role between two subjects, in its real "
                 "direction: fromCode holds the role in toCode.")
class GraphEdgeView:
    type: str
    from_code: str
    to_code: str
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
    return GraphNodeView(code=shown_code(ctx.caller, n.code), name=n.name, kind=n.kind)


def edge_view(e: explore.GraphEdge, ctx: RequestContext) -> GraphEdgeView:
    return GraphEdgeView(
        type=e.type,
        from_code=shown_code(ctx.caller, e.from_code),
        to_code=shown_code(ctx.caller, e.to_code),
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
                    entity_code=s.entity_code,
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
