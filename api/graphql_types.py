"""GraphQL types, kept apart from the domain models they are built from."""

from __future__ import annotations

import datetime as dt

import strawberry

from schema import sanctions
from schema.codes import mask_code


def _shown(code: str, reveal: frozenset[str]) -> str:
    """ID numbers are personal data: clear only for codes the caller may see."""
    return code if code in reveal else mask_code(code)


@strawberry.type(description="A measure (or incentive) that applies, with why it applies.")
class AppliedMeasure:
    measure: str
    name: str
    kind: str
    basis_record_id: str
    via: list[str] = strawberry.field(
        description="Codes from the checked subject to the record's subject."
    )
    role: str | None
    valid_from: dt.date
    valid_until: dt.date | None
    legal_basis: str

    @classmethod
    def of(cls, m: sanctions.AppliedMeasure, reveal: frozenset[str]) -> AppliedMeasure:
        return cls(
            measure=m.measure,
            name=m.name,
            kind=m.kind,
            basis_record_id=m.basis_record_id,
            via=[_shown(c, reveal) for c in m.via],
            role=m.role,
            valid_from=m.valid_from,
            valid_until=m.valid_until,
            legal_basis=m.legal_basis,
        )


@strawberry.type(description="A person barred from office who holds an office role on asOf.")
class Conflict:
    person_code: str
    entity_code: str
    role: str
    since: dt.date | None
    basis_record_ids: list[str]

    @classmethod
    def of(cls, c: sanctions.Conflict, reveal: frozenset[str]) -> Conflict:
        return cls(
            person_code=_shown(c.person_code, reveal),
            entity_code=c.entity_code,
            role=c.role,
            since=c.since,
            basis_record_ids=list(c.basis_record_ids),
        )


@strawberry.type(description="May this subject be given X? CONTRACT.md section 4.")
class SanctionCheck:
    check_id: str
    code: str
    subject_kind: str
    subject_name: str | None
    as_of: dt.date
    policy: str
    restricted: bool
    measures: list[AppliedMeasure]
    incentives: list[AppliedMeasure]
    conflicts: list[Conflict]

    @classmethod
    def of(cls, c: sanctions.SanctionCheck, reveal: frozenset[str]) -> SanctionCheck:
        """``reveal``: ID numbers the caller may see in clear (at least the one it asked)."""
        return cls(
            check_id=c.check_id,
            code=c.code,
            subject_kind=c.subject_kind,
            subject_name=c.subject_name,
            as_of=c.as_of,
            policy=c.policy,
            restricted=c.restricted,
            measures=[AppliedMeasure.of(m, reveal) for m in c.measures],
            incentives=[AppliedMeasure.of(m, reveal) for m in c.incentives],
            conflicts=[Conflict.of(x, reveal) for x in c.conflicts],
        )
