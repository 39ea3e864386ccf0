"""The FastAPI application: GraphQL at /graphql, health at /healthz."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from strawberry.fastapi import GraphQLRouter

from api.engine import open_store
from api.graphql_schema import build_schema
from api.settings import Settings, load_settings
from api.state import AppState
from graph.store import GraphStore
from loaders.demo import load_demo_if_empty
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None or close_store
        s = store if store is not None else await run_in_threadpool(open_store, cfg)
        try:
            if demo:
                summary = await run_in_threadpool(load_demo_if_empty, s, policy)
                if summary is not None:
                    log.info("demo data loaded: %s", summary.as_dict())
            app.state.cg = AppState(settings=cfg, store=s, policy=policy, catalogue=catalogue)
            yield
        finally:
            if own:
                await run_in_threadpool(s.close)

    app = FastAPI(title="credit-graph", lifespan=lifespan, docs_url=None, redoc_url=None)

    async def context(request: Request) -> dict[str, Any]:
        return {"state": request.app.state.cg, "request": request}

    graphql = GraphQLRouter(
        build_schema(),
        context_getter=context,
        graphql_ide=None if cfg.production else "graphiql",
        allow_queries_via_get=False,
    )
    app.include_router(graphql, prefix="/graphql")

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        state: AppState = request.app.state.cg
        engine = state.store.engine_name
        try:
            await run_in_threadpool(state.store.ping)
        except CreditGraphError as e:
            return JSONResponse(
                {"status": "unavailable", "engine": engine, "error": e.message}, status_code=503
            )
        return JSONResponse({"status": "ok", "engine": engine, "policy": state.policy.name})

    return app
