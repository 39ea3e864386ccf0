"""The one small interface every engine adapter implements.

Callers see rows as plain dicts and writes as lists of statements run in one managed
unit, so the check, the loaders and the API never know which engine is underneath.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from graph.dialect import Dialect

#: What a caller is told when a write would give a second node a unique key (a code, an
#: id). Engines name the value in their own message (Neo4j: the code itself, which may
#: be an ID number), so theirs is never passed on.
UNIQUE_KEY_TAKEN = (
    "the graph refused the write: a unique key (code or id) it sets already belongs to "
    "another node; nothing of this write was stored"
)

Row = dict[str, Any]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Statement:
    """One parameterised Cypher statement. The text is always a constant from ``queries``."""

    query: str
    params: Params = field(default_factory=dict)


class GraphStore(ABC):
    """Reads, managed write units and a batched writer over one graph.

    A write unit is a list of statements. On Neo4j it is one transaction (all or
    nothing, retried on transient errors). On FalkorDB every statement is atomic on
    its own and a unit runs inside MULTI/EXEC, so no other client interleaves, but an
    error in statement *n* does not undo statements before it; the project's writers
    therefore put each batch in a single statement so a batch is atomic on both.
    """

    dialect: Dialect
    engine_name: str

    @abstractmethod
    def read(self, query: str, params: Params | None = None) -> list[Row]:
        """Run a read-only query and return its rows."""

    @abstractmethod
    def write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Run statements as one managed write unit; one row list per statement."""

    @abstractmethod
    def ping(self) -> None:
        """Raise ``EngineUnavailable`` when the engine does not answer."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (and stop an engine this store started)."""

    @abstractmethod
    def drop_all(self) -> None:
        """Delete every node, relationship, index and constraint of this graph."""

    @abstractmethod
    def _run_ddl(self, statement: str) -> None:
        """Run one schema statement, tolerating 'already exists'."""

    def write_one(self, query: str, params: Params | None = None) -> list[Row]:
        return self.write([Statement(query, params or {})])[0]

    def prepared(self, query: str, params: Params) -> Statement:
        """The statement as ``write`` will send it, with whatever work that takes done
        now, on the caller's thread. Why: a loader prepares the next batch while its
        writer thread waits for the engine, so the engine is never left idle while
        Python encodes (FalkorDB: the parameters become query text)."""
        return Statement(query, params)

    def row_codec(self) -> Callable[[Mapping[str, Any]], Any]:
        """How one ``UNWIND`` row is encoded ahead of time, as a function that can be
        sent to another process. Why: a loader's validation workers encode the rows they
        make, so the process that batches them only joins finished pieces
        (``prepared_rows``). By default a row stays the map it is."""
        return dict

    def prepared_rows(self, query: str, extra: Params, rows: Sequence[Any]) -> Statement:
        """``prepared`` for ``UNWIND $rows`` whose rows went through ``row_codec``."""
        return self.prepared(query, {**extra, "rows": list(rows)})

    def write_batches(
        self,
        query: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = 1000,
        param: str = "rows",
        extra: Params | None = None,
        on_batch: Callable[[int, list[Row]], None] | None = None,
    ) -> int:
        """Send ``rows`` through ``UNWIND $rows`` in batches; return how many were sent.

        Batching keeps memory flat for any input size and amortises the round trip;
        ``on_batch`` lets a caller drive a progress bar and collect per-batch results.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        sent = 0
        iterator = iter(rows)
        while True:
            batch = [dict(r) for r in islice(iterator, batch_size)]
            if not batch:
                return sent
            result = self.write_one(query, {**(extra or {}), param: batch})
            sent += len(batch)
            if on_batch is not None:
                on_batch(len(batch), result)

    def compact(self) -> None:  # noqa: B027 - optional hook, most engines need nothing
        """Make the engine's storage compact after a large write; a no-op by default."""

    def bootstrap(self) -> None:
        """Create the project's indexes and constraints; safe to run on every start."""
        for statement in self.dialect.schema_statements():
            self._run_ddl(statement)

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DelegatingStore(GraphStore):
    """Passes every call to the store it wraps; wrappers (metrics, the engine watch)
    override only what they add to. Anything not part of ``GraphStore`` (engine
    specifics such as the embedded store's ``engine``) is forwarded untouched."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.engine_name = inner.engine_name

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        return self.inner.read(query, params)

    def write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        return self.inner.write(statements)

    def prepared(self, query: str, params: Params) -> Statement:
        return self.inner.prepared(query, params)

    def row_codec(self) -> Callable[[Mapping[str, Any]], Any]:
        return self.inner.row_codec()

    def prepared_rows(self, query: str, extra: Params, rows: Sequence[Any]) -> Statement:
        return self.inner.prepared_rows(query, extra, rows)

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        self.inner.close()

    def drop_all(self) -> None:
        self.inner.drop_all()

    def _run_ddl(self, statement: str) -> None:
        self.inner._run_ddl(statement)

    def bootstrap(self) -> None:
        self.inner.bootstrap()

    def compact(self) -> None:
        self.inner.compact()

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this class does not have.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

