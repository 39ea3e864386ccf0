"""The store interface, written once, run against every engine (see conftest ``store``)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from graph.dialect import KEYS
from graph.embedded import EmbeddedEngine
from graph.falkor_store import FalkorStore
from graph.store import GraphStore, Statement
from queries import admin
from schema.errors import EngineUnavailable, InvalidInput
from tests.builders import person_code

TRICKY = [
    'He said "hi"',
    "back\\slash",
    "line\nbreak",
    "南通宏达建设工程有限公司",
    "x'}) MATCH (n) DETACH DELETE n //",
    '"}) CREATE (:Evil) RETURN 1 //',
]


def test_write_then_read_round_trip(store: GraphStore) -> None:
    store.write_one(
        "CREATE (:Probe {k: $k, n: $n, tags: $tags})", {"k": "a", "n": 3, "tags": ["x", "y"]}
    )
    rows = store.read("MATCH (p:Probe {k: $k}) RETURN p.n AS n, p.tags AS tags", {"k": "a"})
    assert rows == [{"n": 3, "tags": ["x", "y"]}]


@pytest.mark.parametrize("value", TRICKY)
def test_parameters_are_stored_verbatim_and_never_executed(store: GraphStore, value: str) -> None:
    store.write_one("CREATE (:Probe {v: $v})", {"v": value})
    assert store.read("MATCH (p:Probe) RETURN p.v AS v") == [{"v": value}]
    assert store.read(admin.COUNT_NODES)[0]["n"] == 1


def test_write_unit_applies_every_statement_in_order(store: GraphStore) -> None:
    results = store.write(
        [
            Statement("CREATE (:Probe {k: $k}) RETURN 1 AS one", {"k": "a"}),
            Statement("MATCH (p:Probe {k: $k}) SET p.seen = true RETURN count(p) AS n", {"k": "a"}),
        ]
    )
    assert results[1] == [{"n": 1}]
    assert store.read("MATCH (p:Probe) RETURN p.seen AS seen") == [{"seen": True}]


def test_batched_writer_sends_every_row_in_batches(store: GraphStore) -> None:
    seen: list[int] = []
    rows = ({"i": i} for i in range(2345))
    sent = store.write_batches(
        "UNWIND $rows AS row CREATE (:Probe {i: row.i}) RETURN count(*) AS changed",
        rows,
        batch_size=1000,
        on_batch=lambda n, result: seen.append(result[0]["changed"]),
    )
    assert sent == 2345
    assert seen == [1000, 1000, 345]
    assert store.read("MATCH (p:Probe) RETURN count(p) AS n, sum(p.i) AS s") == [
        {"n": 2345, "s": sum(range(2345))}
    ]


def test_bootstrap_is_idempotent_and_code_is_unique(store: GraphStore) -> None:
    """A taken code is the caller's error (INVALID_INPUT), the same on both engines, and
    its message never carries the value: Neo4j's own names it, and a code may be an ID
    number. Before, each engine's raw error escaped (a stack trace from the CLI)."""
    store.bootstrap()
    store.bootstrap()
    code = person_code(5)
    store.write_one("CREATE (:Subject:Person {code: $c})", {"c": code})
    for label in ("Person", "Entity"):
        with pytest.raises(InvalidInput) as info:
            store.write_one(f"CREATE (:Subject:{label} {{code: $c}})", {"c": code})
        assert info.value.code == "INVALID_INPUT"
        assert "unique key" in info.value.message and code not in info.value.message
    with pytest.raises(InvalidInput):  # also from within a unit of several statements
        store.write(
            [
                Statement("CREATE (:Subject:Entity {code: $c})", {"c": "X2"}),
                Statement("CREATE (:Subject:Entity {code: $c})", {"c": code}),
            ]
        )
    assert store.read("MATCH (s:Subject {code: $c}) RETURN count(s) AS n", {"c": code}) == [
        {"n": 1}
    ]


def test_ping_and_drop_all(store: GraphStore) -> None:
    store.ping()
    store.write_one("CREATE (:Probe)-[:LINK]->(:Probe)")
    assert store.read(admin.COUNT_RELATIONSHIPS)[0]["n"] == 1
    store.drop_all()
    store.bootstrap()
    assert store.read(admin.COUNT_NODES)[0]["n"] == 0


