"""Hostile input at ``/graphql`` against the real schema, the real app and a loaded graph.

Three kinds of attack, each answered without a 5xx and with a coded error:

- schemathesis generates documents for every query and mutation field of the schema
  (as an operator with a purpose, and as the public); ``CREDIT_GRAPH_FUZZ_EXAMPLES``
  sets the examples per field and caller (small by default, for CI; raise it for the
  reliability run);
- malformed requests: broken documents, invalid UTF-8, wrong content types, empty and
  huge bodies, random bytes;
- Cypher injection strings in every string argument of every query field (found by
  introspection, so a new field is covered without touching this file), and in the
  text a caller may write through mutations: the graph keeps exactly the nodes and
  relationships the mutation writes with harmless text, and the text comes back as sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.graphql_schema import build_schema
from api.settings import load_settings
from graph.store import GraphStore
from loaders.demo import load_demo
from schema.policy import load_policy
from schema.workdays import china_today
from tests.api_client import Client, make_key
from tests.hostile_payloads import PAYLOADS, UNSTORABLE
from tests.live_server import serve_in_thread

#: Examples per field and caller in the schemathesis run.
FUZZ_EXAMPLES = int(os.environ.get("CREDIT_GRAPH_FUZZ_EXAMPLES", "3"))
PURPOSE = "测试: 恶意输入"
_JSON = "application/json"

# -- the service under attack ---------------------------------------------------------


@dataclass
class Served:
    url: str
    store: GraphStore
    operator: str
    graphql: schemathesis.graphql.GraphQLSchema  # type: ignore[name-defined]

    def client(self, key: str | None = None) -> Client:
        return Client(self.url, key=key, purpose=PURPOSE if key else None)

    def post(self, query: str, variables: dict[str, Any]) -> httpx.Response:
        """As the operator; the body escaped to ASCII so even a lone surrogate is sent."""
        headers: dict[str, bytes] = {
            "content-type": _JSON.encode(),
            "Authorization": f"Bearer {self.operator}".encode(),
            "X-Purpose": PURPOSE.encode(),
        }
        return httpx.post(
            f"{self.url}/graphql",
            content=json.dumps({"query": query, "variables": variables}).encode(),
            headers=headers,  # type: ignore[arg-type]
            timeout=60,
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, engine: object) -> Iterator[Served]:
    """The demo graph served by a non-production app (introspection on, so the schema
    can be enumerated), with the rate limit out of the fuzzer's way."""
    from tests.conftest import _falkor_graph

    store: GraphStore = _falkor_graph(engine)  # type: ignore[arg-type]
    store.bootstrap()
    cfg = load_settings(
        data_dir=tmp_path_factory.mktemp("hostile-graphql"),
        production=False,
        rate_limit_per_s=100_000,
        rate_limit_burst=100_000,
        request_timeout_s=30,
    )
    try:
        load_demo(store, load_policy(cfg.policy))
        operator = make_key(store, "operator", "fuzz-operator")
        with serve_in_thread(create_app(cfg, store=store)) as url:
            loaded = schemathesis.graphql.from_url(f"{url}/graphql", timeout=60)
            yield Served(url, store, operator, loaded)
    finally:
        store.drop_all()
        store.close()


def _graph_census(store: GraphStore) -> Counter[str]:
    """Nodes by label set and relationships by type: what an injection would change."""
    census: Counter[str] = Counter()
    for row in store.read("MATCH (n) RETURN labels(n) AS l, count(n) AS c"):
        census["node:" + ":".join(sorted(row["l"]))] += int(row["c"])
    for row in store.read("MATCH ()-[r]->() RETURN type(r) AS t, count(r) AS c"):
        census["rel:" + str(row["t"])] += int(row["c"])
    return census


def _assert_coded(response: httpx.Response | Any) -> dict[str, Any] | None:
    """No 5xx; a JSON body's errors each carry ``extensions.code`` (not ``INTERNAL``);
    no stack trace."""
    assert response.status_code < 500, response.text[:2000]
    assert "Traceback" not in response.text
    try:
        body = response.json()
    except ValueError:
        assert 400 <= response.status_code < 500, response.text[:500]
        return None
    if not isinstance(body, dict):
        assert 400 <= response.status_code < 500, response.text[:500]
        return None
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        # INTERNAL is the code of an exception nobody expected: a bug, even if not a 500.
        assert code and code != "INTERNAL", error
    return body


# -- 1. schemathesis over every field -------------------------------------------------

