"""Louvain on a NetworkX graph, computed by igraph's C implementation.

The analytics keep NetworkX as their interface: the subgraph, the weighted graph and the
communities are NetworkX objects and sets of node keys. Only the modularity optimisation
itself is handed to igraph (``Graph.community_multilevel``, the same Blondel et al.
algorithm), because NetworkX's pure-Python Louvain was the largest single cost of the
province-scale analytics: on the 1,000,000-entity province's community graph (186,451
nodes, 148,976 edges) NetworkX took 22-39 s and igraph 0.5 s plus 1.3 s to copy the graph,
for the same number of communities and the same modularity to four decimals
(``bench/analytics.py``, ``docs/performance.md``).

Reproducibility: igraph draws its random numbers from a Python ``random.Random`` it is
given; a private one seeded with ``seed`` is installed for the call (under a lock, since
the generator is process-wide in igraph) and the default restored afterwards, so the same
graph and seed give the same communities on every run, as NetworkX's ``seed`` did. The two
backends shuffle differently, so their communities may differ at the margin;
``backend="networkx"`` is kept for comparison and for environments without igraph.
"""

from __future__ import annotations

import random
import threading
from typing import Literal

import networkx as nx

__all__ = ["Backend", "louvain_communities"]

Backend = Literal["igraph", "networkx"]

_IGRAPH_RNG = threading.Lock()


def louvain_communities(
    g: nx.Graph[str],
    *,
    weight: str = "weight",
    resolution: float = 1.0,
    seed: int,
    backend: Backend = "igraph",
) -> list[set[str]]:
    """Communities of ``g`` as sets of its node keys, in igraph's (or NetworkX's) order."""
    if backend == "networkx":
        return [set(c) for c in nx.community.louvain_communities(
            g, weight=weight, resolution=resolution, seed=seed)]
    import igraph

    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    edges = []
    weights = []
    for u, v, d in g.edges(data=True):
        edges.append((index[u], index[v]))
        weights.append(float(d.get(weight, 1.0)))
    ig = igraph.Graph(n=len(nodes), edges=edges)
    with _IGRAPH_RNG:
        igraph.set_random_number_generator(random.Random(seed))  # noqa: S311 - not a secret
        try:
            clusters = ig.community_multilevel(weights=weights, resolution=resolution)
        finally:
            igraph.set_random_number_generator(random)
    return [{nodes[i] for i in members} for members in clusters]
