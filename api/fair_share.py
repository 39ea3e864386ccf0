"""Fair share: one key's heavy requests cannot take the service from the others.

The rate limit (``api/ratelimit.py``) counts requests, not what they cost: a request for
a three-hop neighbourhood, a six-hop path search, a 1,000-code batch or a whole-graph
analysis costs a worker seconds, and while it runs it holds a worker thread, the
interpreter and the engine, so the checks of other keys queue behind it. Measured
(``bench/load_mix.py --flood``): one key sending such requests back to back from six
connections made other keys' check p95 about 13 times its quiet value; one at a time,
still about 5 times. So two limits apply to each key's *expensive* requests, in each
worker process:

- ``per_key`` at once (default 1). Another waits for its turn, in arrival order, holding
  nothing but an asyncio waiter (no thread, no engine connection).
- a share of the worker's time: the seconds its expensive requests took are a debt paid
  back at ``share`` seconds per second (default 0.1); a key owing more than ``burst_s``
  (default 2) waits until it owes less, but only while other keys are being served
  (a request in flight, or one within ``idle_s``, default 1 s): alone, a key may use the whole
  worker, so a benchmark or a night-time re-check of every supplier is not slowed down
  for nobody's benefit.

A request that cannot start within ``wait_s`` (default 2 s) is refused with
``LIMIT_EXCEEDED``, after being held those ``wait_s`` all the same: a flood answered at
once would come straight back, and even refusals cost the service (parsing, the audit
entry). Waiting first keeps an analyst's occasional heavy query and an integrating system
sending its requests one after another working without refusals.

*Expensive* is decided from the document before it runs: a root field named in
``always`` (the analyses, exports, ownership chains...; settings
``CREDIT_GRAPH_FAIR_SHARE_FIELDS``), or a root field asking for more than the contract's
defaults (``ARGUMENT_BOUNDS``: ``paths`` beyond ``maxHops: 4, first: 5``,
``neighborhood`` beyond one hop or 500 nodes, batches beyond 100 codes), argument values
read from the document or its variables. Requests of the default sizes are ordinary
traffic, rationed by the rate limit only: with a time share they would be refused to a
system that sends 100-code batches back to back, which is what integrating systems do.
Fragments at the root count; a document that does not parse is not expensive (the schema
refuses it anyway).

Like the rate limit, the state is per process: with ``serve --workers N`` a key gets
``N`` times the turns and the share across the service.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    parse,
)
from strawberry.types import ExecutionResult

from api.hardening import json_int
from api.request_work import after_threads
from schema.errors import LimitExceeded

#: The parse bounds of ``api/hardening.py`` defaults: a document larger than the schema
#: would parse is not parsed here either.
MAX_SOURCE_LENGTH = 100_000
MAX_TOKENS = 5000

#: Root field -> argument -> the largest value that is still ordinary use (the contract's
#: defaults, CONTRACT.md section 3). A list argument is measured by its length.
ARGUMENT_BOUNDS: Mapping[str, Mapping[str, int]] = {
    "paths": {"maxHops": 4, "first": 5},
    "neighborhood": {"hops": 1, "limit": 500},
    "checkSanctionsBatch": {"codes": 100},
    "subjects": {"codes": 100},
    "listMembers": {"first": 100},
}

#: One root field as asked: its name and its arguments' value nodes.
Call = tuple[str, tuple[tuple[str, ValueNode], ...]]


@functools.lru_cache(maxsize=512)
def root_calls(query: str) -> tuple[Call, ...]:
    """The fields selected at the root of every operation in the document, with their
    arguments. Cached by text: integrating systems send the same few documents."""
    if len(query) > MAX_SOURCE_LENGTH:
        return ()
    try:
        doc = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return ()
    fragments = {d.name.value: d for d in doc.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    calls: list[Call] = []
    stack: list[SelectionSetNode] = [d.selection_set for d in doc.definitions
                                     if isinstance(d, OperationDefinitionNode)]
    spread: set[str] = set()
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FieldNode):
                calls.append((sel.name.value,
                              tuple((a.name.value, a.value) for a in sel.arguments or ())))
            elif isinstance(sel, InlineFragmentNode):
                stack.append(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in spread:
                spread.add(sel.name.value)
                target = fragments.get(sel.name.value)
                if target is not None:
                    stack.append(target.selection_set)
    return tuple(calls)


def _size(node: ValueNode, variables: Mapping[str, Any]) -> int | None:
    value: Any
    if isinstance(node, VariableNode):
        value = variables.get(node.name.value)
    elif isinstance(node, IntValueNode):
        value = int(node.value)
    elif isinstance(node, ListValueNode):
        value = node.values
    else:
        return None
    if isinstance(value, (list, tuple)):
        return len(value)
    return json_int(value)


def is_expensive(
    query: str | None,
    variables: Mapping[str, Any] | None,
    always: frozenset[str],
    bounds: Mapping[str, Mapping[str, int]] = ARGUMENT_BOUNDS,
) -> bool:
    """Whether the document asks for a field in ``always`` or beyond ``bounds``."""
    if not query:
        return False
    given = variables if isinstance(variables, Mapping) else {}
    for name, args in root_calls(query):
        if name in always:
            return True
        limits = bounds.get(name)
        if limits:
            for arg, node in args:
                bound = limits.get(arg)
                size = _size(node, given) if bound is not None else None
                if size is not None and bound is not None and size > bound:
                    return True
    return False


@dataclass
class _Lane:
    """One key's expensive requests: how many run, who waits (oldest first), and how many
    seconds of expensive work it owes (``debt``, as of ``at``)."""

    running: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    debt: float = 0.0
    at: float = 0.0


class FairShare:
    """Per-key admission of expensive requests; one instance per worker process.

    Two limits, both per key: ``per_key`` expensive requests at once, and a share of
    the worker's time: the seconds its expensive requests took are a debt that is paid
    back at ``share`` seconds per second; a key may owe up to ``burst_s`` and start a
    request, beyond that it waits for the debt to fall back. Used from the event loop
    only, so it needs no lock: nothing between two ``await`` points interleaves.
    """

    def __init__(
        self,
        *,
        per_key: int,
        wait_s: float,
        fields: Iterable[str],
        share: float = 1.0,
        burst_s: float = 0.0,
        idle_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_key < 1:
            raise ValueError("per_key must be at least 1")
        if wait_s < 0:
            raise ValueError("wait_s must not be negative")
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        if burst_s < 0:
            raise ValueError("burst_s must not be negative")
        self.per_key = per_key
        self.wait_s = wait_s
        self.fields = frozenset(fields)
        self.share = share
        self.burst_s = burst_s
        self._clock = clock
        self._lanes: dict[str, _Lane] = {}
        self._admitted = 0
        self.idle_s = idle_s
        #: Requests of any kind in flight per key, and the last two distinct keys seen
        #: arriving (newest first): enough to tell whether a key other than K is served.
        self._in_flight: dict[str, int] = {}
        self._recent: list[tuple[str, float]] = []

    def is_expensive(self, query: str | None, variables: Mapping[str, Any] | None) -> bool:
        return is_expensive(query, variables, self.fields)

    def running(self, key: str) -> int:
        lane = self._lanes.get(key)
        return lane.running if lane else 0

    def waiting(self, key: str) -> int:
        lane = self._lanes.get(key)
        return sum(not f.done() for f in lane.waiters) if lane else 0

    def debt(self, key: str) -> float:
        """Seconds of expensive work ``key`` owes now (0 when it is within its share)."""
        lane = self._lanes.get(key)
        return self._debt(lane) if lane else 0.0

    def __len__(self) -> int:
        """Keys with a request running or waiting, or a debt not yet paid back."""
        return len(self._lanes)

    async def acquire(self, key: str) -> None:
        """Take one of ``key``'s turns, waiting up to ``wait_s`` in all; else
        ``LimitExceeded``."""
        self._admitted += 1
        if self._admitted % 256 == 0:
            self._sweep()
        deadline = self._clock() + self.wait_s
        lane = self._lanes.setdefault(key, _Lane(at=self._clock()))
        if lane.running < self.per_key and not lane.waiters:
            lane.running += 1
        else:
            await self._wait_turn(key, lane)
        # The turn is held from here: give it back on every way out but admission.
        try:
            over = self._debt(lane) - self.burst_s
            if over > 0 and self.others_served(key):
                pause = over / self.share
                if self._clock() + pause > deadline:
                    # Held until the deadline all the same: a flood answered at once
                    # would come straight back, and refusals cost the service too.
                    await asyncio.sleep(max(deadline - self._clock(), 0.0))
                    retry = max(self._debt(lane) - self.burst_s, 0.0) / self.share
                    raise self._refusal(
                        f"its expensive requests have taken more than its share of "
                        f"{self.share:.0%} of this worker's time; retry after "
                        f"{math.ceil(retry * 100) / 100:.2f} s"
                    )
                await asyncio.sleep(pause)
        except BaseException:
            self.release(key, 0.0)
            raise

    async def _wait_turn(self, key: str, lane: _Lane) -> None:
        if self.wait_s <= 0:
            self._drop_if_idle(key, lane)
            raise self._refusal(self._busy())
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        lane.waiters.append(turn)
        timer = loop.call_later(self.wait_s, _expire, turn)
        try:
            await turn
        except TimeoutError:
            _discard(lane.waiters, turn)
            self._drop_if_idle(key, lane)
            raise self._refusal(self._busy()) from None
        except BaseException:
            # Cancelled while waiting (the request's own timeout). If the turn was handed
            # over at that very moment it is passed on, or it would be lost for good.
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.release(key, 0.0)
            else:
                _discard(lane.waiters, turn)
                self._drop_if_idle(key, lane)
            raise
        finally:
            timer.cancel()

    def release(self, key: str, spent_s: float) -> None:
        """End one of ``key``'s expensive requests, which took ``spent_s`` seconds: the
        time is added to its debt and the oldest waiter gets the turn."""
        lane = self._lanes.get(key)
        if lane is None:
            return
        lane.debt = self._debt(lane) + max(spent_s, 0.0)
        lane.at = self._clock()
        while lane.waiters:
            turn = lane.waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # the turn passes on; ``running`` stays
                return
        lane.running = max(lane.running - 1, 0)
        self._drop_if_idle(key, lane)

    async def run(
        self,
        key: str,
        query: str | None,
        variables: Mapping[str, Any] | None,
        work: Coroutine[Any, Any, ExecutionResult],
        on_refused: Callable[[LimitExceeded], None] | None = None,
    ) -> ExecutionResult:
        """``work`` now if cheap, after ``key``'s turn if expensive; else a coded refusal."""
        self._arrived(key)
        try:
            return await self._admit_and_run(key, query, variables, work, on_refused)
        finally:
            self._left(key)

    def others_served(self, key: str) -> bool:
        """Whether a key other than ``key`` has a request in flight or sent one within
        ``idle_s``: only then does the time share hold ``key`` back (when nobody else
        is asking, a key may use the whole worker)."""
        if any(k != key for k in self._in_flight):
            return True
        now = self._clock()
        return any(k != key and now - at <= self.idle_s for k, at in self._recent)

    def _arrived(self, key: str) -> None:
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        now = self._clock()
        self._recent = [(key, now), *[(k, t) for k, t in self._recent if k != key][:1]]

    def _left(self, key: str) -> None:
        n = self._in_flight.get(key, 0) - 1
        if n > 0:
            self._in_flight[key] = n
        else:
            self._in_flight.pop(key, None)

    async def _admit_and_run(
        self,
        key: str,
        query: str | None,
        variables: Mapping[str, Any] | None,
        work: Coroutine[Any, Any, ExecutionResult],
        on_refused: Callable[[LimitExceeded], None] | None,
    ) -> ExecutionResult:
        if not self.is_expensive(query, variables):
            return await work
        try:
            await self.acquire(key)
        except LimitExceeded as e:
            work.close()  # never started: nothing was read
            if on_refused is not None:
                on_refused(e)
            return ExecutionResult(
                data=None, errors=[GraphQLError(e.message, extensions={"code": e.code})]
            )
        except BaseException:
            work.close()
            raise
        started = self._clock()
        try:
            return await work
        finally:
            # A request that timed out leaves its threads running until their next
            # engine read: the turn is the key's until they end (api/request_work.py).
            after_threads(lambda: self.release(key, self._clock() - started))

    def _debt(self, lane: _Lane) -> float:
        return max(lane.debt - (self._clock() - lane.at) * self.share, 0.0)

    def _busy(self) -> str:
        return (f"at most {self.per_key} at a time, and this one waited {self.wait_s:g} s "
                f"for its turn; send the next when one has been answered")

    def _refusal(self, why: str) -> LimitExceeded:
        return LimitExceeded(
            f"too many expensive requests (paths, neighborhood, batches, analytics...) "
            f"from this key: {why}"
        )

    def _drop_if_idle(self, key: str, lane: _Lane) -> None:
        if (lane.running == 0 and not lane.waiters and self._debt(lane) == 0.0
                and self._lanes.get(key) is lane):
            del self._lanes[key]

    def _sweep(self) -> None:
        """Forget keys that are idle and owe nothing (a new key starts the same way)."""
        for key, lane in list(self._lanes.items()):
            self._drop_if_idle(key, lane)


