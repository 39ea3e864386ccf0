"""Who may read what: disclosure levels, natural persons, ID numbers (DOMAIN.md section 5).

One place decides, for every field, edge and list the API serves, whether a caller may
see it. Resolvers never test roles themselves: they ask these functions, so a record
hidden from a caller is hidden the same way in a profile, a path, a neighbourhood and
the explanations of a check, and the caller never learns it exists.

The rules, by record disclosure level (the caller always sees what is public):

- ``public``      everyone (for natural persons only when the policy makes them public);
- ``authorized``  the subject itself, operators, and keys the subject granted access to
                  (Wuhan Art. 23, Nantong Art. 22, Huancui Art. 22, Yangjiang Art. 16);
- ``shared``      agencies (government sharing, Wuhan Art. 22, Nantong Art. 21);
- ``limited``     only agencies named for the record's kind in ``limited_sharing.yaml``
                  (Zhengzhou Art. 15(3), 18).

A subject reads all of its own information (Zhengzhou Art. 18), including the records of
an organisation that ground a measure on it as a responsible person. Providers read what
is public plus the records they submitted themselves. Operators read everything.
Records that are not in force for disclosure (withdrawn, revoked, deleted, withheld, past
their disclosure period) are seen by operators only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from schema.codes import is_external, mask_code
from schema.models import Disclosure
from schema.policy import Policy
from schema.record_life import Standing, record_state, status_on
from schema.rulefiles import load_model

LIMITED_SHARING_PATH = Path(__file__).parent / "data" / "limited_sharing.yaml"


class CallerRole(StrEnum):
    PUBLIC = "public"
    SUBJECT = "subject"
    AGENCY = "agency"
    PROVIDER = "provider"
    OPERATOR = "operator"


#: Roles a key can be created with (the public has no key).
KEY_ROLES: tuple[CallerRole, ...] = (
    CallerRole.SUBJECT,
    CallerRole.AGENCY,
    CallerRole.PROVIDER,
    CallerRole.OPERATOR,
)


@dataclass(frozen=True)
class Caller:
    """Who is asking: the public, or the holder of a key with a role.

    ``grants`` are the subject codes whose authorisation this key holds today; they are
    read per request so a grant given or ended takes effect at once.
    """

    role: CallerRole
    key_name: str | None = None
    subject_code: str | None = None
    unit: str | None = None
    grants: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_public(self) -> bool:
        return self.role is CallerRole.PUBLIC

    @property
    def label(self) -> str:
        return self.key_name or "public"


PUBLIC = Caller(CallerRole.PUBLIC)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Unit = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]


class KindSharing(_Rule):
    units: Annotated[list[Unit], Field(min_length=1)]
    note: str


class LimitedSharing(_Rule):
    version: int
    kinds: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")], KindSharing]

    def units_for(self, kind: str) -> frozenset[str]:
        entry = self.kinds.get(kind)
        return frozenset(entry.units) if entry else frozenset()


@cache
def load_limited_sharing(path: Path = LIMITED_SHARING_PATH) -> LimitedSharing:
    return load_model(path, LimitedSharing)


def can_see_persons(caller: Caller, policy: Policy) -> bool:
    """Natural persons are never public unless the policy says so (Wuhan Art. 19)."""
    return not caller.is_public or policy.persons_public.allowed


def can_see_subject(caller: Caller, kind: str, policy: Policy) -> bool:
    return kind != "person" or can_see_persons(caller, policy)


def reveals_id(caller: Caller, code: str) -> bool:
    """ID numbers in clear only for the subject itself and operators."""
    return caller.role is CallerRole.OPERATOR or caller.subject_code == code


def shown_code(caller: Caller, code: str) -> str:
    return code if reveals_id(caller, code) else mask_code(code)


def shown_org_code(caller: Caller, code: str) -> str:
    """An organisation's code as ``caller`` may read it. A USCC is public, even one that
    also passes as an ID number; an ``ftm:`` id may carry an ID number
    (``ftm:cn-ric-3206...``), masked as any code."""
    return shown_code(caller, code) if is_external(code) else code


@dataclass(frozen=True)
class AccessRules:
    """The policy and the sharing catalogue the decisions depend on."""

    policy: Policy
    sharing: LimitedSharing

    def record_in_force(
        self, record: Mapping[str, Any], subject_kind: str, subject_ended: Any, today: dt.date
    ) -> bool:
        """Whether a record is disclosed at all on ``today``: its status on that date, its
        period, and the policy's rule for records under objection (``record_life``)."""
        return record_state(
            record, subject_kind=subject_kind, subject_ended=subject_ended,
            policy=self.policy, on=today,
        ).in_force

    def can_see_record(
        self,
        caller: Caller,
        record: Mapping[str, Any],
        *,
        subject_kind: str,
        today: dt.date,
        subject_ended: Any = None,
        about: str | None = None,
        now: dt.date | None = None,
    ) -> bool:
        """``record`` is the node's properties; ``about`` is a code the record grounds a
        measure on through a role (the checked person), which the subject may read.

        ``today`` is the date asked; ``now`` the day the question is answered, given by
        the API. A past date is answered as it stood then (issue 5: "the past is not
        rewritten"), withdrawn and archived records included, with one exception: a
        record deleted by now (an objection found it wrong or unverifiable, Wuhan Art. 32)
        is seen by operators only, whatever the date asked; otherwise ``asOf`` in the
        past kept serving it, and grounding checks, for anyone."""
        if caller.role is CallerRole.OPERATOR:
            return True
        subject = str(record.get("subject", ""))
        own = caller.role is CallerRole.SUBJECT and caller.subject_code is not None and (
            caller.subject_code == subject
            or caller.subject_code == about
            or caller.subject_code in (record.get("responsible") or [])
        )
        if not self.record_in_force(record, subject_kind, subject_ended, today):
            return False
        if now is not None and today < now and status_on(record, now) == Standing.DELETED:
            return False
        if own:
            return True
        if not can_see_subject(caller, subject_kind, self.policy):
            return False
        level = str(record.get("disclosure") or Disclosure.PUBLIC.value)
        if level == Disclosure.PUBLIC.value:
            return True
        if caller.role is CallerRole.PROVIDER and record.get("provider") == caller.unit:
            return True
        if level == Disclosure.AUTHORIZED.value:
            return subject in caller.grants
        if level == Disclosure.SHARED.value:
            return caller.role is CallerRole.AGENCY
        if level == Disclosure.LIMITED.value:
            return (
                caller.role is CallerRole.AGENCY
                and caller.unit is not None
                and caller.unit in self.sharing.units_for(str(record.get("kind", "")))
            )
        return False
