"""Shared fixtures: one real embedded engine per test session, a fresh graph per test.

The store fixture is parametrised over engines, so every behaviour test is written once
and runs against the embedded FalkorDB and, when ``CREDIT_GRAPH_TEST_NEO4J_URI`` is set,
against Neo4j; without it the Neo4j runs are reported as skipped with that reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from graph.store import GraphStore

NEO4J_ENV = "CREDIT_GRAPH_TEST_NEO4J_URI"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEngine]:
    eng = EmbeddedEngine(tmp_path_factory.mktemp("engine"))
    eng.ensure_running()
    yield eng
    eng.stop(force=True)


def _neo4j_store() -> GraphStore:
    from graph.neo4j_store import Neo4jStore

    uri = os.environ.get(NEO4J_ENV)
    if not uri:
        pytest.skip(f"{NEO4J_ENV} is not set: the Neo4j run of this behaviour test was skipped")
    return Neo4jStore(
        uri,
        os.environ.get("CREDIT_GRAPH_TEST_NEO4J_USER", "neo4j"),
        os.environ.get("CREDIT_GRAPH_TEST_NEO4J_PASSWORD", ""),
        os.environ.get("CREDIT_GRAPH_TEST_NEO4J_DATABASE") or None,
    )


@contextmanager
def _fresh(s: GraphStore) -> Iterator[GraphStore]:
    """A bootstrapped, empty graph, wiped again afterwards."""
    s.bootstrap()
    try:
        yield s
    finally:
        s.drop_all()
        s.close()


def _falkor_graph(engine: EmbeddedEngine) -> GraphStore:
    """Each test gets its own named graph in the session's engine."""
    return FalkorStore.from_socket(str(engine.socket_path), graph_name=f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["falkordb", "neo4j"])
def store(request: pytest.FixtureRequest, engine: EmbeddedEngine) -> Iterator[GraphStore]:
    if request.param == "neo4j":
        s = _neo4j_store()
        s.drop_all()
    else:
        s = _falkor_graph(engine)
    with _fresh(s) as fresh:
        yield fresh


@pytest.fixture
def write_jsonl(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write rows to a real .jsonl file on disk and return its path."""
    import json

    counter = iter(range(10_000))

    def _write(rows: list[dict[str, object]], name: str | None = None) -> Path:
        path = tmp_path / (name or f"submission_{next(counter)}.jsonl")
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path

    return _write


#: Debian's Chromium, which the browser tests drive (never a downloaded one).
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per browser-test module."""
    # A required test: a missing browser is a failure to set up, not a reason to skip.
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: `make browser` installs it")
    from playwright import sync_api as playwright_api
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            yield b
        finally:
            b.close()
