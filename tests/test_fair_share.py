"""The fair share (api/fair_share.py): a key that floods heavy queries is held back with
LIMIT_EXCEEDED while other keys' checks are still answered; and the mechanism itself,
driven step by step with a hand-moved clock (no timing assertions)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from strawberry.types import ExecutionResult

from api.app import create_app
from api.audit import AuditLog
from api.fair_share import FairShare, is_expensive
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.errors import LimitExceeded
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, role, uscc_code
from tests.live_server import serve_in_thread

A, B, C = uscc_code(901), uscc_code(902), uscc_code(903)
P = person_code(904)

CHECK = "query($c: String!) { checkSanctions(code: $c) { code restricted } }"
DEEP_PATHS = """query($a: String!, $b: String!) {
  paths(fromCode: $a, toCode: $b, maxHops: 6, first: 20) { length nodes { code } } }"""
PATHS = """query($a: String!, $b: String!) { paths(fromCode: $a, toCode: $b) { length } }"""
ALWAYS = frozenset({"communities", "riskScores", "controlChain"})


# ---------------------------------------------------------------------------------------
# Over HTTP


@dataclass
class Service:
    flooder: Client
    other: Client
    audit_dir: Path
    url: str


@pytest.fixture
def service(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Service]:
    rows = [
        entity(A, "甲有限公司"), entity(B, "乙有限公司"), entity(C, "丙有限公司"),
        person(P, "赵六"),
        role(A, P, "legal_representative", "2018-01-01"),
        role(B, P, "director", "2019-01-01"),
        role(C, A, "shareholder", "2018-01-01", share_ratio=0.5),
    ]
    load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
               today=china_today())
    flooder = make_key(store, "agency", "flooder")
    other = make_key(store, "agency", "procurement")
    # A share so small that one heavy request leaves the key in debt for days, no
    # waiting, and another key counted as being served for an hour after its request:
    # from the second heavy request on, the flooder is over its share whatever the
    # timing, so the outcome does not depend on how fast this machine is.
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong",
                             fair_share_busy_share=1e-6, fair_share_busy_burst_s=0,
                             fair_share_wait_s=0, fair_share_idle_s=3600)
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Service(Client(url, flooder), Client(url, other), settings.audit_path, url)


def outcome(client: Client, query: str, variables: dict[str, Any]) -> str:
    """``ok`` or the error code; any other status than 200 fails the test."""
    r = client.post(query, variables)
    assert r.status_code == 200, r.text
    body = r.json()
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    assert body["data"] is not None
    return "ok"


def test_a_flooding_key_is_limited_while_another_keys_checks_are_answered(
    service: Service,
) -> None:
    assert service.other.data(CHECK, {"c": C})["checkSanctions"]["code"] == C
    with ThreadPoolExecutor(max_workers=6) as pool:
        flood = list(pool.map(lambda _: outcome(service.flooder, DEEP_PATHS, {"a": A, "b": B}),
                              range(12)))
    # The first heavy request is served; the others are over the key's share.
    assert set(flood) == {"ok", "LIMIT_EXCEEDED"}
    assert flood.count("ok") == 1
    # Another key is not held back by the flooder's debt: its checks and its own heavy
    # query are answered, and so are the flooder's checks (cheap requests are not held).
    for code in (A, B, C, P):
        assert service.other.data(CHECK, {"c": code})["checkSanctions"]["code"] == code
    found = service.other.data(DEEP_PATHS, {"a": A, "b": B})["paths"]
    assert found and found[0]["nodes"][0]["code"] == A
    assert service.flooder.data(CHECK, {"c": A})["checkSanctions"]["code"] == A
    # A path search of the default size is ordinary traffic for the flooder too.
    assert outcome(service.flooder, PATHS, {"a": A, "b": B}) == "ok"


def test_a_refusal_says_why_and_is_audited_as_refused(service: Service) -> None:
    assert outcome(service.other, CHECK, {"c": A}) == "ok"
    assert outcome(service.flooder, DEEP_PATHS, {"a": A, "b": C}) == "ok"
    r = service.flooder.post(DEEP_PATHS, {"a": A, "b": C})
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "share" in error["message"] and "retry after" in error["message"]
    assert r.json()["data"] is None
    with AuditLog(service.audit_dir) as log:
        mine = log.query(key_name="flooder", first=5)
    assert [e.outcome for e in mine[:2]] == ["refused:LIMIT_EXCEEDED", "ok"]
    # An operator sees the refusal in /metrics too (the schema never ran for it).
    scraped = httpx.get(f"{service.url}/metrics", timeout=10).text
    assert _sample(scraped, 'credit_graph_graphql_errors_total{code="LIMIT_EXCEEDED"}') == 1
    assert _sample(scraped, 'credit_graph_graphql_requests_total{operation="anonymous",'
                            'outcome="refused"}') == 1


def _sample(exposition: str, name: str) -> float:
    """One sample of the Prometheus text format; 0 when the series is absent."""
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_key_alone_may_use_the_whole_worker(service: Service) -> None:
    # Nobody else has asked anything: the time share holds nobody back for nobody's good.
    runs = [outcome(service.flooder, DEEP_PATHS, {"a": A, "b": B}) for _ in range(3)]
    assert runs == ["ok"] * 3
    # Once another key is served, the debt the flooder ran up counts.
    assert outcome(service.other, CHECK, {"c": A}) == "ok"
    assert outcome(service.flooder, DEEP_PATHS, {"a": A, "b": B}) == "LIMIT_EXCEEDED"


def test_with_the_fair_share_off_every_heavy_request_is_answered(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> None:
    rows = [entity(A, "甲有限公司"), entity(B, "乙有限公司"), person(P, "赵六"),
            role(A, P, "legal_representative", "2018-01-01"),
            role(B, P, "director", "2019-01-01")]
    load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
               today=china_today())
    key, other = make_key(store, "agency", "analyst"), make_key(store, "agency", "other")
    settings = load_settings(data_dir=tmp_path / "data", fair_share=False,
                             fair_share_busy_share=1e-6, fair_share_busy_burst_s=0,
                             fair_share_wait_s=0, fair_share_idle_s=3600)
    with serve_in_thread(create_app(settings, store=store)) as url:
        assert outcome(Client(url, other), CHECK, {"c": A}) == "ok"
        client = Client(url, key)
        assert [outcome(client, DEEP_PATHS, {"a": A, "b": B}) for _ in range(3)] == ["ok"] * 3


# ---------------------------------------------------------------------------------------
# The mechanism


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def share(**kw: Any) -> FairShare:
    options: dict[str, Any] = {"per_key": 1, "wait_s": 0.0, "fields": ALWAYS} | kw
    return FairShare(**options)


def refused(coro: Any) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as e:
        asyncio.run(coro)
    return e.value


def test_what_counts_as_expensive() -> None:
    def heavy(query: str, variables: dict[str, Any] | None = None) -> bool:
        return is_expensive(query, variables, ALWAYS)

    assert not heavy('{ checkSanctions(code: "x") { code } }')
    assert not heavy('{ paths(fromCode: "a", toCode: "b", maxHops: 4, first: 5) { length } }')
    assert heavy('{ paths(fromCode: "a", toCode: "b", maxHops: 5) { length } }')
    assert heavy("query($h: Int!) { neighborhood(code: \"a\", hops: $h) { truncated } }",
                 {"h": 3})
    assert not heavy("query($h: Int!) { neighborhood(code: \"a\", hops: $h) { truncated } }",
                     {"h": 1})
    batch = "query($c: [String!]!) { checkSanctionsBatch(codes: $c) { code } }"
    assert not heavy(batch, {"c": ["x"] * 100})
    assert heavy(batch, {"c": ["x"] * 101})
    assert heavy("{ communities { rank } }")
    # Hidden behind fragments at the root, or next to a cheap field: still found.
    assert heavy("query { ...F } fragment F on Query { ... on Query { riskScores { code } } }")
    assert heavy('{ whoami { role } checkSanctions(code: "x") { code } controlChain(code: "x")'
                 " { code } }")
    # Not a document: the schema refuses it, nothing to share.
    assert not heavy("{ communities { ")
    assert not heavy("")


def test_one_expensive_request_at_a_time_per_key() -> None:
    fs = share()

    async def scenario() -> None:
        await fs.acquire("flooder")
        assert fs.running("flooder") == 1
        with pytest.raises(LimitExceeded) as e:
            await fs.acquire("flooder")
        assert "at most 1 at a time" in e.value.message
        await fs.acquire("other")  # another key is not held back
        fs.release("flooder", 0.0)
        await fs.acquire("flooder")  # its turn came back
        fs.release("flooder", 0.0)
        fs.release("other", 0.0)

    asyncio.run(scenario())
    assert len(fs) == 0  # idle keys that owe nothing are forgotten


def test_a_waiting_request_gets_the_turn_in_arrival_order() -> None:
    fs = share(wait_s=60.0)
    order: list[str] = []

    async def second(name: str) -> None:
        await fs.acquire("k")
        order.append(name)

    async def scenario() -> None:
        await fs.acquire("k")
        waiting = [asyncio.create_task(second(n)) for n in ("b", "c")]
        await asyncio.sleep(0)
        assert fs.waiting("k") == 2 and order == []
        fs.release("k", 0.0)
        await waiting[0]
        assert order == ["b"] and fs.running("k") == 1 and fs.waiting("k") == 1
        fs.release("k", 0.0)
        await waiting[1]
        assert order == ["b", "c"]
        fs.release("k", 0.0)

    asyncio.run(scenario())
    assert len(fs) == 0


def test_a_cancelled_waiter_does_not_lose_the_turn() -> None:
    fs = share(wait_s=60.0)

    async def scenario() -> None:
        await fs.acquire("k")
        task = asyncio.create_task(fs.acquire("k"))
        await asyncio.sleep(0)
        task.cancel()  # its request timed out while it waited
        with pytest.raises(asyncio.CancelledError):
            await task
        fs.release("k", 0.0)
        assert fs.running("k") == 0
        await fs.acquire("k")  # free again, at once
        fs.release("k", 0.0)

    asyncio.run(scenario())


async def answered() -> ExecutionResult:
    return ExecutionResult(data={"ok": True}, errors=None)


CHEAP = '{ checkSanctions(code: "x") { code } }'


def test_a_key_over_its_share_of_time_waits_until_it_has_paid_it_back() -> None:
    clock = Clock()
    fs = share(share=0.5, burst_s=1.0, idle_s=3600.0, clock=clock)

    async def take() -> None:
        await fs.acquire("k")

    asyncio.run(fs.run("other", CHEAP, None, answered()))  # another key is being served
    asyncio.run(take())
    fs.release("k", 3.0)  # a 3-second analysis
    assert fs.debt("k") == pytest.approx(3.0)
    e = refused(take())
    assert "share of 50%" in e.message and "retry after 4.00 s" in e.message
    assert fs.running("k") == 0  # the refused request gave its turn back
    clock.now += 3.0  # 1.5 s paid back: still 0.5 s over the burst
    assert "retry after 1.00 s" in refused(take()).message
    clock.now += 1.0
    asyncio.run(take())  # back within the burst
    fs.release("k", 0.0)
    clock.now += 10.0
    assert fs.debt("k") == 0.0
    assert fs.debt("other") == 0.0


def test_the_share_holds_a_key_back_only_while_others_are_served() -> None:
    clock = Clock()
    fs = share(share=0.5, burst_s=0.0, idle_s=1.0, clock=clock)

    async def take() -> None:
        await fs.acquire("k")

    asyncio.run(take())
    fs.release("k", 10.0)  # deep in debt
    assert not fs.others_served("k")
    asyncio.run(take())  # alone: admitted all the same, and charged
    fs.release("k", 1.0)
    assert fs.debt("k") == pytest.approx(11.0)
    asyncio.run(fs.run("other", CHEAP, None, answered()))
    assert fs.others_served("k") and not fs.others_served("other")
    assert "retry after" in refused(take()).message
    clock.now += 1.5  # the other key has not asked for longer than idle_s
    assert not fs.others_served("k")
    asyncio.run(take())
    fs.release("k", 0.0)


def test_a_refused_request_is_never_started() -> None:
    fs = share()
    started: list[bool] = []

    async def work() -> ExecutionResult:
        started.append(True)
        return ExecutionResult(data={"ok": True}, errors=None)

    heavy = "{ communities { rank } }"

    async def scenario() -> tuple[ExecutionResult, Any]:
        await fs.acquire("k")  # another heavy request of the key is running
        late = work()
        result = await fs.run("k", heavy, None, late)
        return result, late

    result, late = asyncio.run(scenario())
    assert result.data is None and result.errors
    assert result.errors[0].extensions == {"code": "LIMIT_EXCEEDED"}
    assert started == [] and inspect.getcoroutinestate(late) == inspect.CORO_CLOSED
    # A cheap request of the same key runs although the heavy one still holds the turn.
    cheap = asyncio.run(fs.run("k", '{ checkSanctions(code: "x") { code } }', None, work()))
    assert cheap.data == {"ok": True} and started == [True]
