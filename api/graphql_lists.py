"""Red and black lists as of a date (issue 5, item 6): ``listEntries``, ``listMembers``
and ``Subject.lists``.

Every entry is built from a record the caller may see on the date asked
(``AccessRules.can_see_record``), so a list never tells a caller about a record its
profile would hide; an entry a provider's correction took off the list is for operators
only; ID numbers go through ``shown_code`` like everywhere else.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api import lists
from api.checks import check_key
from api.context import RequestContext
from api.graphql_types import ctx_of
from api.log_masking import shown_opt
from api.person_guard import guard_person
from api.request_work import in_thread
from schema.access import CallerRole, can_see_subject, shown_code


def _visible(ctx: RequestContext, day: dt.date) -> lists.ListVisible:
    caller, rules = ctx.caller, ctx.rules

    def visible(record: Any, subject_kind: str, subject_ended: Any) -> bool:
        return rules.can_see_record(
            caller, record, subject_kind=subject_kind, subject_ended=subject_ended, today=day,
            now=ctx.today,
        )

    return visible


def _sees_left(ctx: RequestContext) -> bool:
    """Whether the caller sees an entry a provider's correction took off the list (the
    record itself may still be in force): operators only, as for every entry that has
    left the list (the others see a record only while it is in force, and an entry only
    while it keeps its subject on the list)."""
    return ctx.caller.role is CallerRole.OPERATOR


@strawberry.type(description="A stretch of time on the list: from enteredOn to the day "
                 "before exitOn.")
class ListPeriod:
    entered_on: dt.date
    exit_on: dt.date | None = strawberry.field(
        description="First day off the list; null: no end is known yet."
    )


@strawberry.type(description="What one credit record says about its subject and a red or "
                 "black list (Nantong Art. 17, 28; Yangjiang Art. 20).")
class ListEntry:
    list_kind: str = strawberry.field(name="list", description="red or black.")
    record_uid: str
    subject_code: str = strawberry.field(description="Masked unless the caller may see it.")
    title: str | None
    authority: str | None
    document_no: str | None
    entered_on: dt.date = strawberry.field(
        description="The record's decision date: the subject is on the list from that day."
    )
    exit_on: dt.date | None = strawberry.field(
        description="First day after enteredOn on which the record no longer keeps its "
        "subject on the list (disclosure period ended, withdrawn, revoked, repaired, "
        "deleted, withheld or suspended, or a correction took it off the list); null: no "
        "end is known yet."
    )
    as_of: dt.date
    on_list: bool = strawberry.field(description="On the list on asOf.")
    standing: str = strawberry.field(
        description="The record on asOf: in_force, not_yet, archived, withdrawn, revoked, "
        "repaired, deleted, withheld, suspended."
    )
    reason: str = strawberry.field(description="Why it is, or is not, on the list on asOf.")
    exit_reason: str | None = strawberry.field(description="Why it leaves on exitOn.")
    periods: list[ListPeriod] = strawberry.field(
        description="Every stretch on the list; more than one when the record came back "
        "into force."
    )

    @classmethod
    def of(cls, e: lists.ListEntry, ctx: RequestContext) -> ListEntry:
        return cls(
            list_kind=e.list_kind.value,
            record_uid=e.record_uid,
            subject_code=shown_code(ctx.caller, e.subject_code),
            title=shown_opt(ctx.caller, e.title),
            authority=shown_opt(ctx.caller, e.authority),
            document_no=shown_opt(ctx.caller, e.document_no),
            entered_on=e.entered_on,
            exit_on=e.exit_on,
            as_of=e.on,
            on_list=e.on_list,
            standing=e.standing.value,
            reason=e.reason,
            exit_reason=e.exit_reason,
            periods=[ListPeriod(entered_on=p.entered_on, exit_on=p.exit_on) for p in e.periods],
        )


@strawberry.type(description="A subject on the list on asOf, with the entries that put it "
                 "there.")
class ListMember:
    code: str = strawberry.field(description="USCC, or the ID number (masked unless allowed).")
    name: str | None
    kind: str
    terminated: dt.date | None
    entered_on: dt.date = strawberry.field(description="Its earliest entry still in force.")
    entries: list[ListEntry]


@strawberry.type(description="One page of a list's members, ordered by subject code.")
class ListMembersPage:
    list_kind: str = strawberry.field(name="list")
    as_of: dt.date
    members: list[ListMember]
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null when the page is empty."
    )
    has_more: bool


async def subject_lists(
    info: Info[Any, Any], key: str, as_of: dt.date | None
) -> list[ListEntry]:
    """``Subject.lists``: from the profile's batched records, in their content on the day."""
    ctx = ctx_of(info)
    assert ctx.loaders is not None
    rows = await ctx.loaders.records.load(key)
    day = as_of or ctx.today
    rows = [dict(r) for r in rows]
    versions = await in_thread(lists.versions_of, ctx.state.store, rows)
    found = lists.entries_of(rows, policy=ctx.state.policy, on=day, versions=versions,
                             visible=_visible(ctx, day), sees_left=_sees_left(ctx))
    if found:
        ctx.touch(key)
    return [ListEntry.of(e, ctx) for e in found]


@strawberry.type
class ListsQuery:
    @strawberry.field(description="A subject's red- and black-list entries with their entry "
                      "and exit dates, seen on asOf (today by default).")
    async def list_entries(
        self, info: Info[Any, Any], code: str, as_of: dt.date | None = None
    ) -> list[ListEntry]:
        ctx = ctx_of(info)
        key = check_key(code)
        guard_person(ctx, key)
        day = as_of or ctx.today
        found = await in_thread(
            lambda: lists.list_entries(
                ctx.state.store, key, policy=ctx.state.policy, on=day,
                visible=_visible(ctx, day), sees_left=_sees_left(ctx),
            )
        )
        ctx.touch(key)
        ctx.count(len(found))
        return [ListEntry.of(e, ctx) for e in found]

    @strawberry.field(description="The subjects on the red or black list on asOf (today by "
                      f"default), by code, at most {lists.MAX_MEMBERS_PAGE} a page.")
    async def list_members(
        self,
        info: Info[Any, Any],
        list_name: Annotated[str, strawberry.argument(name="list", description="red or black.")],
        as_of: dt.date | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> ListMembersPage:
        ctx = ctx_of(info)
        kind = lists.list_kind(list_name)
        day = as_of or ctx.today
        caller, policy = ctx.caller, ctx.state.policy
        page = await in_thread(
            lambda: lists.list_members(
                ctx.state.store, kind, policy=policy, on=day, first=first, after=after,
                visible=_visible(ctx, day),
                subject_visible=lambda subject_kind: can_see_subject(caller, subject_kind, policy),
            )
        )
        ctx.touch(*(m.code for m in page.members))
        ctx.count(len(page.members))
        return ListMembersPage(
            list_kind=page.list_kind.value,
            as_of=page.on,
            members=[
                ListMember(
                    code=shown_code(caller, m.code),
                    name=m.name,
                    kind=m.kind,
                    terminated=m.terminated,
                    entered_on=m.entered_on,
                    entries=[ListEntry.of(e, ctx) for e in m.entries],
                )
                for m in page.members
            ],
            end_cursor=page.end_cursor,
            has_more=page.has_more,
        )
