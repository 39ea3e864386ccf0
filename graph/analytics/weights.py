"""How strongly one role ties two subjects, for the risk spreading and the communities.

A legal representative or principal answers for the organisation (Nantong Art. 29 puts a
legal person's serious dishonesty on them), so the tie is full. Directors, supervisors and
senior managers are named together by the measures (barred from office, Wuhan Art. 26)
but do not carry the organisation's acts alone: 0.6. A branch is not a legal person of
its own; its head office answers for it: 0.8. A shareholding ties in proportion to the
stake (its ``share_ratio``); a stake without a ratio counts as a small one
(``UNKNOWN_SHARE``), and no stake weighs less than ``MIN_SHARE`` so that a listed holding
is never dropped as if absent. Two roles between the same two subjects add up.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

__all__ = ["MIN_SHARE", "ROLE_WEIGHTS", "UNKNOWN_SHARE", "edge_weight", "weighted_graph"]

ROLE_WEIGHTS: dict[str, float] = {
    "LEGAL_REPRESENTATIVE_OF": 1.0,
    "PRINCIPAL_OF": 1.0,
    "DIRECTOR_OF": 0.6,
    "SUPERVISOR_OF": 0.6,
    "MANAGER_OF": 0.6,
    "BRANCH_OF": 0.8,
}
UNKNOWN_SHARE = 0.1
MIN_SHARE = 0.01


def edge_weight(rel_type: str, share_ratio: float | None) -> float:
    if rel_type == "SHAREHOLDER_OF":
        share = UNKNOWN_SHARE if share_ratio is None else float(share_ratio)
        return max(min(share, 1.0), MIN_SHARE)
    return ROLE_WEIGHTS[rel_type]


def weighted_graph(
    g: nx.MultiDiGraph[str], nodes: Iterable[str] | None = None
) -> nx.Graph[str]:
    """The undirected, weighted graph on ``nodes`` (default all): risk and communities
    follow a role both ways. Nodes and edges are added in code order, so the algorithms
    that depend on order (Louvain's shuffles) see the same graph every time."""
    keep = sorted(g.nodes if nodes is None else set(nodes))
    inside = set(keep)
    out: nx.Graph[str] = nx.Graph()
    out.add_nodes_from(keep)
    weights: dict[tuple[str, str], float] = {}
    for u, v, d in g.edges(data=True):
        if u in inside and v in inside and u != v:
            pair = (u, v) if u < v else (v, u)
            weights[pair] = weights.get(pair, 0.0) + edge_weight(d["type"], d.get("share_ratio"))
    out.add_weighted_edges_from((u, v, w) for (u, v), w in sorted(weights.items()))
    return out
