"""A page of subjects with their roles, people and records costs a fixed number of
Cypher queries, whatever the page size: the DataLoaders batch every depth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore, Params, Row, Statement
from loaders.pipeline import load_files
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, record, role, uscc_code
from tests.live_server import serve_in_thread

DAY = (china_today() - dt.timedelta(days=20)).isoformat()
N = 100


class CountingStore(GraphStore):
    """The real store, counting the queries that reach it."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.engine_name = inner.engine_name
        self.reads: list[str] = []

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        self.reads.append(query)
        return self.inner.read(query, params)

    def write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        return self.inner.write(statements)

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        pass

    def drop_all(self) -> None:
        self.inner.drop_all()

    def _run_ddl(self, statement: str) -> None:
        self.inner._run_ddl(statement)


PAGE = """
query Page($codes: [String!]!) {
  subjects(codes: $codes) {
    code name
    records { uid kind }
    roles { role entityCode }
    ... on Entity {
      people { role since holder { name code } }
      shareholders { shareRatio holder { name } }
    }
  }
}
"""


@pytest.fixture
def served(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[tuple[Client, CountingStore, list[str]]]:
    rows: list[dict[str, Any]] = []
    codes = []
    for i in range(N):
        co, rep = uscc_code(1000 + i), person_code(1000 + i)
        codes.append(co)
        rows += [
            entity(co, f"南通第{i}号有限公司"),
            person(rep, f"张{i}"),
            role(co, rep, "legal_representative", "2015-01-01"),
            role(co, rep, "shareholder", "2015-01-01", share_ratio=0.6),
            record(f"R{i}", co, DAY, severity="general"),
        ]
    load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
               today=china_today())
    key = make_key(store, "agency", "analyst")
    counting = CountingStore(store)
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=counting)) as url:
        yield Client(url, key), counting, codes


def _queries_for(served: tuple[Client, CountingStore, list[str]], n: int) -> int:
    client, counting, codes = served
    client.data("{ whoami { role } }")  # key and grants resolved (and cached) first
    counting.reads.clear()
    page = client.data(PAGE, {"codes": codes[:n]})["subjects"]
    assert len(page) == n
    assert all(len(s["records"]) == 1 and len(s["people"]) == 1 for s in page)
    assert all(s["people"][0]["holder"]["name"].startswith("张") for s in page)
    return len(counting.reads)


def test_a_page_of_subjects_costs_a_fixed_number_of_queries(
    served: tuple[Client, CountingStore, list[str]],
) -> None:
    small = _queries_for(served, 5)
    full = _queries_for(served, N)
    # subjects, records, roles held, roles in (people and shareholders share it), holders.
    assert full == small
    assert full <= 6
