"""Path search between hubs: subjects with more links than the search follows of each.

A nominee director on 260 boards (H2) and a group company with 260 directors (H1), the
director's seat at H1 loaded last. Before, both ends cut their links at 200 in engine
order, the H2-H1 seat fell outside both cuts, and ``paths`` answered "no path" between
two subjects linked directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api.explore import PATH_DEGREE_CAP, find_paths
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.errors import LimitExceeded
from schema.policy import load_policy
from schema.workdays import china_today
from tests.builders import entity, person, person_code, role, uscc_code

N = PATH_DEGREE_CAP + 60
H1 = uscc_code(7000)
H2 = person_code(999, birth=dt.date(1971, 2, 2))
BOARDS = [uscc_code(7001 + i) for i in range(N)]
DIRECTORS = [person_code(i, birth=dt.date(1980, 3, 3)) for i in range(N)]
LONER = uscc_code(7999)


@pytest.fixture
def hubs(store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]) -> GraphStore:
    rows: list[dict[str, Any]] = [entity(H1, "集团有限公司"), person(H2, "挂名董事"),
                                  entity(LONER, "孤立有限公司")]
    rows += [entity(c, f"空壳{i}号有限公司") for i, c in enumerate(BOARDS)]
    rows += [person(p, f"董事{i}") for i, p in enumerate(DIRECTORS)]
    rows += [role(c, H2, "director", "2020-01-01") for c in BOARDS]
    rows += [role(H1, p, "director", "2020-01-01") for p in DIRECTORS]
    rows.append(role(H1, H2, "director", "2021-06-01"))
    summary = load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"),
                         provider="t", today=china_today())
    assert summary.exit_code == 0, summary.as_dict()
    return store


def _codes(paths: list[Any]) -> list[list[str]]:
    return [[n.code for n in p.nodes] for p in paths]


def test_two_hubs_linked_directly_are_connected(hubs: GraphStore) -> None:
    assert _codes(find_paths(hubs, H2, H1, max_hops=6, first=1)) == [[H2, H1]]
    assert _codes(find_paths(hubs, H1, H2, max_hops=6, first=1)) == [[H1, H2]]
    (seat,) = find_paths(hubs, H2, H1, first=1)[0].edges
    assert (seat.type, seat.since) == ("DIRECTOR_OF", dt.date(2021, 6, 1))


def test_a_path_through_both_hubs_is_found_from_far_ends(hubs: GraphStore) -> None:
    board, director = BOARDS[-1], DIRECTORS[-1]
    assert _codes(find_paths(hubs, board, director, max_hops=6, first=1)) == [
        [board, H2, H1, director]
    ]


def test_no_path_next_to_a_hub_is_an_error_that_says_why_not_an_empty_answer(
    hubs: GraphStore,
) -> None:
    with pytest.raises(LimitExceeded, match="more than 200 links"):
        find_paths(hubs, H2, LONER, max_hops=6)
    # Away from hubs, no path is an empty answer as before.
    assert find_paths(hubs, LONER, BOARDS[0], max_hops=1) == []
