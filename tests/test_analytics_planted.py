"""A ring of shell companies planted in a generated province is found again.

The synthetic province (``loaders.generator``) brings its own dishonest companies and
noise; the planted ring (six companies, all run by the same two persons, four of them
black-listed) must come back as one Louvain community with exactly those two persons
bridging it, and its companies must rank at the top of the risk scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph.analytics import Analysis, read_dishonest_subgraph
from graph.store import GraphStore
from loaders.generator import generate
from loaders.pipeline import load_files
from schema.policy import load_policy
from tests.builders import entity, person, person_code, record, role, uscc_code

ON = dt.date(2026, 11, 21)
RING = [uscc_code(n, region="320611") for n in range(700_001, 700_007)]
BOSS, SHADOW = person_code(777, region="320611"), person_code(778, region="320611")


def _ring_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [person(BOSS, "韩立"), person(SHADOW, "厉飞雨")]
    for i, code in enumerate(RING):
        rows += [
            entity(code, f"海门空壳{i}贸易有限公司", status="active", org_type="enterprise"),
            role(code, BOSS, "legal_representative", "2021-01-01"),
            role(code, SHADOW, "supervisor", "2021-01-01"),
            record(f"RING{i}", code, "2026-03-01", kind="false_materials",
                   severity="serious", **({"list": "black"} if i < 4 else {})),
        ]
    return rows


def test_planted_ring_is_one_community_and_ranks_high_for_risk(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    province = tmp_path / "province.jsonl"
    generate(300, 5, province)
    planted = write_jsonl(_ring_rows())
    policy = load_policy("nantong")
    for path in (province, planted):
        summary = load_files(store, [path], policy=policy, provider="p", today=ON)
        assert summary.rejected_total == 0, summary.as_dict()

    analysis = Analysis(read_dishonest_subgraph(store, policy=policy, on=ON))
    found = [c for c in analysis.communities(min_size=3) if set(RING) & set(c.members)]
    assert len(found) == 1, "the ring is split or merged with others"
    ring = found[0]
    assert set(RING) | {BOSS, SHADOW} == set(ring.members)
    assert set(ring.bridging_persons) == {BOSS, SHADOW}
    assert set(ring.dishonest_companies) == set(RING)

    # The two persons behind four black-listed companies rank in the top quarter of the
    # persons at risk (the generator plants shell clusters of its own, which may rank
    # higher), and the ring's members that are not black-listed carry more risk than
    # every company of the province that is not dishonest at all.
    risk = analysis.risk()
    persons = [c for c in risk.ranked if analysis.sub.kind(c) == "person"]
    quarter = max(1, len(persons) // 4)
    assert {BOSS, SHADOW} <= set(persons[:quarter]), (quarter, persons.index(BOSS))
    clean = [c for c in risk.ranked
             if analysis.sub.kind(c) != "person" and not analysis.sub.is_dishonest(c)]
    assert min(risk.of(c).score for c in RING[4:]) > max(risk.of(c).score for c in clean)


def test_each_record_counts_once_across_the_year_boundary(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    """Regression: the month windows are read through FalkorDB's string range index,
    which returned the whole next year for the December window, so records of 2026 were
    counted twice and a company looked twice as dishonest."""
    co = uscc_code(700_100, region="320611")
    rows = [
        entity(co, "重复计数测试有限公司"),
        record("Y1", co, "2025-06-01", severity="general"),
        record("Y2", co, "2026-03-01", severity="serious", list="black"),
        record("Y3", co, "2026-10-09", severity="general"),
    ]
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("wuhan"),
                         provider="p", today=ON)
    assert summary.rejected_total == 0
    sub = read_dishonest_subgraph(store, policy=load_policy("wuhan"), on=ON)
    node = sub.graph.nodes[co]
    assert (node["negative"], node["black"]) == (3, 1)
