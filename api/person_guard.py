"""The public never looks up a natural person (Wuhan Art. 19), whatever the field.

Decided from the code's checksum, not from the graph, so a refusal says nothing about
whether a person exists. About one ID number in thirty also passes as a USCC, and a few
organisations hold such a code: those, and only those, are looked up, and let through
when the graph has an organisation with that code. A person and an unknown code are
refused alike, so the lookup still says nothing about a person.
"""

from __future__ import annotations

from api.context import RequestContext
from queries.subjects import ENTITY_WITH_CODE
from schema.access import can_see_persons
from schema.codes import PersonIdInfo, classify, is_external, kind_is_open
from schema.errors import Forbidden


def guard_person(ctx: RequestContext, key: str) -> None:
    """Raise ``Forbidden`` when the caller may not see persons and ``key`` is one's."""
    if is_external(key) or can_see_persons(ctx.caller, ctx.state.policy):
        return
    if not isinstance(classify(key), PersonIdInfo):
        return
    if kind_is_open(key) and ctx.state.store.read(ENTITY_WITH_CODE, {"code": key}):
        return
    raise Forbidden("natural persons' information is not public; use an API key")