def test_a_graph_that_no_longer_exists_reads_as_empty(store: GraphStore) -> None:
    """FalkorDB drops the key with the graph (as after an engine killed before its first
    sync); a read must find nothing there, as on Neo4j, not fail with the engine's
    "empty key" error."""
    store.write_one("CREATE (:Probe {k: 1})")
    store.drop_all()
    assert store.read("MATCH (p:Probe) RETURN p.k AS k") == []
    assert store.read(admin.COUNT_NODES) in ([], [{"n": 0}])


def test_an_engine_that_drops_connections_is_engine_unavailable_for_every_command(
    tmp_path: Path,
) -> None:
    """An engine killed while a loader bootstraps used to escape as a redis traceback; the
    loader's advice and the API's error code need the one EngineUnavailable."""
    path = str(tmp_path / "drops.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()

    def answer_info_then_hang_up() -> None:
        """Enough of a server for the client to be made (the name every connection
        gives itself, INFO); then it dies on every command."""
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while True:
                    asked = conn.recv(65536).upper()
                    if b"SETNAME" in asked:
                        conn.sendall(b"+OK\r\n")
                    elif b"INFO" in asked:
                        info = b"redis_mode:standalone\r\n"
                        conn.sendall(b"$%d\r\n%s\r\n" % (len(info), info))
                    else:
                        break

    threading.Thread(target=answer_info_then_hang_up, daemon=True).start()
    store = FalkorStore.from_socket(path, "g")
    commands: dict[str, Callable[[], object]] = {
        "bootstrap": store.bootstrap,
        "read": lambda: store.read("MATCH (n) RETURN n"),
        "write": lambda: store.write_one("CREATE (:Probe)"),
        "drop_all": store.drop_all,
        "compact": store.compact,
    }
    try:
        for name, command in commands.items():
            with pytest.raises(EngineUnavailable, match="graph engine unreachable") as info:
                command()
            assert "\n" not in info.value.message, name
    finally:
        listener.close()


def test_repeated_bootstrap_keeps_the_embedded_engine_restartable(tmp_path: Path) -> None:
    """Each service start bootstraps; the append-only file must replay cleanly afterwards.

    FalkorDB writes each constraint creation to its append-only file twice, and the
    replay of the second copy failed with a CRITICAL "Constraint already exists" line at
    every start, enough to alarm an operator reading the log; bootstrap rewrites the file
    once its constraints are built, and they must still hold after the restart.
    """
    unique = sorted((k.label, k.prop) for k in KEYS if k.unique)

    def restart(engine: EmbeddedEngine) -> tuple[EmbeddedEngine, FalkorStore, str]:
        engine.stop()
        offset = engine.log_path.stat().st_size
        engine = EmbeddedEngine(tmp_path / "d")
        store = FalkorStore.from_socket(engine.ensure_running(), "g")
        return engine, store, engine.log_path.read_text()[offset:]

    engine = EmbeddedEngine(tmp_path / "d")
    try:
        store = FalkorStore.from_socket(engine.ensure_running(), "g")
        for _ in range(3):
            store.bootstrap()
        store.write_one("CREATE (:Subject:Entity {code: $c})", {"c": "K1"})
        store.close()
        engine, store, log = restart(engine)
        assert "Ready to accept connections" in log
        assert "already exists" not in log
        assert store.read("MATCH (s:Subject) RETURN s.code AS c") == [{"c": "K1"}]
        constraints = store.read("CALL db.constraints()")
        assert sorted((c["label"], c["properties"][0]) for c in constraints) == unique
        with pytest.raises(InvalidInput, match="unique key"):
            store.write_one("CREATE (:Subject:Entity {code: $c})", {"c": "K1"})
        store.compact()  # stop() lets the rewrite finish
        store.close()
        engine, store, log = restart(engine)
        assert store.read("MATCH (s:Subject) RETURN s.code AS c") == [{"c": "K1"}]
        assert "Ready to accept connections" in log
        assert "already exists" not in log
        store.close()
    finally:
        engine.stop(force=True)
