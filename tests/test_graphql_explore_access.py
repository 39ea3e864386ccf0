"""paths, neighborhood and controlChain over HTTP respect who may see natural persons and
mask ID numbers, like every other field (DOMAIN.md section 5)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.codes import mask_code
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, person, person_code, role, uscc_code
from tests.live_server import serve_in_thread

A, B, HOLD = uscc_code(801), uscc_code(802), uscc_code(803)
P = person_code(804)

PATHS = """query($a: String!, $b: String!) { paths(fromCode: $a, toCode: $b) {
  length nodes { code kind } edges { type fromCode toCode since } } }"""
HOOD = """query($c: String!) { neighborhood(code: $c, hops: 2) {
  truncated nodes { code kind } edges { fromCode toCode type } } }"""
CONTROL = """query($c: String!) { controlChain(code: $c) {
  code kind effectiveShare controlling beneficialOwner undisclosed
  chains { holderCode entityCode shareRatio } } }"""


@dataclass
class Views:
    wuhan_public: Client
    wuhan_agency: Client
    wuhan_operator: Client


@pytest.fixture
def views(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Views]:
    # A and B are joined only through the person P (legal representative of both);
    # HOLD owns 40% of A, P owns 60% of A directly.
    rows = [
        entity(A, "甲有限公司"), entity(B, "乙有限公司"), entity(HOLD, "控股有限公司"),
        person(P, "赵六"),
        role(A, P, "legal_representative", "2018-01-01"),
        role(B, P, "legal_representative", "2019-01-01"),
        role(A, P, "shareholder", "2018-01-01", share_ratio=0.6),
        role(A, HOLD, "shareholder", "2018-01-01", share_ratio=0.4),
    ]
    load_files(store, [write_jsonl(rows)], policy=load_policy("wuhan"), provider="t",
               today=china_today())
    agency = make_key(store, "agency", "regulator")
    operator = make_key(store, "operator", "ops")
    settings = load_settings(data_dir=tmp_path / "data", policy="wuhan")
    with serve_in_thread(create_app(settings, store=store)) as url:
        yield Views(Client(url, None, purpose=None), Client(url, agency), Client(url, operator))


def test_a_path_through_a_hidden_person_is_not_shown(views: Views) -> None:
    assert views.wuhan_public.data(PATHS, {"a": A, "b": B})["paths"] == []
    paths = views.wuhan_agency.data(PATHS, {"a": A, "b": B})["paths"]
    assert paths and paths[0]["length"] == 2
    assert [n["code"] for n in paths[0]["nodes"]] == [A, mask_code(P), B]
    assert {(e["fromCode"], e["toCode"]) for e in paths[0]["edges"]} >= {
        (mask_code(P), A), (mask_code(P), B)
    }
    clear = views.wuhan_operator.data(PATHS, {"a": A, "b": B})["paths"]
    assert [n["code"] for n in clear[0]["nodes"]] == [A, P, B]


def test_a_neighbourhood_leaves_out_what_the_caller_may_not_see(views: Views) -> None:
    public = views.wuhan_public.data(HOOD, {"c": A})["neighborhood"]
    assert {n["kind"] for n in public["nodes"]} == {"entity"}
    assert {n["code"] for n in public["nodes"]} == {A, HOLD}
    agency = views.wuhan_agency.post(HOOD, {"c": A})
    hood = agency.json()["data"]["neighborhood"]
    assert {n["code"] for n in hood["nodes"]} == {A, HOLD, B, mask_code(P)}
    assert P not in agency.text


def test_control_chain_hides_persons_behind_an_anonymous_aggregate(views: Views) -> None:
    public = views.wuhan_public.post(CONTROL, {"c": A})
    owners = {(o["code"], o["undisclosed"]): o for o in public.json()["data"]["controlChain"]}
    hidden = owners[(None, True)]
    assert hidden["effectiveShare"] == pytest.approx(0.6)
    assert hidden["controlling"] is False and hidden["beneficialOwner"] is False
    assert owners[(HOLD, False)]["effectiveShare"] == pytest.approx(0.4)
    assert mask_code(P) not in public.text and "赵六" not in public.text
    seen = views.wuhan_agency.data(CONTROL, {"c": A})["controlChain"]
    person_owner = next(o for o in seen if o["kind"] == "person")
    assert person_owner["code"] == mask_code(P)
    assert person_owner["controlling"] is True and person_owner["beneficialOwner"] is True


def test_asking_for_a_hidden_person_is_forbidden(views: Views) -> None:
    assert views.wuhan_public.error_code(HOOD, {"c": P}) == "FORBIDDEN"
    assert views.wuhan_public.error_code(PATHS, {"a": P, "b": A}) == "FORBIDDEN"
    far = ("query($a: String!, $b: String!) "
           "{ paths(fromCode: $a, toCode: $b, maxHops: 9) { length } }")
    assert views.wuhan_agency.error_code(far, {"a": A, "b": B}) == "LIMIT_EXCEEDED"
