"""Analytics on the dishonest subgraph: communities, risk, key persons (issue 6, item 2).

The graph, loaded through the real loader:

- ring A: companies A1..A4 with the same two officers, P1 (legal representative of all
  four) and P2 (supervisor of all four); A1 and A2 black-listed, A3 and A4 with general
  negative records;
- ring B: companies B1..B4 with Q1 (legal representative) and Q2 (director); general
  negative records only; B1 holds 20% of A4, the one thread between the rings;
- M, a clean company 30% held by B4 (one role from ring B), and F, a clean company far
  away (F's director S also directs M: two roles further out);
- X sat on the boards of A1 and A2 until the end of 2024: not a key person in 2026.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.settings import load_settings
from graph.analytics import Analysis, read_dishonest_subgraph
from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

A = [uscc_code(n) for n in (901, 902, 903, 904)]
B = [uscc_code(n) for n in (921, 922, 923, 924)]
M, F = uscc_code(941), uscc_code(961)
P1, P2, Q1, Q2, S, X = (person_code(n) for n in (911, 912, 931, 932, 951, 971))
ON = dt.date(2026, 1, 1)
SINCE = "2020-01-01"


def rows() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        *(entity(c, f"甲环{i}有限公司") for i, c in enumerate(A, start=1)),
        *(entity(c, f"乙环{i}有限公司") for i, c in enumerate(B, start=1)),
        entity(M, "中间有限公司"), entity(F, "远方有限公司"),
        person(P1, "赵一"), person(P2, "钱二"), person(Q1, "孙三"), person(Q2, "李四"),
        person(S, "周五"), person(X, "吴六"),
    ]
    for c in A:
        out += [role(c, P1, "legal_representative", SINCE), role(c, P2, "supervisor", SINCE)]
    for c in B:
        out += [role(c, Q1, "legal_representative", SINCE), role(c, Q2, "director", SINCE)]
    out += [
        role(A[3], B[0], "shareholder", SINCE, share_ratio=0.2),
        role(M, B[3], "shareholder", SINCE, share_ratio=0.3),
        role(M, S, "director", SINCE), role(F, S, "director", SINCE),
        role(A[0], X, "director", "2019-01-01", "2024-12-31"),
        role(A[1], X, "director", "2019-01-01", "2024-12-31"),
    ]
    for i, c in enumerate(A[:2]):
        out.append(record(f"a-black-{i}", c, "2025-06-01", kind="tax_arrears",
                          severity="serious", list="black", disclosure="public"))
    for i, c in enumerate(A[2:] + B):
        out.append(record(f"neg-{i}", c, "2025-06-01", severity="general", disclosure="public"))
    return out


def load(store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]) -> None:
    summary = load_files(store, [write_jsonl(rows())], policy=load_policy("wuhan"),
                         provider="t", today=dt.date(2026, 1, 1))
    assert not summary.unreadable


# -- the analyses on the store ---------------------------------------------------------------
@pytest.fixture
def analysis(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Analysis:
    load(store, write_jsonl)
    return Analysis(read_dishonest_subgraph(store, policy=load_policy("wuhan"), on=ON))


def test_each_ring_is_one_community_with_its_persons(analysis: Analysis) -> None:
    found = analysis.communities(min_size=3)
    by_members = {frozenset(c.members): c for c in found}
    ring_a = by_members[frozenset([*A, P1, P2])]
    ring_b = by_members[frozenset([*B, Q1, Q2])]
    assert len(found) == 2
    assert ring_a.dishonest_companies == tuple(sorted(A))
    assert set(ring_a.bridging_persons) == {P1, P2}
    assert set(ring_b.bridging_persons) == {Q1, Q2}
    # Clean companies and a director who left are not in any community.
    assert not {M, F, S, X} & {m for c in found for m in c.members}


def test_risk_is_highest_on_the_black_list_and_decays_with_distance(analysis: Analysis) -> None:
    risk = analysis.risk()
    s = risk.scores
    assert s[A[0]] == pytest.approx(1.0) and s[A[1]] == pytest.approx(1.0)
    assert risk.ranked[:2] == tuple(sorted(A[:2]))
    # one role away (the officers), two (the ring's other companies), then ring B.
    assert s[A[0]] > s[P1] > s[A[2]] > s[B[0]] > s[B[1]]
    assert s[P1] > s[P2]  # a legal representative is tied more closely than a supervisor
    assert risk.of(A[0]).distance == 0 and risk.of(A[2]).distance == 2
    assert risk.of(B[0]).distance == 3
    assert s[M] < 0.01
    far = risk.of(F)
    assert far.score == 0.0 and far.rank is None and far.distance is None


def test_key_persons_ranked_by_dishonest_companies_held_on_the_date(analysis: Analysis) -> None:
    found = analysis.key_persons()
    assert [p.code for p in found] == [*sorted([P1, P2]), *sorted([Q1, Q2])]
    top = found[0]
    assert top.dishonest_companies == 4 and top.blacklisted_companies == 2
    assert found[2].blacklisted_companies == 0
    assert X not in {p.code for p in found}  # left both boards before the date


def test_before_the_records_there_is_nothing_to_analyse(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    load(store, write_jsonl)
    earlier = Analysis(read_dishonest_subgraph(store, policy=load_policy("wuhan"),
                                               on=dt.date(2025, 5, 31)))
    assert earlier.communities() == [] and earlier.key_persons() == []
    assert earlier.risk().ranked == ()


# -- GraphQL over HTTP -------------------------------------------------------------------------
COMMUNITIES = """query($d: Date) { communities(asOf: $d) { rank size dishonestCompanies
  members { code name kind dishonest blacklisted } bridgingPersons { code } } }"""
RISK = """query($d: Date) { riskScores(asOf: $d, first: 50) { code kind score rank distance
  blacklisted } }"""
ONE_RISK = """query($c: String!, $d: Date) { riskScore(code: $c, asOf: $d) { code score rank
  distance dishonest } }"""
KEY = """query($d: Date) { keyPersons(asOf: $d) { rank code name dishonestCompanies
  blacklistedCompanies offices { companyCode type since blacklisted } } }"""


@dataclass
class Views:
    public: Client
    agency: Client
    operator: Client


@pytest.fixture
def views(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Views]:
    load(store, write_jsonl)
    agency = make_key(store, "agency", "regulator")
    operator = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Views(Client(url, None, purpose=None), Client(url, agency), Client(url, operator))


def test_graphql_communities_mask_id_numbers(views: Views) -> None:
    got = views.agency.data(COMMUNITIES, {"d": ON.isoformat()})["communities"]
    assert [c["size"] for c in got] == [6, 6]
    ring_a = next(c for c in got if A[0] in {m["code"] for m in c["members"]})
    assert {m["code"] for m in ring_a["members"]} == {*A, mask_code(P1), mask_code(P2)}
    assert {m["code"] for m in ring_a["bridgingPersons"]} == {mask_code(P1), mask_code(P2)}
    assert ring_a["dishonestCompanies"] == 4
    assert sum(m["blacklisted"] for m in ring_a["members"]) == 2
    clear = views.operator.data(COMMUNITIES, {"d": ON.isoformat()})["communities"]
    assert P1 in {m["code"] for c in clear for m in c["members"]}


def test_graphql_risk_scores_and_one_score(views: Views) -> None:
    got = views.agency.data(RISK, {"d": ON.isoformat()})["riskScores"]
    assert {r["code"] for r in got[:2]} == set(A[:2])
    assert got[0]["score"] == pytest.approx(1.0) and got[0]["blacklisted"] is True
    assert [r["rank"] for r in got] == list(range(1, len(got) + 1))
    assert F not in {r["code"] for r in got}
    far = views.agency.data(ONE_RISK, {"c": F, "d": ON.isoformat()})["riskScore"]
    assert far == {"code": F, "score": 0.0, "rank": None, "distance": None, "dishonest": False}
    near = views.agency.data(ONE_RISK, {"c": A[2], "d": ON.isoformat()})["riskScore"]
    assert 0 < near["score"] < 1 and near["distance"] == 2 and near["dishonest"] is True
    unknown = uscc_code(999)
    assert views.agency.error_code(ONE_RISK, {"c": unknown}) == "NOT_FOUND"


def test_graphql_key_persons(views: Views) -> None:
    got = views.agency.data(KEY, {"d": ON.isoformat()})["keyPersons"]
    assert [p["code"] for p in got[:2]] == sorted([mask_code(P1), mask_code(P2)])
    assert got[0]["dishonestCompanies"] == 4 and got[0]["blacklistedCompanies"] == 2
    assert {o["companyCode"] for o in got[0]["offices"]} == set(A)
    assert len(got) == 4


def test_the_public_under_wuhan_gets_no_persons(views: Views) -> None:
    d = {"d": ON.isoformat()}
    texts = [views.public.post(q, d) for q in (COMMUNITIES, RISK, KEY)]
    for r in texts:
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        for secret in (P1, P2, Q1, Q2, mask_code(P1), mask_code(Q1), "赵一", "孙三"):
            assert secret not in r.text
    communities, risk, key = (r.json()["data"] for r in texts)
    assert key["keyPersons"] == []
    # Without persons nothing joins ring A's companies: only the A4-B1 holding is left.
    assert all(m["kind"] == "entity" for c in communities["communities"] for m in c["members"])
    assert {r["kind"] for r in risk["riskScores"]} == {"entity"}
    scores = {r["code"]: r["score"] for r in risk["riskScores"]}
    assert A[2] not in scores  # only reached through the hidden officers
    assert views.public.error_code(ONE_RISK, {"c": P1}) == "FORBIDDEN"


FOREVER = "9999-12-31"  # the last day a Date can name


def forever_record(store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]) -> None:
    """B1 black-listed by a record whose provider set it valid to the last possible day."""
    summary = load_files(
        store,
        [write_jsonl([record("b-forever", B[0], "2025-06-01", kind="tax_arrears",
                             severity="serious", list="black", disclosure="public",
                             valid_until=FOREVER)])],
        policy=load_policy("wuhan"), provider="t", today=dt.date(2026, 1, 1),
    )
    assert summary.rejected_total == 0, summary.as_dict()


@pytest.mark.parametrize("day", [FOREVER, "9998-01-01"])
def test_far_future_dates_are_answered_from_what_is_still_in_force(
    views: Views, store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path],
    day: str,
) -> None:
    """Every other period has run out by then; B1's record still stands. The answer comes
    within the request timeout: the reads stop at the last decision in the graph, not at
    the date asked (one read per month until 9998 ran past the 10 s limit)."""
    forever_record(store, write_jsonl)
    d = {"d": day}
    # Anyone may ask, the public included.
    risk = views.public.data(RISK, d)["riskScores"]
    assert [(r["code"], r["score"], r["blacklisted"]) for r in risk][:1] == [(B[0], 1.0, True)]
    assert A[0] not in {r["code"] for r in risk}  # its black-list record ended long before
    one = views.public.data(ONE_RISK, {"c": B[0], "d": day})["riskScore"]
    assert one["score"] == 1.0 and one["dishonest"] is True
    communities = views.agency.data(COMMUNITIES, d)["communities"]
    assert [{m["code"] for m in c["members"]} for c in communities] == [
        {B[0], mask_code(Q1), mask_code(Q2)}
    ]
    assert views.agency.data(KEY, d)["keyPersons"] == []  # one dishonest company left


# -- the command ----------------------------------------------------------------------------------
def _cli_on(monkeypatch: pytest.MonkeyPatch, engine: EmbeddedEngine, graph: str) -> None:
    """The command's configuration: this engine's ``graph``, under Wuhan, nothing else."""
    for k in [k for k in __import__("os").environ if k.startswith("CREDIT_GRAPH_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("CREDIT_GRAPH_FALKORDB_URL", f"unix://{engine.socket_path}")
    monkeypatch.setenv("CREDIT_GRAPH_FALKORDB_GRAPH", graph)
    monkeypatch.setenv("CREDIT_GRAPH_POLICY", "wuhan")


def test_the_analyze_command(
    engine: EmbeddedEngine, monkeypatch: pytest.MonkeyPatch,
    write_jsonl: Callable[[list[dict[str, Any]]], Path],
) -> None:
    from api.cli import app

    graph = "t_analyze_cli"
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    store.bootstrap()
    try:
        load(store, write_jsonl)
        _cli_on(monkeypatch, engine, graph)
        runner = CliRunner()
        day = ["--as-of", ON.isoformat()]

        out = runner.invoke(app, ["analyze", "communities", *day, "--json", "--show-id-numbers"])
        assert out.exit_code == 0, out.output
        communities = json.loads(out.output)["communities"]
        assert {frozenset(c["members"]) for c in communities} == {
            frozenset([*A, P1, P2]), frozenset([*B, Q1, Q2])
        }

        out = runner.invoke(app, ["analyze", "risk", *day, "--first", "2", "--json"])
        assert out.exit_code == 0, out.output
        assert {s["code"] for s in json.loads(out.output)["scores"]} == set(A[:2])

        out = runner.invoke(app, ["analyze", "key-persons", *day, "--json", "--show-id-numbers"])
        assert out.exit_code == 0, out.output
        persons = json.loads(out.output)["persons"]
        assert [p["code"] for p in persons[:2]] == sorted([P1, P2])

        table = runner.invoke(app, ["analyze", "key-persons", *day])
        assert table.exit_code == 0 and "赵一" in table.output and "失信企业 4" in table.output
    finally:
        store.drop_all()
        store.close()


def test_the_analyze_command_on_the_last_day_a_date_can_name(
    engine: EmbeddedEngine, monkeypatch: pytest.MonkeyPatch,
    write_jsonl: Callable[[list[dict[str, Any]]], Path],
) -> None:
    from api.cli import app

    graph = "t_analyze_forever"
    store = FalkorStore.from_socket(str(engine.socket_path), graph)
    store.bootstrap()
    try:
        load(store, write_jsonl)
        forever_record(store, write_jsonl)
        _cli_on(monkeypatch, engine, graph)
        runner = CliRunner()
        day = ["--as-of", FOREVER]
        out = runner.invoke(app, ["analyze", "risk", *day, "--json"])
        assert out.exit_code == 0, out.output
        scores = json.loads(out.output)
        assert scores["asOf"] == FOREVER and scores["scores"][0]["code"] == B[0]
        out = runner.invoke(app, ["analyze", "communities", *day, "--json", "--show-id-numbers"])
        assert out.exit_code == 0, out.output
        assert [set(c["members"]) for c in json.loads(out.output)["communities"]] == [
            {B[0], Q1, Q2}
        ]
        out = runner.invoke(app, ["analyze", "key-persons", *day])
        assert out.exit_code == 0 and f"关键人员 ({FOREVER}): 0" in out.output, out.output
    finally:
        store.drop_all()
        store.close()
