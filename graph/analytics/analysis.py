"""One dishonest subgraph and the three analyses on it, each computed once on demand.

The GraphQL fields and the CLI ask for communities, risk scores and key persons of the
same date; they share the subgraph read (the costly part) and each result, so a caller
turning pages, or asking ``riskScore`` for several codes, costs one read and one
PageRank. Louvain runs once, without a size filter, and ``communities(min_size)`` filters.
Each analysis builds graphs of a few hundred thousand nodes: the garbage collector is paused
meanwhile (``graph/gc_pause.py`` says why).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from graph.analytics.communities import Community, find_communities
from graph.analytics.key_persons import DEFAULT_MIN_COMPANIES, KeyPerson, key_persons
from graph.analytics.risk import DEFAULT_ALPHA, RiskScores, risk_scores
from graph.analytics.subgraph import DishonestSubgraph
from graph.gc_pause import gc_paused

__all__ = ["Analysis"]


@dataclass
class Analysis:
    sub: DishonestSubgraph
    alpha: float = DEFAULT_ALPHA
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _communities: list[Community] | None = None
    _risk: RiskScores | None = None
    _key_persons: list[KeyPerson] | None = None

    def communities(self, min_size: int = 1) -> list[Community]:
        with self._lock:
            if self._communities is None:
                with gc_paused():
                    self._communities = find_communities(self.sub, min_size=1)
            found = self._communities
        return [c for c in found if c.size >= min_size]

    def risk(self) -> RiskScores:
        with self._lock:
            if self._risk is None:
                with gc_paused():
                    self._risk = risk_scores(self.sub, alpha=self.alpha)
            return self._risk

    def key_persons(self, min_companies: int = DEFAULT_MIN_COMPANIES) -> list[KeyPerson]:
        with self._lock:
            if self._key_persons is None:
                with gc_paused():
                    self._key_persons = key_persons(self.sub, min_companies=1)
            found = self._key_persons
        return [p for p in found if p.dishonest_companies >= min_companies]
