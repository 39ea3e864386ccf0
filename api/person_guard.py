"""The public never looks up a natural person (Wuhan Art. 19), whatever the field.

Decided from the code's checksum, not from the graph, so a refusal says nothing about
whether a person exists. About one ID number in thirty also passes as a USCC, and a few
organisations hold such a code; an ``ftm:`` id may name either kind: those, and only
those, are looked up, and let through when the graph has an organisation with that
code. A person and an unknown code are refused alike, so the lookup still says nothing
about a person.
"""

from __future__ import annotations

from api.context import RequestContext
from queries.subjects import ENTITY_WITH_CODE
from schema.access import can_see_persons
from schema.codes import PersonIdInfo, classify, is_external, kind_is_open
from schema.errors import Forbidden


def guard_person(ctx: RequestContext, key: str) -> None:
    """Raise ``Forbidden`` when the caller may not see persons and ``key`` is one's.

    An ``ftm:`` id does not say its kind at all (an OpenSanctions person without an ID
    number has one): it is let through only when an organisation has it, so the public
    learns neither the name of such a person nor that one exists."""
    if can_see_persons(ctx.caller, ctx.state.policy):
        return
    if is_external(key):
        open_kind = True
    elif isinstance(classify(key), PersonIdInfo):
        open_kind = kind_is_open(key)
    else:
        return
    if open_kind and ctx.state.store.read(ENTITY_WITH_CODE, {"code": key}):
        return
    raise Forbidden("natural persons' information is not public; use an API key")
