"""The GraphQL endpoint: a gate before execution and an audit entry after it.

Strawberry's router is extended at its two seams. Before the schema runs, the gate
authenticates the key, applies the per-key rate limit and requires ``X-Purpose`` of
every caller with a key, so a refused request reads nothing. After it, every request
made with a key gets one audit entry (Wuhan Art. 28, Zhengzhou Art. 19); if that entry
cannot be written the caller gets ``AUDIT_UNAVAILABLE`` instead of the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Request
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, OperationDefinitionNode
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.http import process_result as default_process_result
from strawberry.types import ExecutionResult

from api import fair_share, request_work
from api.audit import AuditLog, AuditRecord
from api.context import RequestContext
from api.dataloaders import make_loaders
from api.errors import coded_error
from api.keys import KeyInfo, KeyResolver, _bearer_token, key_hash
from api.log_masking import mask_name
from api.metrics import Metrics
from api.ratelimit import RateLimiter
from api.state import AppState
from schema.errors import (
    AuditUnavailable,
    CreditGraphError,
    InvalidInput,
    PurposeRequired,
    RateLimited,
    RequestTimeout,
    Unauthenticated,
)
from schema.workdays import china_today

log = logging.getLogger("credit_graph.api")

MAX_PURPOSE = 500

#: The audit entry of a request whose key names no key (unknown, or not ``Bearer``):
#: nobody can be named, and the secret presented is never written, not even hashed. A
#: key name cannot start with ``(`` (``api.keys``), so no real key reads the same.
UNKNOWN_KEY = "(unknown key)"
UNKNOWN_ROLE = "unknown"

#: ``ctx.extra`` entries: the Authorization header still to be looked up (the context
#: getter leaves it to the router, which rate-limits the address first), and the key a
#: refused header named (``api.keys.KeyInfo``, or None when it names none).
_PENDING_AUTHORIZATION = "pending_authorization"
_REFUSED_KEY = "refused_key"
#: Whether the request named its operation (``operationName``).
_OPERATION_NAMED = "operation_named"


def coded(error: CreditGraphError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


def read_purpose(raw: str | None) -> str | None:
    """Header values arrive as latin-1; a client sending UTF-8 (Chinese text) is decoded."""
    if raw is None:
        return None
    try:
        text = raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        text = raw
    text = text.strip()
    return text or None


class OperationFacts(SchemaExtension):
    """Copies the operation's name and root fields into the context for the audit entry.

    The name is the caller's free choice and goes on to the audit log and the public
    ``/metrics``: an ID number in it is masked here, once, for every later use."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context.get("ctx") if isinstance(ec.context, dict) else None
        if isinstance(ctx, RequestContext) and ec.graphql_document is not None:
            ops = [d for d in ec.graphql_document.definitions
                   if isinstance(d, OperationDefinitionNode)]
            if len(ops) > 1 and not ctx.extra.get(_OPERATION_NAMED):
                # Strawberry runs the first operation; the GraphQL spec (GetOperation)
                # says a document of several needs operationName, and running one the
                # caller did not choose (a mutation, say) is worse than refusing.
                ec.result = GraphQLExecutionResult(data=None, errors=[GraphQLError(
                    f"the document has {len(ops)} operations: say which one to run in "
                    "operationName", extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
                )])
                yield
                return
            op = next(
                (o for o in ops if ec.operation_name is None
                 or (o.name is not None and o.name.value == ec.operation_name)),
                None,
            )
            if op is not None:
                ctx.operation = mask_name(ec.operation_name or (op.name.value if op.name else ""))
                ctx.fields = [
                    f"{op.operation.value}.{sel.name.value}"
                    for sel in op.selection_set.selections
                    if hasattr(sel, "name")
                ]
        yield


