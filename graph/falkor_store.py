"""FalkorDB adapter: the embedded default and any running FalkorDB given by URL."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import redis
from falkordb import FalkorDB
from falkordb.query_result import QueryResult

from graph.cypher_params import header, literal
from graph.dialect import FalkorDialect
from graph.store import UNIQUE_KEY_TAKEN, GraphStore, Params, Row, Statement
from schema.errors import EngineUnavailable, KeyTaken

DEFAULT_GRAPH = "credit"
_ALREADY = ("already indexed", "already exists", "constraint already")
#: How long ``bootstrap`` waits for new constraints to be built before rewriting the log.
_CONSTRAINT_WAIT = 10.0


def _plain(value: Any) -> Any:
    """Turn client objects (nodes, edges, paths) into plain data."""
    props = getattr(value, "properties", None)
    if isinstance(props, dict):
        return dict(props)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _missing_graph(error: redis.ResponseError) -> bool:
    text = str(error).lower()
    return "empty key" in text or "invalid graph" in text


def _rows(result: QueryResult) -> list[Row]:
    header = [h[1] if isinstance(h, list | tuple) else h for h in (result.header or [])]
    names = [h.decode() if isinstance(h, bytes) else str(h) for h in header]
    return [dict(zip(names, (_plain(v) for v in row), strict=True)) for row in result.result_set]


def connection_name() -> str:
    """The name every connection of this process gives itself (``CLIENT SETNAME``), so
    that an embedded engine's starter can tell other processes' connections from its
    own (``graph.embedded.EmbeddedEngine.stop``)."""
    return f"credit-graph-{os.getpid()}"


class FalkorStore(GraphStore):
    engine_name = "falkordb"

    def __init__(
        self,
        db: FalkorDB,
        graph_name: str = DEFAULT_GRAPH,
        *,
        description: str = "falkordb",
        query_timeout_ms: int | None = None,
    ) -> None:
        self.dialect = FalkorDialect()
        self._db = db
        self._graph = db.select_graph(graph_name)
        self.graph_name = graph_name
        self.description = description
        self._timeout = query_timeout_ms
        self._schema_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, graph_name: str = DEFAULT_GRAPH) -> FalkorStore:
        try:
            db = FalkorDB.from_url(url, socket_timeout=60, socket_connect_timeout=5)
        except (ValueError, redis.RedisError) as e:
            raise EngineUnavailable(f"CREDIT_GRAPH_FALKORDB_URL: cannot use {url!r}: {e}") from e
        return cls(db, graph_name, description=url)

    @classmethod
    def from_socket(cls, socket_path: str, graph_name: str = DEFAULT_GRAPH) -> FalkorStore:
        description = f"unix://{socket_path}"
        try:  # the client asks the server what it is (INFO) as it is made
            db = FalkorDB(
                unix_socket_path=socket_path, socket_timeout=60, socket_connect_timeout=5,
                # so the engine's starter can tell this process's connections from others'
                client_name=connection_name(),
            )
        except redis.RedisError as e:
            raise EngineUnavailable(f"graph engine unreachable ({description}): {e}") from e
        return cls(db, graph_name, description=description)

    # -- GraphStore ----------------------------------------------------------------
    def read(self, query: str, params: Params | None = None) -> list[Row]:
        text = header(params) + query
        try:
            with self._engine_reached():
                result = self._graph.ro_query(text, None, timeout=self._timeout)
        except redis.ResponseError as e:
            # A graph never written (or lost with an engine killed before its first sync)
            # has no key; it holds nothing, so every pattern matches nothing.
            if _missing_graph(e):
                return []
            raise
        return _rows(result)

    def write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Several statements go in one MULTI/EXEC: no other client's command runs between
        them, but, as always in Redis, one that fails does not undo those before it (the
        service and the loader only ever send one)."""
        if not statements:
            return []
        texts = [header(s.params) + s.query for s in statements]
        with self._engine_reached(), _unique_keys_kept():
            if len(texts) == 1:
                return [_rows(self._graph.query(texts[0], None, timeout=self._timeout))]
            pipe = self._db.connection.pipeline(transaction=True)
            for text in texts:
                pipe.execute_command("GRAPH.QUERY", self.graph_name, text, "--compact")
            replies = pipe.execute()
            return [_rows(QueryResult(self._graph, reply)) for reply in replies]

    @contextlib.contextmanager
    def _engine_reached(self) -> Iterator[None]:
        """A lost connection is one error, whichever command met it: callers (the loader's
        advice, the API's ENGINE_UNAVAILABLE) know that one, not redis's."""
        try:
            yield
        except redis.ConnectionError as e:
            raise EngineUnavailable(f"graph engine unreachable ({self.description}): {e}") from e
        except redis.TimeoutError as e:
            raise EngineUnavailable(f"graph engine timed out ({self.description})") from e

    def prepared(self, query: str, params: Params) -> Statement:
        """The parameters encoded into the text now (``graph.cypher_params``); ``write``
        then sends the text as it is."""
        return Statement(header(params) + query, {})

    def row_codec(self) -> Callable[[Mapping[str, Any]], Any]:
        """A row becomes its Cypher literal (``graph.cypher_params.literal``)."""
        return literal

    def prepared_rows(self, query: str, extra: Params, rows: Sequence[Any]) -> Statement:
        return Statement(header(extra, encoded_rows=rows) + query, {})

    def ping(self) -> None:
        try:
            self._db.connection.ping()
        except redis.RedisError as e:
            raise EngineUnavailable(f"graph engine unreachable ({self.description}): {e}") from e

    def close(self) -> None:
        try:
            self._db.connection.close()
        except redis.RedisError:
            pass

    def drop_all(self) -> None:
        try:
            with self._engine_reached():
                self._graph.delete()
        except redis.ResponseError as e:
            if not _missing_graph(e):
                raise
        self._graph = self._db.select_graph(self.graph_name)

    def bootstrap(self) -> None:
        """Create only the indexes and constraints that are missing.

        Every command reaches the append-only file, and a failing "already exists" one is
        replayed as an error at each restart; so existing ones are read first, not retried.
        FalkorDB (4.16) also writes each ``GRAPH.CONSTRAINT CREATE`` to that file twice, so
        even a first creation replays as a CRITICAL "Constraint already exists" line at
        every start; once the new constraints are built the file is rewritten
        (``_settle_constraints``), which leaves them in the snapshot and not in the log.
        """
        created = False
        with self._schema_lock, self._engine_reached():
            indexes = {
                (r["label"], p) for r in self.read("CALL db.indexes()") for p in r["properties"]
            }
            constraints = {
                (r["label"], tuple(r["properties"]))
                for r in self.read("CALL db.constraints()")
                if r["type"] == "UNIQUE"
            }
            for statement in self.dialect.schema_statements():
                if statement.startswith("CONSTRAINT "):
                    _, label, prop = statement.split()
                    if (label, (prop,)) not in constraints:
                        self._run_ddl(statement)
                        created = True
                else:
                    label, prop = _index_target(statement)
                    if (label, prop) not in indexes:
                        self._run_ddl(statement)
            if created:
                self._settle_constraints()

    def _settle_constraints(self, wait: float = _CONSTRAINT_WAIT) -> None:
        """Rewrite the append-only file once no constraint is still being built.

        Only on a server that keeps one (an external FalkorDB may not). A constraint built
        over a large graph can take longer than ``wait``; the rewrite is then left to the
        next compaction (a load does one) and the restart lines stay until then, which
        is harmless: the replay fails on a constraint that is already there.
        """
        info = self._db.connection.info("persistence")
        if not int(info.get("aof_enabled", 0)):
            return
        deadline = time.monotonic() + wait
        while any(
            r["status"] not in ("OPERATIONAL", "FAILED")
            for r in self.read("CALL db.constraints()")
        ):
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)
        self.compact()  # the engine's stop waits for it to finish (``graph.embedded``)

    def _run_ddl(self, statement: str) -> None:
        try:
            if statement.startswith("CONSTRAINT "):
                _, label, prop = statement.split()
                self._db.connection.execute_command(
                    "GRAPH.CONSTRAINT",
                    "CREATE",
                    self.graph_name,
                    "UNIQUE",
                    "NODE",
                    label,
                    "PROPERTIES",
                    1,
                    prop,
                )
            else:
                self._graph.query(statement)
        except redis.ResponseError as e:
            if not any(a in str(e).lower() for a in _ALREADY):
                raise

    def compact(self) -> None:
        """Rewrite the append-only file into a snapshot after a large write.

        Until then a restart replays every query ever written, which for a province takes
        as long as loading it did; the rewritten file loads as a binary snapshot.
        """
        try:
            with self._engine_reached():
                self._db.connection.execute_command("BGREWRITEAOF")
        except redis.ResponseError as e:
            if "already in progress" not in str(e).lower() and "scheduled" not in str(e).lower():
                raise


@contextlib.contextmanager
def _unique_keys_kept() -> Iterator[None]:
    """A unique constraint's refusal is the caller's error, not an internal one."""
    try:
        yield
    except redis.ResponseError as e:
        if "unique constraint violation" in str(e).lower():
            raise KeyTaken(UNIQUE_KEY_TAKEN) from e
        raise


def _index_target(statement: str) -> tuple[str, str]:
    """(label, property) of a FalkorDialect ``CREATE INDEX FOR (n:L) ON (n.p)``."""
    label = statement.split("(n:", 1)[1].split(")", 1)[0]
    prop = statement.rsplit("(n.", 1)[1].rstrip(")")
    return label, prop
