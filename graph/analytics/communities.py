"""Communities among dishonest companies and the persons who join them (Louvain).

The graph: every *organisation* of the dishonest subgraph with a negative record in force,
every natural person holding a role in at least one of them on the date, and the roles
among all of these (``weights.weighted_graph``). Organisations without a record are left
out, so a community is a cluster of dishonest companies and their people (a ring of shell
companies sharing the same officers), not the ordinary companies around them.

Louvain maximises modularity (computed by igraph behind a NetworkX interface,
``graph/analytics/louvain.py``, which says why); it shuffles nodes with a random
generator, hence the fixed ``seed``: the same graph gives the same communities.
``resolution`` above 1 favours smaller communities. A community is reported when it has
at least ``min_size`` members; its ``bridging_persons`` are the persons in it who hold
roles in two or more of its dishonest companies, the people who make it a ring.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from graph.analytics.louvain import Backend, louvain_communities
from graph.analytics.subgraph import DishonestSubgraph
from graph.analytics.weights import weighted_graph

__all__ = ["DEFAULT_MIN_SIZE", "LOUVAIN_SEED", "Community", "community_graph", "find_communities"]

LOUVAIN_SEED = 20240601
DEFAULT_MIN_SIZE = 3


@dataclass(frozen=True)
class Community:
    """Members in code order; ``dishonest_companies`` and ``bridging_persons`` likewise."""

    members: tuple[str, ...]
    dishonest_companies: tuple[str, ...]
    bridging_persons: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.members)


def community_graph(sub: DishonestSubgraph) -> nx.Graph[str]:
    g = sub.graph
    companies = {c for c in sub.dishonest if sub.kind(c) != "person"}
    persons = {
        p
        for c in companies
        for p in (*g.predecessors(c), *g.successors(c))
        if g.nodes[p]["kind"] == "person"
    }
    return weighted_graph(g, companies | persons)


def find_communities(
    sub: DishonestSubgraph,
    *,
    min_size: int = DEFAULT_MIN_SIZE,
    resolution: float = 1.0,
    seed: int = LOUVAIN_SEED,
    backend: Backend = "igraph",
) -> list[Community]:
    """Largest first (then most dishonest companies, then the first member's code)."""
    g = community_graph(sub)
    if g.number_of_nodes() == 0:
        return []
    found = louvain_communities(g, weight="weight", resolution=resolution, seed=seed,
                                backend=backend)
    out = []
    for members in found:
        if len(members) < min_size:
            continue
        companies = sorted(m for m in members if sub.kind(m) != "person")
        inside = set(companies)
        bridging = sorted(
            m for m in members
            if sub.kind(m) == "person" and sum(1 for n in g.neighbors(m) if n in inside) >= 2
        )
        out.append(Community(tuple(sorted(members)), tuple(companies), tuple(bridging)))
    out.sort(key=lambda c: (-c.size, -len(c.dishonest_companies), c.members[0]))
    return out
