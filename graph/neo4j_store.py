"""Neo4j 5 adapter: production and clusters.

Reads and writes go through the driver's managed transactions (retried on transient
errors) and share the driver's bookmark manager, so a read issued after a write sees
it even when routed to another cluster member.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import neo4j
from neo4j import GraphDatabase, ManagedTransaction
from neo4j.exceptions import (
    ClientError,
    ConstraintError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph.dialect import Neo4jDialect
from graph.store import UNIQUE_KEY_TAKEN, GraphStore, Params, Row, Statement
from graph.text_guard import check_params
from queries import admin
from schema.errors import EngineUnavailable, KeyTaken


def _plain(value: Any) -> Any:
    if isinstance(value, neo4j.graph.Node | neo4j.graph.Relationship):
        return dict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _reason(error: BaseException) -> str:
    """The driver's message on one line; for a routing URI (``neo4j://``), whose message
    is only "Unable to retrieve routing information", also why the first router failed."""
    text = " ".join(str(error).split()) or type(error).__name__
    cause = error.__cause__
    if isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        text += f" ({' '.join(str(cause.exceptions[0]).split())})"
    return text


class _NoRoutingErrorLine(logging.Filter):
    """The driver logs "Unable to retrieve routing information" at ERROR and then raises
    it; the raised error is reported (``ping``: one line on stderr), so the log line is
    only a second copy."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Unable to retrieve routing information"


class Neo4jStore(GraphStore):
    engine_name = "neo4j"

    def __init__(
        self,
        uri: str,
        user: str | None,
        password: str | None,
        database: str | None = None,
        *,
        max_retry_time: float = 15.0,
    ) -> None:
        self.dialect = Neo4jDialect()
        pool_log = logging.getLogger("neo4j.pool")
        if not any(isinstance(f, _NoRoutingErrorLine) for f in pool_log.filters):
            pool_log.addFilter(_NoRoutingErrorLine())
        auth = (user, password or "") if user else None
        try:
            self._driver = GraphDatabase.driver(
                uri, auth=auth, max_transaction_retry_time=max_retry_time
            )
        except (ValueError, Neo4jError) as e:
            raise EngineUnavailable(f"CREDIT_GRAPH_NEO4J_URI: cannot use {uri!r}: {e}") from e
        self._database = database
        self.description = uri
        self._bookmarks = self._driver.execute_query_bookmark_manager

    def _session(self) -> neo4j.Session:
        return self._driver.session(database=self._database, bookmark_manager=self._bookmarks)

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        check_params(params)

        def work(tx: ManagedTransaction) -> list[Row]:
            return [{k: _plain(r[k]) for k in r.keys()} for r in tx.run(query, dict(params or {}))]

        try:
            with self._session() as session:
                return session.execute_read(work)
        except (ServiceUnavailable, SessionExpired) as e:
            raise EngineUnavailable(f"Neo4j unreachable ({self.description}): {e}") from e

    def write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        for statement in statements:
            check_params(statement.params)

        def work(tx: ManagedTransaction) -> list[list[Row]]:
            out = []
            for s in statements:
                rows = [
                    {k: _plain(r[k]) for k in r.keys()} for r in tx.run(s.query, dict(s.params))
                ]
                out.append(rows)
            return out

        try:
            with self._session() as session:
                return session.execute_write(work)
        except (ServiceUnavailable, SessionExpired) as e:
            raise EngineUnavailable(f"Neo4j unreachable ({self.description}): {e}") from e
        except ConstraintError:
            # Not chained: Neo4j's message names the value, which may be an ID number.
            raise KeyTaken(UNIQUE_KEY_TAKEN) from None

    def ping(self) -> None:
        """Every failure to reach the server is ``EngineUnavailable`` naming the variable.

        A refused connection, an unresolvable name or no routing table is the driver's
        ``ServiceUnavailable``, a ``DriverError`` and not a ``Neo4jError``: without it
        here a mistyped URI ended ``serve``, ``check`` and ``load`` in a traceback. The
        driver's message spans lines; the CLI prints this one as its whole answer.
        """
        try:
            self._driver.verify_connectivity()
        except (Neo4jError, DriverError, OSError) as e:
            raise EngineUnavailable(
                f"CREDIT_GRAPH_NEO4J_URI: cannot use {self.description!r}: {_reason(e)}"
            ) from e

    def close(self) -> None:
        self._driver.close()

    def drop_all(self) -> None:
        self.write_one(admin.DELETE_ALL)

    def _run_ddl(self, statement: str) -> None:
        try:
            with self._session() as session:
                session.run(statement).consume()
        except ClientError as e:
            if "EquivalentSchemaRuleAlreadyExists" not in (e.code or ""):
                raise