_SCHEMA = build_schema(production=False)._schema
FIELDS = [f"Query.{name}" for name in _SCHEMA.query_type.fields] + [  # type: ignore[union-attr]
    f"Mutation.{name}" for name in (_SCHEMA.mutation_type.fields if _SCHEMA.mutation_type else {})
]


@pytest.mark.parametrize("caller", ["operator", "public"])
@pytest.mark.parametrize("label", FIELDS)
def test_schemathesis_field_never_5xx(served: Served, label: str, caller: str) -> None:
    operation = served.graphql.find_operation_by_label(label)
    assert operation is not None, f"schemathesis does not see {label}"
    headers: dict[str, bytes] = {}
    if caller == "operator":
        headers = {"X-Purpose": PURPOSE.encode(),
                   "Authorization": f"Bearer {served.operator}".encode()}
    seen: list[int] = []

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case: Any) -> None:
        response = case.call(headers=headers, timeout=60)
        seen.append(response.status_code)
        _assert_coded(response)

    fuzz()
    assert seen, f"no request was made for {label}"


# -- 2. malformed requests ------------------------------------------------------------

MALFORMED: dict[str, tuple[bytes, str]] = {
    "unterminated string": (b'{"query": "{ subject(code: \\"9132) { code } }"}', _JSON),
    "unterminated selection": (b'{"query": "{ subject(code: \\"x\\") { code "}', _JSON),
    "only braces, 100k deep": (
        json.dumps({"query": "{" * 100_000 + "}" * 100_000}).encode(), _JSON
    ),
    "list values 10k deep": (
        json.dumps({"query": "{ subjects(codes: " + "[" * 10_000 + "]" * 10_000 + ") { code } }"})
        .encode(), _JSON
    ),
    "JSON nested 100k deep": (b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", _JSON),
    "invalid UTF-8 in the query": (b'{"query": "{ subject(code: \\"\xff\xfe\xc3\\") { code } }"}',
                                   _JSON),
    "lone surrogate escape": (b'{"query": "{ subject(code: \\"\\ud800\\") { code } }"}', _JSON),
    "null byte in the document": (b'{"query": "{ whoami { role } }\\u0000"}', _JSON),
    "variables not an object": (b'{"query": "{ whoami { role } }", "variables": [1]}', _JSON),
    "variables of the wrong type": (
        b'{"query": "query($c: String!) { subject(code: $c) { code } }", '
        b'"variables": {"c": {"$ne": 1}}}', _JSON
    ),
    "operationName not a string": (b'{"query": "{ whoami { role } }", "operationName": 7}',
                                   _JSON),
    "unknown operationName": (
        b'{"query": "query A { whoami { role } }", "operationName": "B"}', _JSON
    ),
    "two anonymous operations": (b'{"query": "{ whoami { role } } { whoami { role } }"}', _JSON),
    "two named operations, none chosen": (
        b'{"query": "query A { whoami { role } } query B { whoami { role } }"}', _JSON
    ),
    "subscription": (b'{"query": "subscription { whoami { role } }"}', _JSON),
    "empty body": (b"", _JSON),
    "empty object": (b"{}", _JSON),
    "empty query": (b'{"query": ""}', _JSON),
    "text/plain": (b'{"query": "{ whoami { role } }"}', "text/plain"),
    "form-encoded": (b"query=%7B+whoami+%7B+role+%7D+%7D", "application/x-www-form-urlencoded"),
    "multipart without boundary": (b"--x\r\n\r\n", "multipart/form-data"),
    "multipart garbage": (b"--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n"
                          b"{not json\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    "application/graphql": (b"{ whoami { role } }", "application/graphql"),
    "xml": (b"<?xml version='1.0'?><query/>", "application/xml"),
    "no content type": (b'{"query": "{ whoami { role } }"}', ""),
    "huge string argument (5 MB)": (
        json.dumps({"query": '{ subject(code: "' + "A" * 5_000_000 + '") { code } }'}).encode(),
        _JSON,
    ),
    "huge variables (5 MB)": (
        json.dumps({"query": "query($c: String!) { subject(code: $c) { code } }",
                    "variables": {"c": "九" * 2_000_000}}).encode(), _JSON
    ),
    "huge document of 500k tokens": (
        json.dumps({"query": "{ whoami { " + "role " * 500_000 + "} }"}).encode(), _JSON
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
@pytest.mark.parametrize("keyed", [False, True], ids=["public", "operator"])
def test_malformed_request_is_refused_cleanly(served: Served, name: str, keyed: bool) -> None:
    body, content_type = MALFORMED[name]
    headers = {"content-type": content_type} if content_type else {}
    if keyed:
        headers.update({"Authorization": f"Bearer {served.operator}", "X-Purpose": "fuzz"})
    r = httpx.post(f"{served.url}/graphql", content=body, headers=headers, timeout=60)
    parsed = _assert_coded(r)
    if r.status_code == 200:
        assert parsed is not None and parsed.get("errors"), f"{name} was accepted: {r.text[:300]}"


@settings(max_examples=max(40, FUZZ_EXAMPLES * 10), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(
    body=st.binary(max_size=4000)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=50),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                     max_size=4),
        max_leaves=20,
    ).map(lambda v: json.dumps({"query": v}).encode()),
    content_type=st.sampled_from(
        [_JSON, "application/graphql", "text/plain", "multipart/form-data; boundary=b", ""]
    ),
)
def test_random_bodies_never_5xx(served: Served, body: bytes, content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    _assert_coded(httpx.post(f"{served.url}/graphql", content=body, headers=headers, timeout=60))


# -- 3. Cypher injection in every string argument --------------------------------------


def _real_codes(store: GraphStore) -> dict[str, str]:
    entity = store.read("MATCH (e:Entity) RETURN e.code AS c ORDER BY c LIMIT 2")
    return {"entity": str(entity[0]["c"]), "other": str(entity[1]["c"])}


def _harmless(name: str, codes: dict[str, str]) -> str:
    """A valid value for a string argument that is not under attack, so the request gets
    past validation as far as the attacked argument lets it."""
    lowered = name.lower()
    if lowered == "list":
        return "black"
    if lowered == "month":
        return "2026-10"
    if lowered in ("tocode", "pathto"):
        return codes["other"]
    return codes["entity"]


def _value_for(arg_type: GraphQLInputType, name: str, codes: dict[str, str]) -> Any:
    t = arg_type.of_type if isinstance(arg_type, GraphQLNonNull) else arg_type
    if isinstance(t, GraphQLList):
        return [_value_for(t.of_type, name, codes)]
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType):
        return {k: _value_for(f.type, k, codes) for k, f in t.fields.items()
                if isinstance(f.type, GraphQLNonNull) and f.default_value is None}
    assert isinstance(t, GraphQLScalarType)
    return {
        "String": _harmless(name, codes), "ID": _harmless(name, codes), "Int": 1,
        "Float": 0.5, "Boolean": False, "Date": "2026-10-01",
        "DateTime": "2026-10-01T00:00:00",
    }[t.name]


def _string_slots(field: GraphQLField) -> Iterator[tuple[str, str | None]]:
    """(argument, input field or None) for every string an attacker can put in ``field``."""
    for arg_name, arg in field.args.items():
        named = get_named_type(arg.type)
        if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
            yield arg_name, None
        elif isinstance(named, GraphQLInputObjectType):
            for sub_name, sub in named.fields.items():
                sub_named = get_named_type(sub.type)
                if isinstance(sub_named, GraphQLScalarType) and sub_named.name in ("String", "ID"):
                    yield arg_name, sub_name


def _type_ref(t: Any) -> str:
    if isinstance(t, GraphQLNonNull):
        return _type_ref(t.of_type) + "!"
    if isinstance(t, GraphQLList):
        return f"[{_type_ref(t.of_type)}]"
    return str(t.name)


def _attack(field_name: str, slot: tuple[str, str | None], payload: str,
            codes: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """A document calling ``field_name`` with ``payload`` in one string slot, every other
    required argument harmless, asking only ``__typename`` (valid on any output type)."""
    field = _SCHEMA.query_type.fields[field_name]  # type: ignore[union-attr]
    arg_name, sub_name = slot
    variables: dict[str, Any] = {}
    for name, arg in field.args.items():
        if name == arg_name or isinstance(arg.type, GraphQLNonNull):
            variables[name] = _value_for(arg.type, name, codes)
    target = variables[arg_name]
    hit: Any = [payload] if isinstance(get_nullable(field.args[arg_name].type), GraphQLList) \
        else payload
    if sub_name is None:
        variables[arg_name] = hit
    else:
        sub_type = get_nullable(get_named_type(field.args[arg_name].type).fields[sub_name].type)
        target[sub_name] = [payload] if isinstance(sub_type, GraphQLList) else payload
    decl = ", ".join(f"${n}: {_type_ref(field.args[n].type)}" for n in variables)
    call = ", ".join(f"{n}: ${n}" for n in variables)
    document = f"query Attack({decl}) {{ {field_name}({call}) {{ __typename }} }}" if decl \
        else f"query Attack {{ {field_name} {{ __typename }} }}"
    return document, variables


def get_nullable(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


SLOTS = [
    (name, slot)
    for name, field in _SCHEMA.query_type.fields.items()  # type: ignore[union-attr]
    for slot in _string_slots(field)
]


def test_every_query_field_with_a_string_is_attacked() -> None:
    """The enumeration finds the fields the contract names, so it is not silently empty."""
    attacked = {name for name, _ in SLOTS}
    assert {"subject", "searchSubjects", "checkSanctions", "paths", "neighborhood",
            "controlChain", "auditLog"} <= attacked


@pytest.mark.parametrize(
    ("field_name", "slot"), SLOTS, ids=[f"{n}.{a}{'.' + s if s else ''}" for n, (a, s) in SLOTS]
)
def test_injection_in_query_string_argument(
    served: Served, field_name: str, slot: tuple[str, str | None]
) -> None:
    codes = _real_codes(served.store)
    before = _graph_census(served.store)
    for payload in PAYLOADS + UNSTORABLE:
        document, variables = _attack(field_name, slot, payload, codes)
        body = _assert_coded(served.post(document, variables))
        assert body is not None and ("data" in body or body.get("errors")), body
    assert _graph_census(served.store) == before


# -- 4. injection in the text callers write through mutations --------------------------

_OBJECTION = "fragment O on Objection { id reason note replyNote }"
_REPAIR = "fragment R on Repair { id reason note certificateNo }"


def _records(store: GraphStore, n: int, *, negative: bool) -> list[str]:
    rows = store.read(
        "MATCH (r:Record) WHERE r.category = $cat AND r.status = 'active' "
        "AND NOT (r)<-[:AGAINST]-() "
        "RETURN r.uid AS uid ORDER BY uid",
        {"cat": "negative" if negative else "basic"},
    )
    return [str(r["uid"]) for r in rows][:n]


def _delta(after: Counter[str], before: Counter[str]) -> dict[str, int]:
    keys = set(after) | set(before)
    return {k: after[k] - before[k] for k in sorted(keys) if after[k] != before[k]}


def test_injection_in_objections_is_stored_verbatim(served: Served) -> None:
    """fileObjection's reason, forward, reply's note and resolution's note: each text comes
    back as sent, and an attack writes exactly what harmless text writes."""
    client = served.client(served.operator)
    texts = ["一般的异议理由", *PAYLOADS]
    targets = _records(served.store, len(texts), negative=True)
    assert len(targets) == len(texts), "the demo has too few negative records"
    deltas = []
    for text, record_id in zip(texts, targets, strict=True):
        before = _graph_census(served.store)
        filed = client.data(
            _OBJECTION + " mutation($r: String!, $t: String!) "
            "{ fileObjection(recordId: $r, reason: $t) { ...O } }",
            {"r": record_id, "t": text},
        )["fileObjection"]
        assert filed["reason"] == text
        oid = filed["id"]
        client.data(_OBJECTION + " mutation($o: String!) "
                    "{ forwardObjection(objectionId: $o) { ...O } }", {"o": oid})
        replied = client.data(
            _OBJECTION + " mutation($o: String!, $t: String!) "
            "{ replyToObjection(objectionId: $o, verdict: CORRECT, note: $t) { ...O } }",
            {"o": oid, "t": text},
        )["replyToObjection"]
        assert replied["replyNote"] == text
        resolved = client.data(
            _OBJECTION + " mutation($o: String!, $t: String!) "
            "{ resolveObjection(objectionId: $o, outcome: CONFIRMED, note: $t) { ...O } }",
            {"o": oid, "t": text},
        )["resolveObjection"]
        assert resolved["note"] == text
        again = client.data(_OBJECTION + " query($o: String!) { objection(id: $o) { ...O } }",
                            {"o": oid})["objection"]
        assert (again["reason"], again["replyNote"], again["note"]) == (text, text, text)
        deltas.append(_delta(_graph_census(served.store), before))
    assert all(d == deltas[0] for d in deltas), deltas


def test_injection_in_grant_notes_is_stored_verbatim(served: Served) -> None:
    client = served.client(served.operator)
    codes = _real_codes(served.store)
    until = (china_today() + dt.timedelta(days=30)).isoformat()
    deltas = []
    for text in ["授权说明", *PAYLOADS]:
        before = _graph_census(served.store)
        grant = client.data(
            "mutation($g: String!, $u: Date!, $s: String, $t: String) { grantAuthorization("
            "grantee: $g, until: $u, subjectCode: $s, note: $t) { grantee note } }",
            {"g": "fuzz-operator", "u": until, "s": codes["entity"], "t": text},
        )["grantAuthorization"]
        assert grant["note"] == text
        deltas.append(_delta(_graph_census(served.store), before))
        notes = client.data("query($s: String) { grants(subjectCode: $s) { note } }",
                            {"s": codes["entity"]})["grants"]
        assert text in [g["note"] for g in notes]
    assert all(d == deltas[0] for d in deltas), deltas


def test_injection_in_repairs_is_stored_verbatim(served: Served) -> None:
    """requestRepair's reason and decideRepair's note. Not every
    demo record may be repaired today: a refused request must write nothing, and the
    next record is tried."""
    client = served.client(served.operator)
    pool = iter(_records(served.store, 10_000, negative=True))
    deltas = []
    for text in ["修复理由", *PAYLOADS]:
        while True:
            record_id = next(pool, None)
            assert record_id is not None, "too few repairable records in the demo"
            before = _graph_census(served.store)
            body = _assert_coded(client.post(
                _REPAIR + " mutation($r: String!, $t: String!) { requestRepair(recordId: $r, "
                "reason: $t, correctedOn: \"2016-01-04\", commitment: true) { ...R } }",
                {"r": record_id, "t": text},
            ))
            assert body is not None
            if not body.get("errors"):
                break
            assert body["errors"][0]["extensions"]["code"] != "INVALID_INPUT", body
            assert _graph_census(served.store) == before
        repair = body["data"]["requestRepair"]
        assert repair["reason"] == text
        decided = client.data(
            _REPAIR + " mutation($p: String!, $t: String!) { decideRepair("
            "repairId: $p, approve: false, note: $t, certificateNo: $t) { ...R } }",
            {"p": repair["id"], "t": text},
        )["decideRepair"]
        assert decided["note"] == text  # a refusal keeps no certificate number
        deltas.append(_delta(_graph_census(served.store), before))
    assert all(d == deltas[0] for d in deltas), deltas


def test_injection_in_a_revocation_reason_lands_in_the_history(served: Served) -> None:
    client = served.client(served.operator)
    texts = ["撤销理由", *PAYLOADS]
    targets = _records(served.store, len(texts), negative=False)
    deltas = []
    for text, record_id in zip(texts, targets, strict=True):
        before = _graph_census(served.store)
        client.data("mutation($r: String!, $t: String!) { revokeRecord(recordId: $r, "
                    "reason: $t) { recordId } }", {"r": record_id, "t": text})
        events = client.data(
            "query($r: String!) { record(recordId: $r) { history { events { kind reason } } } }",
            {"r": record_id},
        )["record"]["history"]["events"]
        assert text in [e["reason"] for e in events], events
        deltas.append(_delta(_graph_census(served.store), before))
    assert all(d == deltas[0] for d in deltas), deltas



UNSTORABLE_WRITES = {
    "fileObjection": ("mutation($r: String!, $t: String!) "
                      "{ fileObjection(recordId: $r, reason: $t) { id } }"),
    "revokeRecord": ("mutation($r: String!, $t: String!) "
                     "{ revokeRecord(recordId: $r, reason: $t) { recordId } }"),
    "grantAuthorization": ("mutation($r: String!, $t: String!, $u: Date!) { grantAuthorization("
                           "grantee: \"fuzz-operator\", until: $u, subjectCode: $r, note: $t) "
                           "{ id } }"),
}


@pytest.mark.parametrize("mutation", sorted(UNSTORABLE_WRITES))
def test_text_no_engine_can_hold_is_refused_and_writes_nothing(
    served: Served, mutation: str
) -> None:
    target = (_real_codes(served.store)["entity"] if mutation == "grantAuthorization"
              else _records(served.store, 1, negative=mutation == "fileObjection")[0])
    before = _graph_census(served.store)
    for text in UNSTORABLE:
        until = (china_today() + dt.timedelta(days=30)).isoformat()
        r = served.post(UNSTORABLE_WRITES[mutation], {"r": target, "t": text, "u": until})
        body = _assert_coded(r)
        assert body is not None and body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert "U+0000" in r.text or "surrogate" in r.text
    assert _graph_census(served.store) == before