def _expire(turn: asyncio.Future[None]) -> None:
    if not turn.done():
        turn.set_exception(TimeoutError())


def _discard(waiters: deque[asyncio.Future[None]], turn: asyncio.Future[None]) -> None:
    try:
        waiters.remove(turn)
    except ValueError:
        pass


# ---------------------------------------------------------------------------------------
# The router's hook


#: By ``id`` of the owner (a router is not hashable), dropped when the owner is collected.
_shares: dict[int, FairShare | None] = {}


def from_settings(settings: Any) -> FairShare | None:
    """The fair share the settings ask for, or None when it is off."""
    if not getattr(settings, "fair_share", False):
        return None
    fields = [f.strip() for f in str(settings.fair_share_fields).split(",") if f.strip()]
    return FairShare(per_key=settings.fair_share_per_key, wait_s=settings.fair_share_wait_s,
                     fields=fields, share=settings.fair_share_busy_share,
                     burst_s=settings.fair_share_busy_burst_s,
                     idle_s=settings.fair_share_idle_s)


async def admitted(owner: object, ctx: Any, request_data: Any,
                   work: Coroutine[Any, Any, ExecutionResult]) -> ExecutionResult:
    """Run one GraphQL request under the fair share of the app ``owner`` belongs to.

    ``owner`` (the router) keys the instance, so each app, and each worker process, has
    its own, made from the settings on its first request. A refusal is marked in
    ``ctx.extra["refused"]`` so the audit entry reads ``refused:LIMIT_EXCEEDED``.
    """
    ident = id(owner)
    if ident not in _shares:
        _shares[ident] = from_settings(ctx.state.settings)
        weakref.finalize(owner, _shares.pop, ident, None)
    share = _shares[ident]
    if share is None:
        return await work
    def refused(e: LimitExceeded) -> None:
        ctx.extra["refused"] = e.code

    key = ctx.caller.key_name or f"client:{ctx.client}"
    return await share.run(key, getattr(request_data, "query", None),
                           getattr(request_data, "variables", None), work, refused)


__all__ = [
    "ARGUMENT_BOUNDS", "FairShare", "admitted", "from_settings", "is_expensive", "root_calls",
]
