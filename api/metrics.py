"""Prometheus metrics for ``GET /metrics``: GraphQL requests, errors and engine latency.

Each ``Metrics`` has its own ``CollectorRegistry`` (not the process-wide default), so
several apps can live in one process (tests) without "Duplicated timeseries" errors.

Several uvicorn workers (``serve --workers N``): set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory writable by the service, in the environment of the command that starts
uvicorn, so it is set before any worker imports ``prometheus_client`` (the client picks its
storage at import time). Every worker then writes its samples to files there and
``/metrics``, whichever worker answers, reports the sum over all workers. Empty the
directory before each start (stale files of a previous run would be summed in). Without
the variable each process keeps its metrics in memory, which is right for one worker.

Label values a caller can choose (operation names) are bounded: names that are not
GraphQL names are reported as ``invalid`` and, past ``max_operations`` distinct names in
a process, new ones as ``other``, so a client cannot grow the registry without limit.
``/metrics`` is public, so an ID number in an operation name is masked
(``api.log_masking.mask_name``) before it becomes a label.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from graphql import GraphQLError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from api.log_masking import mask_name
from graph.store import DelegatingStore, GraphStore, Params, Row, Statement
from schema.errors import CreditGraphError

log = logging.getLogger("credit_graph.api")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ENGINE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

#: A GraphQL name, once masked: ``mask_name`` puts ``*`` where the digits of an ID number
#: were, and the same name reaches ``operation_label`` masked (the router, from the
#: request context) and unmasked (the extension).
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_*]{0,63}$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")


def multiprocess_mode() -> bool:
    """True when samples go to ``PROMETHEUS_MULTIPROC_DIR`` files (decided at import)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class Metrics:
    """The service's metrics, their registry and the hooks that feed them."""

    def __init__(self, *, max_operations: int = 200, namespace: str = "credit_graph") -> None:
        self.max_operations = max_operations
        self._operations: set[str] = set()
        self._codes: set[str] = set()
        self._lock = threading.Lock()
        # The metrics are always registered in a registry of their own; in multiprocess
        # mode the exposition reads the files of every worker instead of that registry.
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "graphql_requests",
            "GraphQL requests by operation name and outcome (ok, partial, error).",
            ["operation", "outcome"],
            namespace=namespace,
            registry=self.registry,
        )
        self.latency = Histogram(
            "graphql_request_duration_seconds",
            "Time from receiving a GraphQL document to its result, by operation name.",
            ["operation"],
            namespace=namespace,
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "graphql_errors",
            "GraphQL errors returned to callers, by extensions.code.",
            ["code"],
            namespace=namespace,
            registry=self.registry,
        )
        self.engine_latency = Histogram(
            "engine_duration_seconds",
            "Time of one graph engine call, by engine, kind (read, write) and outcome.",
            ["engine", "kind", "outcome"],
            namespace=namespace,
            buckets=ENGINE_BUCKETS,
            registry=self.registry,
        )
        # api/engine_watch.py: only the worker that started the new engine counts a
        # restart, so the sum over workers is the number of restarts.
        self.engine_restarts = Counter(
            "engine_restarts",
            "Times the embedded graph engine was found gone and started again.",
            namespace=namespace,
            registry=self.registry,
        )
        self.engine_up = Gauge(
            "engine_up",
            "1 while the graph engine answers the watch's probe, 0 while it does not.",
            namespace=namespace,
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.engine_up.set(1)
        self.multiprocess = multiprocess_mode()
        if os.environ.get(MULTIPROC_ENV) and not self.multiprocess:
            log.warning(
                "%s is set but prometheus_client was imported before it was; "
                "metrics are per process", MULTIPROC_ENV,
            )

    # -- feeding -------------------------------------------------------------------

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        name = mask_name(name)
        if not _NAME.match(name):
            return "invalid"
        with self._lock:
            if name in self._operations:
                return name
            if len(self._operations) >= self.max_operations:
                return "other"
            self._operations.add(name)
            return name

    def code_label(self, code: str) -> str:
        if not _CODE.match(code):
            return "OTHER"
        with self._lock:
            if code in self._codes:
                return code
            if len(self._codes) >= self.max_operations:
                return "OTHER"
            self._codes.add(code)
            return code

    def record_request(
        self, operation: str | None, outcome: str, codes: Sequence[str], duration_s: float
    ) -> None:
        """One answered request; also for requests refused before the schema ran
        (rate limit, authentication), which the extension never sees."""
        op = self.operation_label(operation)
        self.requests.labels(op, outcome).inc()
        self.latency.labels(op).observe(max(duration_s, 0.0))
        for code in codes:
            self.errors.labels(self.code_label(code)).inc()

    def observe_engine(self, engine: str, kind: str, outcome: str, duration_s: float) -> None:
        self.engine_latency.labels(engine, kind, outcome).observe(max(duration_s, 0.0))

    def instrument(self, store: GraphStore) -> InstrumentedStore:
        return InstrumentedStore(store, self.observe_engine)

    @property
    def extension(self) -> Callable[[], SchemaExtension]:
        """A factory for ``strawberry.Schema(extensions=...)``: one instance per request."""

        def make() -> SchemaExtension:
            return MetricsExtension(metrics=self)

        return make

    # -- exposing ------------------------------------------------------------------

    def exposition(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)

    def response(self) -> Response:
        return Response(self.exposition(), media_type=CONTENT_TYPE_LATEST)


def metrics_response(metrics: Metrics) -> Response:
    """The body of ``GET /metrics`` in the Prometheus text format."""
    return metrics.response()


def error_code(error: GraphQLError) -> str:
    """The code a caller sees; the same decision ``api.errors.ErrorCodes`` makes, so the
    extension counts correctly on either side of it."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if isinstance(error.original_error, CreditGraphError):
        return error.original_error.code
    if error.original_error is None:
        return "GRAPHQL_VALIDATION_FAILED"
    return "INTERNAL"


def outcome_of(data: Any, errors: Sequence[GraphQLError] | None) -> str:
    if not errors:
        return "ok"
    return "error" if data is None else "partial"


class MetricsExtension(SchemaExtension):
    """Counts each operation with its name, duration, outcome and error codes.

    List it before ``ErrorCodes`` (extensions leave in reverse order, so it then sees
    the codes callers get).
    """

    def __init__(self, *, metrics: Metrics) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        failure: str | None = "INTERNAL"
        try:
            yield
            failure = None
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            # Strawberry answers these with HTTP 400 outside any GraphQL result.
            failure = "BAD_REQUEST"
            raise
        except asyncio.CancelledError:
            # The router's request timeout cancels the operation; it answers TIMEOUT.
            failure = "CANCELLED"
            raise
        finally:
            elapsed = time.perf_counter() - start
            ec = self.execution_context
            try:
                name = ec.operation_name
            except Exception:  # a metric must never fail the request
                name = None
            if failure is not None:
                self.metrics.record_request(name, "error", [failure], elapsed)
            else:
                result = ec.result
                errors = result.errors if result is not None else ec.pre_execution_errors
                data = result.data if result is not None else None
                self.metrics.record_request(
                    name,
                    outcome_of(data, errors),
                    [error_code(e) for e in errors or ()],
                    elapsed,
                )


class InstrumentedStore(DelegatingStore):
    """A store that times every engine call of the one it wraps and delegates the rest.

    Batched writes go through ``write_one`` and ``write`` here, so each batch is one
    observation; anything not part of ``GraphStore`` is forwarded untouched.
    """

    def __init__(
        self, inner: GraphStore, observe: Callable[[str, str, str, float], None]
    ) -> None:
        super().__init__(inner)
        self._observe = observe

    def _timed(self, kind: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        outcome = "error"
        try:
            result = call()
            outcome = "ok"
            return result
        finally:
            self._observe(self.engine_name, kind, outcome, time.perf_counter() - start)

    def read(self, query: str, params: Params | None = None) -> list[Row]:
        rows: list[Row] = self._timed("read", lambda: self.inner.read(query, params))
        return rows

    def write(self, statements: Sequence[Statement]) -> list[list[Row]]:
        out: list[list[Row]] = self._timed("write", lambda: self.inner.write(statements))
        return out