class CreditGraphRouter(GraphQLRouter[dict[str, Any], None]):
    def __init__(
        self,
        *args: Any,
        timeout_s: float,
        limiter: RateLimiter,
        audit: Callable[[], AuditLog],
        metrics: Metrics,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._limiter = limiter
        self._audit = audit

    def decode_json(self, data: str | bytes) -> object:
        """Random bytes made Strawberry's decoder raise UnicodeDecodeError, and a JSON
        number or string made it call ``.get`` on it: both were 500s. Any body that is
        not a JSON object (or a list, which the batching check refuses) is a JSON error,
        answered 400 like other malformed bodies. JSON nested deeper than the decoder's
        recursion limit (``[[[...]]]``, 100k deep) raised RecursionError: a 500 too."""
        try:
            value = super().decode_json(data)
        except UnicodeDecodeError:
            raise json.JSONDecodeError("the body is not JSON in UTF-8", "", 0) from None
        except RecursionError:
            raise json.JSONDecodeError("the body is nested too deeply", "", 0) from None
        if not isinstance(value, dict | list):
            raise json.JSONDecodeError("the body must be a JSON object", "", 0)
        if isinstance(value, dict) and not isinstance(value.get("operationName"), str | None):
            # Strawberry passed it on and the execution failed as INTERNAL.
            raise json.JSONDecodeError("operationName must be a string", "", 0)
        return value

    async def _authenticate(self, ctx: RequestContext) -> CreditGraphError | None:
        """Look up a key the context getter could not resolve from its cache.

        A header that is not a live key is rate-limited by client address, as the public
        is: a burst of made-up keys was a burst of graph reads, each answered
        UNAUTHENTICATED and none RATE_LIMITED. So while the address is over its limit,
        no lookup is made at all (a live key resolved in the last 30 s is cached and
        never gets here); each refused lookup takes one of the address's tokens.
        """
        authorization = ctx.extra.pop(_PENDING_AUTHORIZATION, None)
        if authorization is None:
            return None
        address = f"client:{ctx.client}"
        keys = ctx.state.keys
        try:
            if self._limiter.retry_after(address) > 0:
                self._limiter.check(address)  # RateLimited, unless refilled meanwhile
            ctx.caller = await run_in_threadpool(keys.caller, authorization, ctx.today)
            ctx.auth_error = None
            return None
        except Unauthenticated as e:
            ctx.auth_error = e
            ctx.extra[_REFUSED_KEY] = _named_key(keys, authorization)
            with contextlib.suppress(RateLimited):
                self._limiter.check(address)
            return e
        except CreditGraphError as e:
            return e

    def _gate(self, ctx: RequestContext) -> CreditGraphError | None:
        if ctx.auth_error is not None:
            return ctx.auth_error
        caller = ctx.caller
        try:
            self._limiter.check(caller.key_name or f"client:{ctx.client}")
            if caller.is_public:
                return None
            if ctx.purpose is None:
                return PurposeRequired(
                    "X-Purpose: a request with an API key must say why it reads the data "
                    "(Wuhan Art. 28, Zhengzhou Art. 19); nothing was read"
                )
            if len(ctx.purpose) > MAX_PURPOSE:
                return InvalidInput(f"X-Purpose: at most {MAX_PURPOSE} characters")
        except CreditGraphError as e:
            return e
        return None

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: dict[str, Any],
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        ctx: RequestContext = context["ctx"]
        ctx.extra[_OPERATION_NAMED] = getattr(request_data, "operation_name", None) is not None
        started = time.perf_counter()
        refused = await self._authenticate(ctx) or self._gate(ctx)
        if refused is not None:
            # Refused before the schema ran: the metrics extension never sees it.
            ctx.extra["refused"] = refused.code
            self._metrics.record_request(
                None, "refused", [refused.code], time.perf_counter() - started
            )
            return ExecutionResult(data=None, errors=[coded(refused)])
        if not ctx.caller.is_public and ctx.caller.key_name is not None:
            grants = ctx.state.keys.cached_grants(ctx.caller.key_name, ctx.today)
            if grants is None:
                try:
                    grants = await run_in_threadpool(
                        ctx.state.keys.grants, ctx.caller.key_name, ctx.today
                    )
                except CreditGraphError as e:
                    return ExecutionResult(data=None, errors=[coded(e)])
            ctx.caller = dataclasses.replace(ctx.caller, grants=grants)
        try:
            with request_work.opened() as work:
                try:
                    result = await asyncio.wait_for(
                        fair_share.admitted(self, ctx, request_data, super().execute_single(
                            request, request_adapter, sub_response, context, root_value,
                            request_data,
                        )),
                        timeout=self._timeout_s,
                    )
                except TimeoutError:
                    work.cancel()  # its threads stop at their next engine read
                    raise
        except TimeoutError:
            ctx.extra["refused"] = RequestTimeout.code
            self._metrics.record_request(
                ctx.operation or None, "error", [RequestTimeout.code],
                time.perf_counter() - started,
            )
            return ExecutionResult(
                data=None,
                errors=[coded(RequestTimeout(
                    f"the request took longer than {self._timeout_s:g} s and was stopped"
                ))],
            )
        refused_code = ctx.extra.get("refused")
        if refused_code is not None:
            # Held back by the fair share: the schema (and its metrics extension) never
            # ran, so the refusal is counted here, as the gate's are above.
            self._metrics.record_request(
                ctx.operation or None, "refused", [str(refused_code)],
                time.perf_counter() - started,
            )
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            # Errors raised outside ErrorCodes' reach (a cached parse, a gate refusal)
            # get their code here, so every error a caller sees has one.
            result.errors = [
                e if (e.extensions or {}).get("code") else coded_error(e) for e in result.errors
            ]
        response = default_process_result(result)
        ctx: RequestContext | None = getattr(request.state, "cg_ctx", None)
        if ctx is None:
            return response
        if ctx.auth_error is not None and _REFUSED_KEY in ctx.extra:
            # A header that was looked up and is not a live key: refused, and audited
            # under the key it names (revoked, expired) or as an unknown key.
            named = ctx.extra[_REFUSED_KEY]
            key_name, key_role = (
                (named.name, named.role.value) if named is not None
                else (UNKNOWN_KEY, UNKNOWN_ROLE)
            )
        elif ctx.caller.is_public or ctx.caller.key_name is None:
            return response
        else:
            key_name, key_role = ctx.caller.key_name, ctx.caller.role.value
        codes = sorted({
            str((e.extensions or {}).get("code", "INTERNAL")) for e in (result.errors or [])
        })
        refused = ctx.extra.get("refused")
        if refused:
            outcome = f"refused:{refused}"
        elif codes and result.data is None:
            outcome = "error:" + ",".join(codes)
        elif codes:
            outcome = "partial:" + ",".join(codes)
        else:
            outcome = "ok"
        record = AuditRecord(
            key_name=key_name,
            key_role=key_role,
            operation=ctx.operation,
            fields=ctx.fields,
            subjects=list(ctx.touched),
            purpose=ctx.purpose,
            client=ctx.client,
            results=ctx.results,
            outcome=outcome,
        )
        try:
            audit_log = self._audit()
            if audit_log.try_append(record) is None:  # another writer: wait on a thread
                await run_in_threadpool(audit_log.append, record)
        except Exception as e:
            log.error("audit entry not written (%s); the request is refused", type(e).__name__)
            err = e if isinstance(e, AuditUnavailable) else AuditUnavailable(
                "the audit log could not be written; the request was not answered"
            )
            return {"data": None, "errors": [coded(err).formatted]}
        return response


def _named_key(keys: KeyResolver, authorization: str | None) -> KeyInfo | None:
    """The key a refused header names (revoked or expired), or None: from the resolver's
    cache, which the refused lookup has just filled, so this reads nothing more."""
    token = _bearer_token(authorization or "")
    try:
        return keys._lookup(key_hash(token)) if token is not None else None
    except CreditGraphError:  # evicted from the cache and the engine is down meanwhile
        return None


def make_context_getter(audit: Callable[[], AuditLog]) -> Callable[[Request], Any]:
    async def context(request: Request) -> dict[str, Any]:
        state: AppState = request.app.state.cg
        # China's calendar day, as every period of the regulations counts, whatever the
        # host's time zone (from 00:00 to 08:00 Beijing time a UTC host is a day behind).
        today = china_today()
        ctx = RequestContext(
            state=state,
            client=request.client.host if request.client else None,
            purpose=read_purpose(request.headers.get("x-purpose")),
            today=today,
        )
        authorization = request.headers.get("authorization")
        cached = state.keys.cached(authorization, today)
        if cached is not None:
            ctx.caller = cached
        else:
            # Looked up by the router once the address's rate limit allows it; until
            # then the caller is refused, never the public (nothing runs as it).
            ctx.extra[_PENDING_AUTHORIZATION] = authorization
            ctx.auth_error = Unauthenticated("Authorization: the key was not checked")
        ctx.loaders = make_loaders(state.store)
        request.state.cg_ctx = ctx
        return {"ctx": ctx, "request": request, "audit": audit}

    return context
