"""Paths, neighbourhoods and ownership penetration over a real graph loaded from files.

The graphs are small and drawn by hand so every expected answer can be checked on paper:

    P1 --LEGAL_REPRESENTATIVE_OF (2015..2019)--> E1     P1 --DIRECTOR_OF (2016..)--> E2
    P2 --SUPERVISOR_OF (2018..)--> E1                   P2 --SUPERVISOR_OF (2018..)--> E2
    E1 --SHAREHOLDER_OF 0.6--> E4 --0.5--> E5 --0.3--> E2          E7 --BRANCH_OF--> E2
    E8 alone.
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from api import explore
from api.explore import (
    MAX_OWNERSHIP_LEVELS,
    Controller,
    GraphEdge,
    control_chain,
    find_paths,
    neighborhood,
)
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.errors import InvalidCode, InvalidInput, LimitExceeded, NotFound
from schema.policy import load_policy
from schema.workdays import china_today
from tests.builders import entity, person, person_code, role, uscc_code

NANTONG = load_policy("nantong")
D = dt.date.fromisoformat

E1, E2, E4, E5, E7, E8 = (uscc_code(n) for n in (1, 2, 4, 5, 7, 8))
P1, P2 = person_code(1), person_code(2)
UNKNOWN = uscc_code(999)


def load(store: GraphStore, write_jsonl: Any, rows: list[dict[str, Any]]) -> None:
    path: Path = write_jsonl(rows)
    summary = load_files(store, [path], policy=NANTONG, provider="test", today=china_today())
    assert summary.exit_code == 0, summary.as_dict()


def network() -> list[dict[str, Any]]:
    return [
        *(entity(c, f"公司{i}") for i, c in ((1, E1), (2, E2), (4, E4), (5, E5), (7, E7), (8, E8))),
        person(P1, "李一"),
        person(P2, "王二"),
        role(E1, P1, "legal_representative", "2015-01-01", "2019-12-31"),
        role(E2, P1, "director", "2016-03-01"),
        role(E1, P2, "supervisor", "2018-01-01"),
        role(E2, P2, "supervisor", "2018-01-01"),
        role(E4, E1, "shareholder", "2010-01-01", share_ratio=0.6),
        role(E5, E4, "shareholder", "2011-01-01", share_ratio=0.5),
        role(E2, E5, "shareholder", "2012-01-01", share_ratio=0.3),
        role(E2, E7, "branch", "2013-01-01"),
    ]


@pytest.fixture
def net(store: GraphStore, write_jsonl: Any) -> GraphStore:
    load(store, write_jsonl, network())
    return store


def codes(path: Any) -> list[str]:
    return [n.code for n in path.nodes]


# -- paths -----------------------------------------------------------------------------------
def test_shortest_path_first_with_real_direction_and_dates(net: GraphStore) -> None:
    paths = find_paths(net, E1, E2, first=1)
    assert len(paths) == 1
    assert codes(paths[0]) == [E1, P1, E2]
    assert [n.kind for n in paths[0].nodes] == ["entity", "person", "entity"]
    assert paths[0].nodes[1].name == "李一"
    # P1 holds both roles: the edges point from the person to each company.
    assert paths[0].edges == (
        GraphEdge("LEGAL_REPRESENTATIVE_OF", P1, E1, D("2015-01-01"), D("2019-12-31"), None),
        GraphEdge("DIRECTOR_OF", P1, E2, D("2016-03-01"), None, None),
    )


def test_alternatives_ordered_by_length_then_codes(net: GraphStore) -> None:
    paths = find_paths(net, E1, E2)
    assert [codes(p) for p in paths] == [[E1, P1, E2], [E1, P2, E2], [E1, E4, E5, E2]]
    assert [p.length for p in paths] == [2, 2, 3]
    assert [codes(p) for p in find_paths(net, E1, E2, first=2)] == [[E1, P1, E2], [E1, P2, E2]]


def test_path_walked_against_the_roles_reports_their_own_direction(net: GraphStore) -> None:
    paths = find_paths(net, E2, E1, types=["SHAREHOLDER_OF"])
    assert [codes(p) for p in paths] == [[E2, E5, E4, E1]]
    assert [(e.from_code, e.to_code, e.share_ratio) for e in paths[0].edges] == [
        (E5, E2, 0.3),
        (E4, E5, 0.5),
        (E1, E4, 0.6),
    ]


def test_max_hops_is_respected(net: GraphStore) -> None:
    assert find_paths(net, E1, E2, max_hops=1) == []
    assert [p.length for p in find_paths(net, E1, E2, max_hops=2)] == [2, 2]
    # E7 (a branch of E2) is 3 hops from E1 through the persons, 4 through the shares.
    assert [codes(p) for p in find_paths(net, E1, E7, max_hops=3)] == [
        [E1, P1, E2, E7],
        [E1, P2, E2, E7],
    ]
    assert find_paths(net, E1, E7, max_hops=4)[-1].length == 4
    assert find_paths(net, E1, E8, max_hops=6) == []


def test_types_filter_accepts_relationship_types_and_role_names(net: GraphStore) -> None:
    assert [codes(p) for p in find_paths(net, E1, E2, types=["SHAREHOLDER_OF"])] == [
        [E1, E4, E5, E2]
    ]
    assert [codes(p) for p in find_paths(net, E1, E2, types=["supervisor"])] == [[E1, P2, E2]]
    assert find_paths(net, E1, E2, types=["DIRECTOR_OF"]) == []


def test_as_of_keeps_only_roles_held_that_day(net: GraphStore) -> None:
    # 2021: P1 is no longer legal representative of E1; P2 is supervisor of both.
    assert [codes(p) for p in find_paths(net, E1, E2, as_of=dt.date(2021, 6, 1))] == [
        [E1, P2, E2],
        [E1, E4, E5, E2],
    ]
    # 2017: P2 is not there yet.
    assert [codes(p) for p in find_paths(net, E1, E2, as_of=dt.date(2017, 1, 1))] == [
        [E1, P1, E2],
        [E1, E4, E5, E2],
    ]
    # The last day of a term still counts.
    assert codes(find_paths(net, E1, E2, as_of=dt.date(2019, 12, 31))[0]) == [E1, P1, E2]


def test_hidden_persons_hide_every_path_through_them(net: GraphStore) -> None:
    paths = find_paths(net, E1, E2, include_persons=False)
    assert [codes(p) for p in paths] == [[E1, E4, E5, E2]]
    assert all(n.kind != "person" for p in paths for n in p.nodes)
    with pytest.raises(NotFound) as err:
        find_paths(net, P1, E2, include_persons=False)
    assert P1 not in str(err.value)  # the ID number is masked even in the refusal


def test_path_bounds_and_bad_input(net: GraphStore) -> None:
    with pytest.raises(LimitExceeded, match="maxHops must be between 1 and 6"):
        find_paths(net, E1, E2, max_hops=7)
    with pytest.raises(LimitExceeded, match="maxHops"):
        find_paths(net, E1, E2, max_hops=0)
    with pytest.raises(LimitExceeded, match="first must be between 1 and 20"):
        find_paths(net, E1, E2, first=21)
    with pytest.raises(LimitExceeded, match="first"):
        find_paths(net, E1, E2, first=0)
    with pytest.raises(InvalidCode):
        find_paths(net, "91320602000000001X", E2)
    with pytest.raises(NotFound):
        find_paths(net, E1, UNKNOWN)
    with pytest.raises(InvalidInput):
        find_paths(net, E1, E2, types=["KNOWS"])
    with pytest.raises(InvalidInput):
        find_paths(net, E1, E1)


def test_search_budget_returns_what_is_certain_or_refuses(
    net: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explore, "PATH_SEARCH_BUDGET", 2)
    # Two subjects expanded (E1, E2): the paths of length 2 are certain, and returned.
    assert [codes(p) for p in find_paths(net, E1, E2)] == [[E1, P1, E2], [E1, P2, E2]]
    # E7 is 3 hops away: nothing is certain within 2, so the search refuses to guess.
    with pytest.raises(LimitExceeded, match="lower maxHops"):
        find_paths(net, E1, E7)
    # E8 has no role at all: its side is read completely at once, an empty answer is sure.
    assert find_paths(net, E1, E8) == []


# -- neighbourhood ------------------------------------------------------------------------------
def test_neighborhood_one_hop(net: GraphStore) -> None:
    sub = neighborhood(net, E1)
    assert [n.code for n in sub.nodes] == [E1, P1, P2, E4]
    assert {(e.type, e.from_code, e.to_code) for e in sub.edges} == {
        ("LEGAL_REPRESENTATIVE_OF", P1, E1),
        ("SUPERVISOR_OF", P2, E1),
        ("SHAREHOLDER_OF", E1, E4),
    }
    assert sub.truncated is False


def test_neighborhood_two_hops_includes_links_on_the_outer_ring(net: GraphStore) -> None:
    sub = neighborhood(net, E1, hops=2)
    assert [n.code for n in sub.nodes] == [E1, P1, P2, E4, E2, E5]
    edges = {(e.type, e.from_code, e.to_code) for e in sub.edges}
    # E5 and E2 are both two hops away; the share E5 holds in E2 is still shown.
    assert ("SHAREHOLDER_OF", E5, E2) in edges
    assert ("DIRECTOR_OF", P1, E2) in edges and ("SHAREHOLDER_OF", E4, E5) in edges
    assert len(sub.edges) == 7
    assert E7 not in [n.code for n in sub.nodes]
    assert E7 in [n.code for n in neighborhood(net, E1, hops=3).nodes]


def test_neighborhood_limit_truncates_the_farthest_level(net: GraphStore) -> None:
    sub = neighborhood(net, E1, hops=2, limit=4)
    assert [n.code for n in sub.nodes] == [E1, P1, P2, E4]
    assert sub.truncated is True
    sub = neighborhood(net, E1, hops=1, limit=3)
    assert [n.code for n in sub.nodes] == [E1, P1, P2]  # the level is cut in code order
    assert all(E4 not in (e.from_code, e.to_code) for e in sub.edges)
    assert sub.truncated is True
    assert neighborhood(net, E1, hops=1, limit=4).truncated is False


def test_neighborhood_reports_a_hub_cut_at_the_limit(net: GraphStore) -> None:
    # E2 has four roles (P1, P2, E5, E7); with room for one neighbour only two are read.
    sub = neighborhood(net, E2, limit=2)
    assert len(sub.nodes) == 2 and sub.nodes[0].code == E2
    assert sub.truncated is True


def test_neighborhood_without_persons(net: GraphStore) -> None:
    sub = neighborhood(net, E1, hops=2, include_persons=False)
    assert [n.code for n in sub.nodes] == [E1, E4, E5]
    assert all(n.kind != "person" for n in sub.nodes)
    assert all(P1 not in (e.from_code, e.to_code) for e in sub.edges)
    with pytest.raises(NotFound):
        neighborhood(net, P1, include_persons=False)
    assert [n.code for n in neighborhood(net, P1).nodes] == [P1, E1, E2]


def test_neighborhood_bounds(net: GraphStore) -> None:
    with pytest.raises(LimitExceeded, match="hops must be between 1 and 3"):
        neighborhood(net, E1, hops=4)
    with pytest.raises(LimitExceeded, match="hops"):
        neighborhood(net, E1, hops=0)
    with pytest.raises(LimitExceeded, match="limit must be between 1 and 5000"):
        neighborhood(net, E1, limit=5001)
    with pytest.raises(LimitExceeded, match="limit"):
        neighborhood(net, E1, limit=0)
    with pytest.raises(NotFound):
        neighborhood(net, UNKNOWN)
    with pytest.raises(InvalidCode):
        neighborhood(net, "not a code")


# -- control chain ------------------------------------------------------------------------------
C0, C1, C2, C3, C4, C5 = (uscc_code(n) for n in range(100, 106))
PA, PB, PX, PY = (person_code(n) for n in (11, 12, 13, 14))


def ownership() -> list[dict[str, Any]]:
    """Five levels above C0, a diamond (C4 reaches C1 through C2 and C3) and a cycle.

    C0 <- C1 0.8, PX 0.2 (and PY 0.5 until 2015, sold)
    C1 <- C2 0.5, C3 0.5
    C2 <- C4 1.0          C3 <- C4 0.4, PB 0.6
    C4 <- C5 0.7, PA 0.3  C5 <- PA 0.9, C4 0.1   (C4 and C5 hold each other)
    """
    since = "2016-01-01"
    return [
        *(entity(c, f"控股{i}") for i, c in enumerate((C0, C1, C2, C3, C4, C5))),
        *(person(p, n) for p, n in ((PA, "甲"), (PB, "乙"), (PX, "丙"), (PY, "丁"))),
        role(C0, C1, "shareholder", since, share_ratio=0.8),
        role(C0, PX, "shareholder", since, share_ratio=0.2),
        role(C0, PY, "shareholder", "2010-01-01", "2015-12-31", share_ratio=0.5),
        role(C1, C2, "shareholder", since, share_ratio=0.5),
        role(C1, C3, "shareholder", since, share_ratio=0.5),
        role(C2, C4, "shareholder", since, share_ratio=1.0),
        role(C3, C4, "shareholder", since, share_ratio=0.4),
        role(C3, PB, "shareholder", since, share_ratio=0.6),
        role(C4, C5, "shareholder", since, share_ratio=0.7),
        role(C4, PA, "shareholder", since, share_ratio=0.3),
        role(C5, PA, "shareholder", since, share_ratio=0.9),
        role(C5, C4, "shareholder", since, share_ratio=0.1),
    ]


@pytest.fixture
def owned(store: GraphStore, write_jsonl: Any) -> GraphStore:
    load(store, write_jsonl, ownership())
    return store


def by_code(controllers: list[Controller]) -> dict[str | None, Controller]:
    return {c.code: c for c in controllers}


def route(chain: tuple[Any, ...]) -> list[tuple[str | None, str, float | None]]:
    return [(s.holder_code, s.entity_code, s.share_ratio) for s in chain]


def test_control_chain_effective_shares_across_a_diamond_and_a_cycle(owned: GraphStore) -> None:
    result = control_chain(owned, C0)
    got = by_code(result)
    assert set(got) == {PA, PB, PX}  # PY sold in 2015; C1..C5 all have shareholders
    # PA: via C5 and directly in C4, each through C2 and through C3; never round C4<->C5.
    #   0.9*0.7*1.0*0.5*0.8 + 0.3*1.0*0.5*0.8 + 0.9*0.7*0.4*0.5*0.8 + 0.3*0.4*0.5*0.8
    assert got[PA].effective_share == pytest.approx(0.252 + 0.12 + 0.1008 + 0.048)
    assert got[PB].effective_share == pytest.approx(0.6 * 0.5 * 0.8)
    assert got[PX].effective_share == pytest.approx(0.2)
    assert [c.code for c in result] == [PA, PB, PX]  # largest stake first
    assert (got[PA].controlling, got[PA].beneficial_owner) == (True, True)
    assert (got[PB].controlling, got[PB].beneficial_owner) == (False, False)
    assert got[PA].name == "甲" and got[PA].kind == "person" and got[PA].ultimate
    # Four simple chains for PA, the longest five levels, written from PA down to C0.
    assert len(got[PA].chains) == 4
    assert route(got[PA].chains[0]) == [
        (PA, C5, 0.9),
        (C5, C4, 0.7),
        (C4, C2, 1.0),
        (C2, C1, 0.5),
        (C1, C0, 0.8),
    ]
    assert all(len({s.holder_code for s in ch}) == len(ch) for ch in got[PA].chains)
    # The 10% C4 holds in C5 circulates in the loop and is attributed to nobody:
    # C1 0.8 x C4's 0.7 of C1 x C5's 0.7 of C4 x C4's 0.1 of C5 is missing from the total.
    total = sum(c.effective_share or 0 for c in result)
    assert total == pytest.approx(1 - 0.8 * 0.7 * 0.7 * 0.1)


def test_control_chain_as_of_a_past_day(owned: GraphStore) -> None:
    result = control_chain(owned, C0, as_of=dt.date(2015, 6, 1))
    assert [(c.code, c.effective_share) for c in result] == [(PY, 0.5)]
    # Exactly one half controls nothing; 25% or more makes a beneficial owner.
    assert result[0].controlling is False and result[0].beneficial_owner is True


def test_control_chain_hides_persons_as_one_anonymous_aggregate(owned: GraphStore) -> None:
    result = control_chain(owned, C0, include_persons=False)
    assert len(result) == 1
    hidden = result[0]
    assert hidden.undisclosed and hidden.code is None and hidden.name is None
    assert hidden.effective_share == pytest.approx(0.5208 + 0.24 + 0.2)
    assert hidden.controlling is False and hidden.beneficial_owner is False
    shown = {s.holder_code for ch in hidden.chains for s in ch}
    assert shown.isdisjoint({PA, PB, PX, PY}) and None in shown
    assert all(ch[0].holder_code is None for ch in hidden.chains)
    with pytest.raises(NotFound):
        control_chain(owned, PA, include_persons=False)
    assert control_chain(owned, PA) == []  # nobody holds shares in a person


def test_undisclosed_persons_in_one_company_are_summed(store: GraphStore, write_jsonl: Any) -> None:
    g0, g1 = uscc_code(300), uscc_code(301)
    p1, p2 = person_code(31), person_code(32)
    load(
        store,
        write_jsonl,
        [
            entity(g0, "子公司"),
            entity(g1, "母公司"),
            person(p1, "赵"),
            person(p2, "钱"),
            role(g0, g1, "shareholder", "2020-01-01", share_ratio=0.5),
            role(g1, p1, "shareholder", "2020-01-01", share_ratio=0.5),
            role(g1, p2, "shareholder", "2020-01-01", share_ratio=0.5),
        ],
    )
    [hidden] = control_chain(store, g0, include_persons=False)
    assert [route(ch) for ch in hidden.chains] == [[(None, g1, 1.0), (g1, g0, 0.5)]]
    visible = by_code(control_chain(store, g0))
    assert visible[p1].effective_share == 0.25 and visible[p1].beneficial_owner is True


def test_entity_owner_cycle_and_missing_ratio(store: GraphStore, write_jsonl: Any) -> None:
    f0, f1, f2, g0, g1, h0, h1 = (uscc_code(n) for n in range(200, 207))
    pc, pd = person_code(21), person_code(22)
    s = "2020-01-01"
    load(
        store,
        write_jsonl,
        [
            *(entity(c, f"企业{i}") for i, c in enumerate((f0, f1, f2, g0, g1, h0, h1))),
            person(pc, "孙"),
            person(pd, "周"),
            # F1 and F2 hold only each other: the chain stops where the loop closes.
            role(f0, f1, "shareholder", s, share_ratio=1.0),
            role(f1, f2, "shareholder", s, share_ratio=1.0),
            role(f2, f1, "shareholder", s, share_ratio=1.0),
            # G1 has no shareholder: an organisation as ultimate owner.
            role(g0, g1, "shareholder", s, share_ratio=0.7),
            # H1's stake in H0 has no ratio: kept, share unknown.
            role(h0, h1, "shareholder", s),
            role(h1, pc, "shareholder", s, share_ratio=0.5),
            role(h0, pd, "shareholder", s, share_ratio=0.3),
        ],
    )
    [top] = control_chain(store, f0)
    assert (top.code, top.effective_share, top.ultimate) == (f2, 1.0, False)
    assert route(top.chains[0]) == [(f2, f1, 1.0), (f1, f0, 1.0)]

    [owner] = control_chain(store, g0)
    assert (owner.code, owner.kind, owner.effective_share) == (g1, "entity", 0.7)
    assert owner.controlling is True and owner.beneficial_owner is False and owner.ultimate

    got = by_code(control_chain(store, h0))
    assert got[pc].effective_share is None and got[pc].known_share == 0
    assert route(got[pc].chains[0]) == [(pc, h1, 0.5), (h1, h0, None)]
    assert got[pd].effective_share == pytest.approx(0.3)


def test_control_chain_stops_at_the_level_limit(store: GraphStore, write_jsonl: Any) -> None:
    chain = [uscc_code(400 + i) for i in range(MAX_OWNERSHIP_LEVELS + 2)]
    rows: list[dict[str, Any]] = [entity(c, f"层{i}") for i, c in enumerate(chain)]
    rows += [
        role(below, above, "shareholder", "2020-01-01", share_ratio=0.9)
        for below, above in pairwise(chain)
    ]
    load(store, write_jsonl, rows)
    [top] = control_chain(store, chain[0])
    assert top.code == chain[MAX_OWNERSHIP_LEVELS] and top.ultimate is False
    assert len(top.chains[0]) == MAX_OWNERSHIP_LEVELS
    assert top.effective_share == pytest.approx(0.9**MAX_OWNERSHIP_LEVELS)


def test_control_chain_unknown_and_bad_codes(owned: GraphStore) -> None:
    with pytest.raises(NotFound):
        control_chain(owned, UNKNOWN)
    with pytest.raises(InvalidCode):
        control_chain(owned, "320602197506010015")
    assert control_chain(owned, C5, as_of=dt.date(2000, 1, 1)) == []
