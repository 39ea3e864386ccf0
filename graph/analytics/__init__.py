"""Whole-graph analytics on subgraphs read from the store into NetworkX (issue 6, item 2):
communities of dishonest companies (Louvain), risk spreading from the black list
(personalised PageRank) and key persons. ``docs/analytics.md`` explains each."""

from graph.analytics.analysis import Analysis
from graph.analytics.communities import Community, find_communities
from graph.analytics.key_persons import KeyPerson, Office, key_persons
from graph.analytics.risk import RiskScore, RiskScores, risk_scores
from graph.analytics.subgraph import DishonestSubgraph, Seed, read_dishonest_subgraph

__all__ = [
    "Analysis",
    "Community",
    "DishonestSubgraph",
    "KeyPerson",
    "Office",
    "RiskScore",
    "RiskScores",
    "Seed",
    "find_communities",
    "key_persons",
    "read_dishonest_subgraph",
    "risk_scores",
]
