"""Hostile GraphQL documents, over real HTTP, against a small schema with recursive types.

Each document is answered quickly with a coded GraphQL error (never a 5xx, never a
hang), and a refused operation runs no resolver. The schema is built here the way
``api.graphql_schema`` builds the real one: ``schema_extensions`` + ``ErrorCodes``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import strawberry
from fastapi import FastAPI
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.fastapi import GraphQLRouter

from api.errors import ErrorCodes
from api.hardening import CostModel, Limits, limit_coded, schema_config, schema_extensions
from api.ratelimit import RateLimiter
from schema.errors import RateLimited
from tests.live_server import serve_in_thread

#: Every resolver call, so a test can tell that a refused operation ran nothing.
RESOLVED: list[str] = []
_resolved_lock = threading.Lock()


def _saw(what: str) -> None:
    with _resolved_lock:
        RESOLVED.append(what)


@strawberry.type
class Node:
    name: str
    level: int

    @strawberry.field
    def children(self, first: int = 3) -> list[Node]:
        _saw("children")
        return [Node(name=f"{self.name}.{i}", level=self.level + 1) for i in range(first)]

    @strawberry.field
    def parent(self) -> Node | None:
        _saw("parent")
        return Node(name=f"{self.name}^", level=self.level - 1)


@strawberry.type
class Query:
    @strawberry.field
    def node(self, name: str = "root") -> Node:
        _saw("node")
        return Node(name=name, level=0)

    @strawberry.field
    def nodes(self, codes: list[str]) -> list[Node]:
        _saw("nodes")
        return [Node(name=c, level=0) for c in codes]


def app_for(schema: strawberry.Schema) -> FastAPI:
    app = FastAPI()
    app.include_router(GraphQLRouter(schema, graphql_ide=None), prefix="/graphql")
    return app


def hardened(production: bool, limits: Limits | None = None) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        config=schema_config(production),
        extensions=[*schema_extensions(production=production, limits=limits or Limits()),
                    ErrorCodes],
    )


@dataclass
class Servers:
    dev: str
    prod: str
    backstop: str
    priced: str


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    # Strawberry's own limiters alone, with the LIMIT_EXCEEDED coding: the second line.
    backstop = strawberry.Schema(
        query=Query,
        extensions=[
            lambda: AddValidationRules(
                [limit_coded(r) for r in QueryDepthLimiter(max_depth=3).validation_rules]
            ),
            lambda: AddValidationRules(
                [limit_coded(r) for r in MaxAliasesLimiter(max_alias_count=2).validation_rules]
            ),
            ErrorCodes,
        ],
    )
    # A deployment that knows `parent` is expensive and has a small budget.
    priced = Limits(max_cost=100, costs=CostModel(field_costs={"Node.parent": 50}))
    with (
        serve_in_thread(app_for(hardened(False))) as dev,
        serve_in_thread(app_for(hardened(True))) as prod,
        serve_in_thread(app_for(backstop)) as back,
        serve_in_thread(app_for(hardened(False, priced))) as pr,
    ):
        yield Servers(dev, prod, back, pr)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.body.get("errors", [])]

    @property
    def messages(self) -> list[str]:
        return [e["message"] for e in self.body.get("errors", [])]


def ask(url: str, query: str, variables: dict[str, Any] | None = None) -> Answer:
    start = time.perf_counter()
    r = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                   timeout=30)
    seconds = time.perf_counter() - start
    assert r.status_code < 500, r.text
    return Answer(r.status_code, r.json(), seconds)


def refused(url: str, query: str, code: str, variables: dict[str, Any] | None = None) -> Answer:
    """Asserts the document is refused with ``code``, fast, and that nothing ran."""
    before = len(RESOLVED)
    a = ask(url, query, variables)
    assert a.status in (200, 400), a.body
    assert a.body.get("data") is None, a.body
    assert a.codes and set(a.codes) == {code}, a.body
    assert a.seconds < 2, f"took {a.seconds:.2f} s"
    assert len(RESOLVED) == before, "a refused operation ran resolvers"
    return a


# -- hostile documents --------------------------------------------------------------------


def test_circular_fragments_are_refused_as_invalid(servers: Servers) -> None:
    a = refused(
        servers.dev,
        "query { node { ...A } } fragment A on Node { name ...B } "
        "fragment B on Node { children { ...A } }",
        "GRAPHQL_VALIDATION_FAILED",
    )
    assert "within itself" in a.messages[0]


def test_fragment_alias_amplification_ten_deep_is_refused(servers: Servers) -> None:
    # F1..F10 each hold 10 aliased fields spreading the next fragment: 10 aliases in the
    # text per fragment, 10^10 once expanded. Strawberry's limiters alone take
    # exponential time on this shape; the walk prices each fragment once.
    frags = []
    for i in range(1, 10):
        body = " ".join(f"a{j}: children(first: 1) {{ ...F{i + 1} }}" for j in range(10))
        frags.append(f"fragment F{i} on Node {{ {body} }}")
    frags.append("fragment F10 on Node { " + " ".join(f"b{j}: name" for j in range(10)) + " }")
    a = refused(servers.dev, "query { node { ...F1 } } " + " ".join(frags), "LIMIT_EXCEEDED")
    assert "limit is" in a.messages[0]


def test_a_fragment_spread_n_times_counts_its_aliases_n_times(servers: Servers) -> None:
    frag = "fragment F on Node { " + " ".join(f"x{i}: name" for i in range(8)) + " }"
    ok = ask(servers.dev, "query { node { ...F ...F ...F } } " + frag)
    assert ok.body["data"]["node"]["x7"] == "root", ok.body  # 24 aliases: allowed
    a = refused(servers.dev, "query { node { ...F ...F ...F ...F } } " + frag, "LIMIT_EXCEEDED")
    assert "32 aliases" in a.messages[0] and "limit is 30" in a.messages[0]


def test_fragment_fan_out_is_priced_without_expanding_it(servers: Servers) -> None:
    # Each fragment spreads the next twice: 2^40 selections from a 2 KB document.
    frags = " ".join(f"fragment F{i} on Node {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    a = refused(
        servers.dev, "query { node { ...F0 } } " + frags + " fragment F40 on Node { name }",
        "LIMIT_EXCEEDED",
    )
    assert "selections" in a.messages[0]


def test_a_long_fragment_chain_is_refused_not_a_recursion_error(servers: Servers) -> None:
    frags = " ".join(f"fragment F{i} on Node {{ ...F{i + 1} }}" for i in range(600))
    a = refused(
        servers.dev, "query { node { ...F0 } } " + frags + " fragment F600 on Node { name }",
        "LIMIT_EXCEEDED",
    )
    assert "levels deep" in a.messages[0]


def test_ten_thousand_aliases_are_refused(servers: Servers) -> None:
    aliases = " ".join(f"a{i}: name" for i in range(10_000))
    refused(servers.dev, "query { node { " + aliases + " } }", "LIMIT_EXCEEDED")
    # Small enough in characters, too many tokens: the parser stops at the token cap.
    aliases = " ".join(f"a{i}:name" for i in range(2_000))
    a = refused(servers.dev, "query { node { " + aliases + " } }", "LIMIT_EXCEEDED")
    assert "5000 tokens" in a.messages[0]


def test_depth_fifty_is_refused(servers: Servers) -> None:
    query = "query { node { " + "children(first: 1) { " * 50 + "name" + " }" * 50 + " } }"
    a = refused(servers.dev, query, "LIMIT_EXCEEDED")
    assert a.messages[0] == "the operation is 51 levels deep; the limit is 10"
    # Through the recursive parent link too.
    refused(servers.dev, "{ node { " + "parent { " * 12 + "name" + " }" * 12 + " } }",
            "LIMIT_EXCEEDED")


def test_a_one_megabyte_document_is_refused(servers: Servers) -> None:
    huge = "x" * 1_000_000
    a = refused(servers.dev, '{ node(name: "' + huge + '") { name } }', "LIMIT_EXCEEDED")
    assert "100000 code points" in a.messages[0]
    refused(servers.dev, "#" + huge + "\n{ node { name } }", "LIMIT_EXCEEDED")


def test_large_first_values_are_over_budget(servers: Servers) -> None:
    a = refused(
        servers.dev,
        "{ node { children(first: 100) { children(first: 100) { name } } } }",
        "LIMIT_EXCEEDED",
    )
    # 1 (node) + 1 (children) + 100 * (1 + 100 * 1)
    assert a.messages[0] == "the operation's estimated cost is 10102; the budget is 5000"
    refused(
        servers.dev,
        "query($n: Int!) { node { children(first: $n) { children(first: $n) { name } } } }",
        "LIMIT_EXCEEDED",
        {"n": 1000},
    )
    # A list argument's length counts like `first`; `children` costs its schema default
    # of 3 items: 1 + 1000 * (1 + 3) is within the budget, one more field is not.
    codes = [f"c{i}" for i in range(1000)]
    fits = ask(servers.dev, "query($c: [String!]!) { nodes(codes: $c) { children { name } } }",
               {"c": codes})
    assert len(fits.body["data"]["nodes"]) == 1000
    a = refused(servers.dev,
                "query($c: [String!]!) { nodes(codes: $c) { name children { name } } }",
                "LIMIT_EXCEEDED", {"c": codes})
    assert a.messages[0] == "the operation's estimated cost is 5001; the budget is 5000"


def test_the_cost_table_is_data_a_deployment_extends(servers: Servers) -> None:
    one = ask(servers.priced, "{ node { parent { name } } }")  # 1 + 50 + 1
    assert one.body["data"]["node"]["parent"]["name"] == "root^", one.body
    a = refused(servers.priced, "{ node { parent { name } again: parent { name } } }",
                "LIMIT_EXCEEDED")
    assert a.messages[0] == "the operation's estimated cost is 103; the budget is 100"
    # The same document is cheap where `parent` has the default cost.
    cheap = ask(servers.dev, "{ node { parent { name } again: parent { name } } }")
    assert "errors" not in cheap.body


def test_documents_that_crash_strawberrys_limiters_are_refused_cleanly(
    servers: Servers,
) -> None:
    # QueryDepthLimiter raises ValueError on an empty selection set and KeyError on an
    # unknown fragment; the walk refuses both first, with a validation code.
    refused(servers.dev, "{ node { } }", "GRAPHQL_VALIDATION_FAILED")
    a = refused(servers.dev, "{ node { ...Nope } }", "GRAPHQL_VALIDATION_FAILED")
    assert a.messages == ["Unknown fragment 'Nope'."]


def test_strawberrys_limiters_report_limit_exceeded(servers: Servers) -> None:
    a = refused(servers.backstop, "{ node { children { children { children { name } } } } }",
                "LIMIT_EXCEEDED")
    assert "maximum operation depth of 3" in a.messages[0]
    a = refused(servers.backstop, "{ node { a: name b: name c: name } }", "LIMIT_EXCEEDED")
    assert "3 aliases found" in a.messages[0]


# -- legitimate documents -----------------------------------------------------------------


def test_queries_within_limits_are_answered(servers: Servers) -> None:
    for url in (servers.dev, servers.prod):
        a = ask(
            url,
            "query Tree($n: Int!) { node(name: \"r\") { name ...Kids parent { name } } } "
            "fragment Kids on Node { children(first: $n) { name children(first: 2) { name } } }",
            {"n": 4},
        )
        assert a.status == 200 and "errors" not in a.body, a.body
        node = a.body["data"]["node"]
        assert [c["name"] for c in node["children"]] == ["r.0", "r.1", "r.2", "r.3"]
        assert node["children"][3]["children"][1]["name"] == "r.3.1"
        assert node["parent"]["name"] == "r^"
        ten_deep = "{ node { " + "children(first: 1) { " * 9 + "name" + " }" * 9 + " } }"
        a = ask(url, ten_deep)
        assert "errors" not in a.body, a.body
        b = ask(url, "query($c: [String!]!) { nodes(codes: $c) { name } }",
                {"c": [f"c{i}" for i in range(500)]})
        assert len(b.body["data"]["nodes"]) == 500


# -- production mode ----------------------------------------------------------------------


def test_production_refuses_introspection(servers: Servers) -> None:
    a = refused(servers.prod, "{ __schema { types { name } } }", "GRAPHQL_VALIDATION_FAILED")
    assert "introspection has been disabled" in a.messages[0]
    refused(servers.prod, '{ __type(name: "Node") { fields { name } } }',
            "GRAPHQL_VALIDATION_FAILED")
    # __typename is not introspection of the schema and stays available.
    assert ask(servers.prod, "{ node { __typename } }").body["data"]["node"] == {
        "__typename": "Node"
    }


def test_outside_production_introspection_works(servers: Servers) -> None:
    a = ask(servers.dev, "{ __schema { types { name fields { name } } } }")
    names = {t["name"] for t in a.body["data"]["__schema"]["types"]}
    assert {"Query", "Node"} <= names


def test_production_errors_suggest_no_names(servers: Servers) -> None:
    for query in (
        "{ node { nam } }",  # unknown field
        "{ node { children(firs: 2) { name } } }",  # unknown argument
        "query($x: Strin) { node(name: $x) { name } }",  # unknown type
    ):
        dev = ask(servers.dev, query)
        assert "Did you mean" in dev.messages[0], dev.body
        prod = refused(servers.prod, query, "GRAPHQL_VALIDATION_FAILED")
        assert all("Did you mean" not in m for m in prod.messages), prod.body
    assert ask(servers.prod, "{ node { nam } }").messages == [
        "Cannot query field 'nam' on type 'Node'."
    ]


# -- rate limiter -------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_says_when_to_retry() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, 5, clock=clock)
    for _ in range(5):
        limiter.check("bank")
    with pytest.raises(RateLimited) as refused_once:
        limiter.check("bank")
    assert refused_once.value.code == "RATE_LIMITED"
    assert "retry after 0.50 s" in refused_once.value.message
    assert limiter.retry_after("bank") == pytest.approx(0.5)


def test_rate_limiter_refills_as_time_passes() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, 5, clock=clock)
    for _ in range(5):
        limiter.check("bank")
    clock.now += 0.5  # one token back
    limiter.check("bank")
    with pytest.raises(RateLimited):
        limiter.check("bank")
    clock.now += 60  # full again, but never above the burst
    for _ in range(5):
        limiter.check("bank")
    with pytest.raises(RateLimited):
        limiter.check("bank")


def test_rate_limiter_keys_are_independent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, 2, clock=clock)
    limiter.check("bank")
    limiter.check("bank")
    with pytest.raises(RateLimited):
        limiter.check("bank")
    limiter.check("client:10.0.0.7")
    limiter.check("client:10.0.0.7")
    with pytest.raises(RateLimited):
        limiter.check("client:10.0.0.7")


def test_rate_limiter_memory_stays_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, 10, clock=clock, max_keys=1000)
    for i in range(5000):
        limiter.check(f"client:{i}")
    assert len(limiter) == 1000
    # Idle keys whose buckets are full again are dropped as soon as anyone is checked.
    clock.now += 1.0
    limiter.check("bank")
    assert len(limiter) == 1
    # An evicted key starts again with a full burst, like a key never seen.
    for _ in range(10):
        limiter.check("client:4999")


def test_rate_limiter_is_thread_safe() -> None:
    limiter = RateLimiter(0.001, 100, clock=FakeClock())
    allowed: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(50):
            try:
                limiter.check("shared")
            except RateLimited:
                continue
            with lock:
                allowed.append(1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 100
