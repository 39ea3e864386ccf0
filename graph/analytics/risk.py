"""A risk score that spreads from black-listed subjects along roles and ownership.

Personalised PageRank (``networkx.pagerank``) on the undirected, weighted dishonest
subgraph (``weights.weighted_graph``: legal representative / principal 1.0, director /
supervisor / manager 0.6, branch 0.8, shareholder its share ratio), with the restart
distribution on the black-listed subjects, one share each. A random walker starts at a
black-listed subject, follows a role with probability ``alpha`` (choosing among the roles
in proportion to their weights) and jumps back to a black-listed subject otherwise; a
subject's score is how often the walker is there.

Why ``alpha = 0.5`` and not PageRank's usual 0.85: the walk then takes one role on
average before it restarts (``alpha / (1 - alpha)``), so risk stays near the black list
and roughly halves with every role it crosses, which is how joint punishment itself
reaches people (one role away, DOMAIN.md section 8). With 0.85 the walk wanders about six
roles and hubs far from any black list collect most of the score. The scores are divided
by the largest, so the riskiest subject scores 1 and a subject outside the subgraph (or
not reachable from any black-listed one) scores 0. Without black-listed subjects
everything scores 0.

``distance`` is the number of roles to the nearest black-listed subject (None when not
reachable), so a caller can see the decay the score describes.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from graph.analytics.subgraph import DishonestSubgraph
from graph.analytics.weights import weighted_graph

__all__ = ["DEFAULT_ALPHA", "RiskScore", "RiskScores", "risk_scores"]

DEFAULT_ALPHA = 0.5
TOLERANCE = 1.0e-10
MAX_ITER = 500
#: Below this (after normalising) a score is reported as 0: rounding noise, not risk.
ZERO = 1.0e-9


@dataclass(frozen=True)
class RiskScore:
    code: str
    score: float
    rank: int | None
    distance: int | None
    blacklisted: bool
    dishonest: bool


@dataclass(frozen=True)
class RiskScores:
    """``scores`` normalised to 0..1, every subject of the subgraph; ``ranked`` the codes
    with a score above 0, highest first (ties by code)."""

    scores: dict[str, float]
    distances: dict[str, int]
    ranked: tuple[str, ...]
    alpha: float
    sub: DishonestSubgraph
    ranks: dict[str, int]

    def of(self, code: str) -> RiskScore:
        return RiskScore(code, self.scores.get(code, 0.0), self.ranks.get(code),
                         self.distances.get(code), self.sub.is_blacklisted(code),
                         self.sub.is_dishonest(code))

    def top(self, n: int) -> list[RiskScore]:
        return [self.of(c) for c in self.ranked[:n]]


def risk_scores(sub: DishonestSubgraph, *, alpha: float = DEFAULT_ALPHA) -> RiskScores:
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be between 0 and 1, both excluded")
    g = weighted_graph(sub.graph)
    sources = sub.blacklisted
    if not sources:
        return RiskScores(dict.fromkeys(g, 0.0), {}, (), alpha, sub, {})
    raw = nx.pagerank(
        g, alpha=alpha, personalization=dict.fromkeys(sources, 1.0), weight="weight",
        tol=TOLERANCE, max_iter=MAX_ITER,
    )
    top = max(raw.values())
    scores = {c: (v / top if v / top >= ZERO else 0.0) for c, v in raw.items()}
    hops = nx.multi_source_dijkstra_path_length(g, set(sources), weight=_one)
    distances = {c: int(d) for c, d in hops.items()}
    ranked = tuple(sorted((c for c, s in scores.items() if s > 0), key=lambda c: (-scores[c], c)))
    ranks = {c: i for i, c in enumerate(ranked, start=1)}
    return RiskScores(scores, distances, ranked, alpha, sub, ranks)


def _one(_u: str, _v: str, _d: object) -> int:
    return 1
