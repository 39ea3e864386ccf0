"""Requests the service refuses by their shape, over real HTTP against the real app: a
body larger than any useful request (api/body_limit.py), and a document of several
operations that does not say which one to run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, uscc_code
from tests.live_server import serve_in_thread

CO = uscc_code(9501)
CHECK = "query Check($c: String!) { checkSanctions(code: $c) { code restricted } }"


@dataclass
class Served:
    url: str
    operator: Client

    def raw(self, body: Any, **headers: str) -> httpx.Response:
        return httpx.post(f"{self.url}/graphql", content=body, timeout=60, headers={
            "content-type": "application/json", "Authorization": f"Bearer {self.operator.key}",
            "X-Purpose": "limits", **headers,
        })


@pytest.fixture
def served(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Served]:
    load_files(store, [write_jsonl([entity(CO, "南通形状测试有限公司")])],
               policy=load_policy("nantong"), provider="t", today=china_today())
    key = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="nantong")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Served(url, Client(url, key))


def _refused_as_too_large(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text[:300]
    body = r.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    assert "1,048,576 bytes" in body["errors"][0]["message"]


def _big_body() -> bytes:
    return json.dumps({"query": CHECK, "variables": {"c": CO, "pad": "九" * 1_000_000}}).encode()


def test_a_body_over_the_limit_is_refused_unread(served: Served) -> None:
    _refused_as_too_large(served.raw(_big_body()))
    # Sent in chunks with no declared length, it is refused as it streams in.
    body = _big_body()
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    _refused_as_too_large(served.raw(chunks))
    # The service goes on answering.
    assert served.operator.data(CHECK, {"c": CO})["checkSanctions"]["code"] == CO


def test_the_largest_useful_request_fits_under_the_limit(served: Served) -> None:
    # A document at the parse limit (100,000 characters) and a full 1,000-code batch.
    query = "query B($codes: [String!]!) { checkSanctionsBatch(codes: $codes) { code } }"
    query += " " * (99_000 - len(query))
    r = served.raw(json.dumps({"query": query, "variables": {"codes": [CO] * 1000}}))
    assert r.status_code == 200, r.text[:300]
    assert "errors" not in r.json()
    assert len(r.json()["data"]["checkSanctionsBatch"]) == 1000


def test_several_operations_without_an_operation_name_are_refused(served: Served) -> None:
    doc = ("query First($c: String!) { subject(code: $c) { code } } "
           "query Second($c: String!) { checkSanctions(code: $c) { code } }")
    r = served.raw(json.dumps({"query": doc, "variables": {"c": CO}}))
    body = r.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert "operationName" in body["errors"][0]["message"]
    # Naming one runs that one.
    named = served.raw(json.dumps({"query": doc, "variables": {"c": CO},
                                   "operationName": "Second"})).json()
    assert named == {"data": {"checkSanctions": {"code": CO}}}


@pytest.mark.parametrize("day", ["2026-W01-1", "2026W011", "2026-W10", "20240229", "2024-2-29",
                                 "2024-02-30", " 2024-02-29"])
def test_a_date_not_written_yyyy_mm_dd_is_refused_not_read_as_another_day(
    served: Served, day: str
) -> None:
    as_literal = served.raw(json.dumps({
        "query": f'{{ checkSanctions(code: "{CO}", asOf: "{day}") {{ asOf }} }}'}))
    as_variable = served.raw(json.dumps({
        "query": "query($d: Date!) { checkSanctions(code: \"" + CO + "\", asOf: $d) { asOf } }",
        "variables": {"d": day}}))
    for r in (as_literal, as_variable):
        body = r.json()
        assert body.get("data") is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
        assert "YYYY-MM-DD" in body["errors"][0]["message"] or "day is out of range" in \
            body["errors"][0]["message"]


def test_a_date_written_yyyy_mm_dd_is_read(served: Served) -> None:
    q = "query($d: Date!) { checkSanctions(code: \"" + CO + "\", asOf: $d) { asOf } }"
    assert served.operator.data(q, {"d": "2024-02-29"})["checkSanctions"]["asOf"] == "2024-02-29"
