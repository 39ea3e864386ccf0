"""The FastAPI application: the web explorer at /, GraphQL at /graphql, health at /healthz,
metrics at /metrics."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.audit import AuditLog
from api.body_limit import BodyLimit
from api.check_ids import load_secret
from api.engine import open_store
from api.engine_watch import EngineWatch, WatchedStore
from api.graphql_router import CreditGraphRouter, make_context_getter
from api.graphql_schema import build_schema
from api.keys import KeyResolver, ensure_demo_key
from api.metrics import Metrics
from api.ratelimit import RateLimiter
from api.request_work import StoppableStore
from api.search import backfill_search_props
from api.settings import Settings, load_settings
from api.state import AppState
from api.web import mount_explorer
from graph.store import GraphStore
from loaders.demo import load_demo_if_empty
from schema.access import AccessRules, load_limited_sharing
from schema.catalogue import load_catalogue
from schema.errors import CreditGraphError
from schema.policy import load_policy

log = logging.getLogger("credit_graph.api")


def create_app(
    settings: Settings | None = None,
    *,
    demo: bool = False,
    store: GraphStore | None = None,
    close_store: bool = False,
) -> FastAPI:
    """Build the app; without a ``store`` it opens one in the lifespan.

    A ``store`` passed in is closed at shutdown only with ``close_store``: ``serve``
    hands over the store it opened (uvicorn re-raises SIGTERM after shutdown, so the
    lifespan is the last place that reliably runs), tests keep theirs to share an engine.
    """
    cfg = settings or load_settings()
    # Rules first: a broken policy or catalogue file stops start-up before any engine work.
    policy = load_policy(cfg.policy)
    catalogue = load_catalogue()
    access = AccessRules(policy, load_limited_sharing())
    metrics = Metrics()
    audit_lock = threading.Lock()
    audit_log: list[AuditLog] = []

    def audit() -> AuditLog:
        """Opened on first use, so a service that only answers the public never needs it."""
        with audit_lock:
            if not audit_log:
                audit_log.append(AuditLog(cfg.audit_path))
            return audit_log[0]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None or close_store
        raw = store if store is not None else await run_in_threadpool(open_store, cfg)
        # Restarts a dead embedded engine, reports any other one (api/engine_watch.py).
        watch = EngineWatch(
            raw,
            on_restart=metrics.engine_restarts.inc,
            on_state=lambda up: metrics.engine_up.set(1 if up else 0),
        )
        s = metrics.instrument(StoppableStore(WatchedStore(raw, watch)))
        try:
            if demo:
                summary = await run_in_threadpool(load_demo_if_empty, raw, policy)
                if summary is not None:
                    log.info("demo data loaded: %s", summary.as_dict())
                key_file = await run_in_threadpool(ensure_demo_key, raw, cfg.data_dir)
                log.warning("demo operator key (reads everything): %s", key_file)
            # Subjects loaded before search existed get their pinyin once (one scan when
            # none is missing).
            filled = await run_in_threadpool(backfill_search_props, raw)
            if filled:
                log.info("search properties added to %d subjects", filled)
            app.state.cg = AppState(
                settings=cfg,
                store=s,
                policy=policy,
                catalogue=catalogue,
                access=access,
                keys=KeyResolver(s),
                check_secret=await run_in_threadpool(load_secret, cfg.data_dir),
            )
            app.state.engine_watch = watch
            watch.start()
            yield
        finally:
            # Before the store closes, or the watch would restart the engine it stops.
            await run_in_threadpool(watch.stop)
            if audit_log:
                audit_log[0].close()
            if own:
                await run_in_threadpool(raw.close)

    app = FastAPI(title="credit-graph", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)

    graphql = CreditGraphRouter(
        build_schema(production=cfg.production, extra_extensions=[metrics.extension]),
        context_getter=make_context_getter(audit),
        graphql_ide=None if cfg.production else "graphiql",
        allow_queries_via_get=False,
        timeout_s=cfg.request_timeout_s,
        limiter=RateLimiter(cfg.rate_limit_per_s, cfg.rate_limit_burst),
        audit=audit,
        metrics=metrics,
    )
    app.include_router(graphql, prefix="/graphql")
    app.add_middleware(BodyLimit, max_bytes=cfg.max_body_bytes)
    mount_explorer(app)

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        state: AppState = request.app.state.cg
        engine = state.store.engine_name
        watch: EngineWatch = request.app.state.engine_watch
        try:
            await run_in_threadpool(state.store.ping)
        except CreditGraphError as e:
            down = {"status": "unavailable", "engine": engine, "error": e.message}
            return JSONResponse(down | watch.status(), status_code=503)
        up = {"status": "ok", "engine": engine, "policy": state.policy.name}
        return JSONResponse(up | watch.status())

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return metrics.response()

    return app


def app_from_environment() -> FastAPI:
    """The app as each uvicorn worker builds it (``serve --workers N``): the settings come
    from the environment, the store is opened in the worker's own lifespan."""
    _end_with_parent()
    return create_app(load_settings())


def _end_with_parent() -> None:
    """Ask the kernel to send this worker SIGTERM when ``serve`` dies. Why: killed with
    SIGKILL (an OOM kill, ``kill -9``), ``serve`` cannot stop its workers; they went on
    answering on its port, unsupervised, and the next ``serve`` could not bind it
    (found by probing). Linux only (``prctl``); elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("serve worker: cannot ask to end with its parent (errno %d)",
                    ctypes.get_errno())
    elif os.getppid() == 1:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
