"""Prometheus metrics, read back from `/metrics` the way Prometheus scrapes them.

The app is a small schema served by a real uvicorn over the real engine: the graph is
loaded through the instrumented store and read through it by a resolver, so engine
latency, request counts, latency histograms and error codes are all real observations.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client.parser import text_string_to_metric_families
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import GraphQLRouter
from strawberry.types import Info

from api.errors import ErrorCodes
from api.hardening import Limits, schema_config, schema_extensions
from api.metrics import InstrumentedStore, Metrics, metrics_response
from graph.store import GraphStore
from loaders.pipeline import load_files
from queries.subjects import GET_SUBJECT
from schema.errors import NotFound
from schema.policy import load_policy
from tests.builders import entity, uscc_code
from tests.live_server import serve_in_thread

CO = uscc_code(701)


@strawberry.type
class Company:
    code: str
    name: str


@strawberry.type
class Query:
    @strawberry.field
    async def company(self, info: Info[dict[str, Any], None], code: str) -> Company:
        store: GraphStore = info.context["store"]
        rows = await run_in_threadpool(store.read, GET_SUBJECT, {"code": code})
        if not rows:
            raise NotFound(f"no subject with code {code}")
        props = rows[0]["subject"]
        return Company(code=props["code"], name=props["name"])


def make_app(store: GraphStore, metrics: Metrics) -> FastAPI:
    schema = strawberry.Schema(
        query=Query,
        config=schema_config(False),
        extensions=[
            *schema_extensions(production=False, limits=Limits()),
            metrics.extension,
            ErrorCodes,
        ],
    )

    async def context() -> dict[str, Any]:
        return {"store": store}

    app = FastAPI()
    app.include_router(GraphQLRouter(schema, context_getter=context, graphql_ide=None),
                       prefix="/graphql")

    @app.get("/metrics")
    async def scrape() -> Response:
        return metrics_response(metrics)

    return app


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    r = httpx.get(f"{url}/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


@dataclass
class Service:
    url: str
    metrics: Metrics
    store: InstrumentedStore

    def ask(self, query: str, variables: dict[str, Any] | None = None,
            operation: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation:
            payload["operationName"] = operation
        r = httpx.post(f"{self.url}/graphql", json=payload, timeout=30)
        assert r.status_code < 500, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def service(
    store: GraphStore, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Service]:
    metrics = Metrics()
    instrumented = metrics.instrument(store)
    summary = load_files(instrumented, [write_jsonl([entity(CO, "南通宏达建设工程有限公司")])],
                         policy=load_policy("nantong"), provider="t")
    assert summary.rejected_total == 0 and summary.loaded == 1
    with serve_in_thread(make_app(instrumented, metrics)) as url:
        yield Service(url, metrics, instrumented)


LOOKUP = "query Lookup($code: String!) { company(code: $code) { code name } }"


def test_requests_latency_and_error_codes_are_exposed(service: Service) -> None:
    for _ in range(2):
        body = service.ask(LOOKUP, {"code": CO}, "Lookup")
        assert body["data"]["company"]["name"] == "南通宏达建设工程有限公司"
    missing = service.ask(LOOKUP, {"code": uscc_code(702)})
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    typo = service.ask("query Typo { company(code: \"x\") { nam } }")
    assert typo["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    aliased = service.ask("query Big { " + " ".join(
        f"c{i}: company(code: \"x\") {{ code }}" for i in range(40)) + " }")
    assert aliased["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"

    s = scrape(service.url)
    assert value(s, "credit_graph_graphql_requests_total",
                 operation="Lookup", outcome="ok") == 2
    assert value(s, "credit_graph_graphql_requests_total",
                 operation="Lookup", outcome="error") == 1
    assert value(s, "credit_graph_graphql_requests_total", operation="Typo") == 1
    assert value(s, "credit_graph_graphql_requests_total", operation="Big") == 1
    assert value(s, "credit_graph_graphql_request_duration_seconds_count",
                 operation="Lookup") == 3
    assert value(s, "credit_graph_graphql_request_duration_seconds_sum",
                 operation="Lookup") > 0
    assert value(s, "credit_graph_graphql_request_duration_seconds_bucket",
                 operation="Lookup", le="+Inf") == 3
    assert value(s, "credit_graph_graphql_errors_total", code="NOT_FOUND") == 1
    assert value(s, "credit_graph_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert value(s, "credit_graph_graphql_errors_total", code="LIMIT_EXCEEDED") == 1


def test_engine_reads_and_writes_are_timed(service: Service) -> None:
    engine = service.store.engine_name
    before = scrape(service.url)
    # The load in the fixture wrote through the instrumented store.
    assert value(before, "credit_graph_engine_duration_seconds_count",
                 engine=engine, kind="write", outcome="ok") >= 1
    reads = value(before, "credit_graph_engine_duration_seconds_count",
                  engine=engine, kind="read", outcome="ok")
    service.ask(LOOKUP, {"code": CO}, "Lookup")
    service.ask(LOOKUP, {"code": CO}, "Lookup")
    after = scrape(service.url)
    assert value(after, "credit_graph_engine_duration_seconds_count",
                 engine=engine, kind="read", outcome="ok") == reads + 2
    # A failing call is timed as an error and still raised to the caller.
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        service.store.read(GET_SUBJECT, {})
    failed = scrape(service.url)
    assert value(failed, "credit_graph_engine_duration_seconds_count",
                 engine=engine, kind="read", outcome="error") == 1


def test_the_instrumented_store_behaves_like_the_store(service: Service) -> None:
    s = service.store
    assert s.engine_name == s.inner.engine_name and s.dialect is s.inner.dialect
    s.ping()
    assert s.read(GET_SUBJECT, {"code": CO})[0]["subject"]["code"] == CO
    assert s.read(GET_SUBJECT, {"code": uscc_code(703)}) == []


def test_operation_names_cannot_grow_the_registry(store: GraphStore) -> None:
    metrics = Metrics(max_operations=3)
    with serve_in_thread(make_app(metrics.instrument(store), metrics)) as url:
        for i in range(6):
            r = httpx.post(f"{url}/graphql", json={
                "query": f"query Op{i} {{ company(code: \"x\") {{ code }} }}"}, timeout=30)
            assert r.status_code == 200
        s = scrape(url)
    ops = {dict(ls)["operation"] for (n, ls) in s if n == "credit_graph_graphql_requests_total"}
    assert ops == {"Op0", "Op1", "Op2", "other"}
    assert value(s, "credit_graph_graphql_requests_total", operation="other") == 3


def test_two_apps_in_one_process_keep_their_own_metrics(service: Service) -> None:
    other = Metrics()
    other.record_request("Elsewhere", "ok", [], 0.01)
    service.ask(LOOKUP, {"code": CO}, "Lookup")
    mine = scrape(service.url)
    assert value(mine, "credit_graph_graphql_requests_total", operation="Elsewhere") == 0
    assert b'operation="Elsewhere"' in other.exposition()
    assert b'operation="Lookup"' not in other.exposition()


WORKER = textwrap.dedent("""
    import sys
    from api.metrics import Metrics
    m = Metrics()
    assert m.multiprocess
    m.record_request("Lookup", "ok", [], 0.02)
    m.record_request("Lookup", "error", ["RATE_LIMITED"], 0.001)
    m.observe_engine("falkordb", "read", "ok", 0.003)
""")

SCRAPER = textwrap.dedent("""
    import sys
    from api.metrics import Metrics
    sys.stdout.write(Metrics().exposition().decode())
""")


def test_several_worker_processes_are_summed(tmp_path: Path) -> None:
    """What `serve --workers N` does: each worker writes, any worker answers the scrape."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(WORKER)
    run(WORKER)
    text = run(SCRAPER)
    s: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            s[(sample.name, frozenset(sample.labels.items()))] = sample.value
    assert value(s, "credit_graph_graphql_requests_total", operation="Lookup", outcome="ok") == 2
    assert value(s, "credit_graph_graphql_errors_total", code="RATE_LIMITED") == 2
    assert value(s, "credit_graph_engine_duration_seconds_count", engine="falkordb") == 2
    assert value(s, "credit_graph_graphql_request_duration_seconds_count",
                 operation="Lookup") == 4
