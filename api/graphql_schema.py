"""The Strawberry schema. Resolvers are thin: they call services off the event loop."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import Info

from api.checks import check_sanctions
from api.errors import ErrorCodes
from api.graphql_types import SanctionCheck
from api.state import AppState


def _state(info: Info[Any, Any]) -> AppState:
    state: AppState = info.context["state"]
    return state


@strawberry.type
class Query:
    @strawberry.field(description="The joint-punishment check of one subject (CONTRACT.md s.4).")
    async def check_sanctions(
        self,
        info: Info[Any, Any],
        code: str,
        measure: str | None = None,
        as_of: dt.date | None = None,
    ) -> SanctionCheck:
        state = _state(info)
        result = await run_in_threadpool(
            check_sanctions,
            state.store,
            code,
            policy=state.policy,
            catalogue=state.catalogue,
            as_of=as_of,
            measure=measure,
        )
        # No caller is authenticated yet (the API issue adds keys and roles), so every
        # caller is the public: only the ID number it asked about is shown in clear.
        return SanctionCheck.of(result, reveal=frozenset({result.code}))


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=10),
            lambda: MaxTokensLimiter(max_token_count=5000),
            ErrorCodes,
        ],
    )
