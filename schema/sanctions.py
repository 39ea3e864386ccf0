"""The joint-punishment check's rules (CONTRACT.md section 4) over one traversal's rows.

The graph query (``queries.check.CHECK_TRAVERSAL``) finds every record that can reach the
checked subject and how; this module decides, with the active policy and the measures
catalogue, which of them ground which measure on ``as_of`` and explains each one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schema.catalogue import Catalogue, MeasureDef
from schema.codes import is_external, mask_code, validate_person_id
from schema.errors import InvalidCode, InvalidInput, NotFound
from schema.models import ListKind
from schema.policy import Policy, RecordFacts
from schema.record_life import record_state
from schema.record_view import act_date_on, as_date, record_facts

NO_OFFICE = "NO_OFFICE"


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class AppliedMeasure(_Out):
    measure: str
    name: str
    kind: str
    basis_record_id: str = Field(serialization_alias="basisRecordId")
    via: list[str]
    role: str | None = None
    valid_from: dt.date = Field(serialization_alias="validFrom")
    valid_until: dt.date | None = Field(serialization_alias="validUntil")
    legal_basis: str = Field(serialization_alias="legalBasis")


class Conflict(_Out):
    """A person barred from office who holds an office role on ``as_of`` (rule 5)."""

    person_code: str = Field(serialization_alias="personCode")
    entity_code: str = Field(serialization_alias="entityCode")
    role: str
    since: dt.date | None = None
    basis_record_ids: list[str] = Field(serialization_alias="basisRecordIds")


class SanctionCheck(_Out):
    check_id: str = Field(serialization_alias="checkId")
    code: str
    subject_kind: str = Field(serialization_alias="subjectKind")
    subject_name: str | None = Field(serialization_alias="subjectName")
    as_of: dt.date = Field(serialization_alias="asOf")
    policy: str
    restricted: bool
    measures: list[AppliedMeasure]
    incentives: list[AppliedMeasure]
    conflicts: list[Conflict]

    def to_json_dict(self) -> dict[str, Any]:
        """The same field names as GraphQL's ``SanctionCheck`` (CONTRACT.md section 4)."""
        return self.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class _Valid:
    """A record that is in force on ``as_of``, with its facts and validity window."""

    uid: str
    facts: RecordFacts
    valid_from: dt.date
    valid_until: dt.date | None


def _in_force(row: Mapping[str, Any], as_of: dt.date, policy: Policy) -> _Valid | None:
    rec = row["record"]
    facts = record_facts(rec, row["record_subject_kind"], row.get("record_subject_ended"))
    state = record_state(
        rec, subject_kind=row["record_subject_kind"],
        subject_ended=row.get("record_subject_ended"), policy=policy, on=as_of, facts=facts,
    )
    if not state.in_force:
        return None
    return _Valid(rec["uid"], facts, facts.decided_on, state.disclosed_until)


#: The grounds on which a record reaches the checked subject, strongest first. A record
#: reached on several (a legal representative the record also names as responsible) is
#: listed once, with the first that applies: the subject's own record needs no role;
#: then the order of rule 2 and of Nantong Art. 29 ("legal representative, main
#: principal and other directly responsible persons"). An office held on the act date
#: follows from the register and stands even if the provider left the person out of
#: ``responsible``; being named is the residual ground.
_GROUND_ORDER: dict[str | None, int] = {
    None: 0,
    "legal_representative": 1,
    "principal": 2,
    "responsible": 4,
}


def _ground_rank(role: str | None, via: list[str]) -> tuple[int, tuple[str, ...]]:
    """Lower is stronger; ``via`` breaks what remains of a tie so the answer is the same
    whatever order the engine returns its rows in."""
    return _GROUND_ORDER.get(role, 3), tuple(via)


def _answering_person(row: Mapping[str, Any], code: str, subject_kind: str) -> str | None:
    """The natural person a row's record would ground something on, if any."""
    reach = row["reach"]
    if reach == "officer":
        return str(row["officer"])
    if reach in ("role", "named") or subject_kind == "person":
        return code
    return None


def _minor_at_act(person: str, rec: Mapping[str, Any], as_of: dt.date, policy: Policy) -> bool:
    """Whether ``person`` was under the policy's minimum age on the record's act date
    (as known on ``as_of``). Public credit information covers natural persons of full
    age only (Wuhan Art. 11 年满18周岁自然人, Nantong Art. 2 完全民事行为能力): an act
    committed before cannot ground a measure or an incentive on them, even once they
    are of age and loaded. A code without a birth date (``ftm:``) is not judged so."""
    if is_external(person):
        return False
    try:
        info = validate_person_id(person)
    except InvalidCode:
        return False
    act = act_date_on(rec, as_of)
    return act is not None and info.age_on(act) < policy.min_age


def evaluate(
    code: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    as_of: dt.date,
    policy: Policy,
    catalogue: Catalogue,
    measure: str | None = None,
    visible: Callable[[Mapping[str, Any]], bool] | None = None,
    check_id: str | None = None,
) -> SanctionCheck:
    """``visible`` decides, per traversal row, whether the caller may see its record; a
    hidden record is treated as absent, so no measure, incentive block or conflict it
    grounds tells the caller that it exists (DOMAIN.md section 5). ``check_id`` is given
    by a caller that can sign it (``api.check_ids``); without one a random id is made."""
    if measure is not None and measure not in catalogue.codes:
        known = ", ".join(sorted(catalogue.codes))
        raise InvalidInput(f"measure: {measure!r} is not a measure code; known: {known}")
    rows = list(rows)
    exists = next((r for r in rows if r["reach"] == "exists"), None)
    if exists is None:
        raise NotFound(f"no subject with code {mask_code(code)}")
    subject_kind = str(exists["record_subject_kind"])

    applied: dict[tuple[str, str], AppliedMeasure] = {}
    barred_officers: dict[tuple[str, str, str], tuple[Mapping[str, Any], set[str]]] = {}
    own_black = False

    def apply(m: MeasureDef, v: _Valid, via: list[str], role: str | None) -> None:
        # Once per (measure, record): the traversal may reach one record on several
        # grounds, and the strongest one is the explanation (``_ground_rank``).
        key = (m.code, v.uid)
        found = applied.get(key)
        if found is not None and _ground_rank(found.role, found.via) <= _ground_rank(role, via):
            return
        applied[key] = AppliedMeasure(
            measure=m.code,
            name=m.name_zh,
            kind=m.kind,
            basis_record_id=v.uid,
            via=via,
            role=role,
            valid_from=v.valid_from,
            valid_until=v.valid_until,
            legal_basis=m.basis_for(policy.name),
        )

    for row in rows:
        reach = row["reach"]
        if reach in ("exists", "office"):
            continue
        if visible is not None and not visible(row):
            continue
        v = _in_force(row, as_of, policy)
        if v is None:
            continue
        answering = _answering_person(row, code, subject_kind)
        if answering is not None and _minor_at_act(answering, row["record"], as_of, policy):
            continue
        via = [str(c) for c in row["via"]]
        for target, m in catalogue.groundings_for(v.facts, policy=policy.name):
            if reach == "subject":
                own_person_record = subject_kind == "person"
                if target == "subject" or own_person_record:
                    apply(m, v, via, None)
            elif reach in ("role", "named"):
                if target == "responsible":
                    apply(m, v, via, row["role"])
            elif reach == "officer" and target == "responsible" and m.code == NO_OFFICE:
                key = (str(row["officer"]), str(row["officer_entity"]), str(row["officer_role"]))
                barred_officers.setdefault(key, (row, set()))[1].add(v.uid)
        if reach == "subject" and v.facts.list is ListKind.BLACK:
            own_black = True

    measures = [a for a in applied.values() if a.kind == "measure"]
    incentives = [] if own_black else [a for a in applied.values() if a.kind == "incentive"]

    conflicts: list[Conflict] = []
    bars = sorted({a.basis_record_id for a in measures if a.measure == NO_OFFICE})
    if subject_kind == "person" and bars:
        for row in rows:
            if row["reach"] == "office":
                conflicts.append(
                    Conflict(
                        person_code=code,
                        entity_code=str(row["officer_entity"]),
                        role=str(row["officer_role"]),
                        since=as_date(row.get("officer_since")),
                        basis_record_ids=bars,
                    )
                )
    for (person, entity, role), (row, uids) in barred_officers.items():
        conflicts.append(
            Conflict(
                person_code=person,
                entity_code=entity,
                role=role,
                since=as_date(row.get("officer_since")),
                basis_record_ids=sorted(uids),
            )
        )

    order = {c: i for i, c in enumerate(catalogue.order)}

    def sort_key(a: AppliedMeasure) -> tuple[int, dt.date, str, tuple[str, ...]]:
        return (order.get(a.measure, 999), a.valid_from, a.basis_record_id, tuple(a.via))

    if measure is not None:
        measures = [a for a in measures if a.measure == measure]
        incentives = [a for a in incentives if a.measure == measure]
    measures.sort(key=sort_key)
    incentives.sort(key=sort_key)
    conflicts.sort(key=lambda c: (c.person_code, c.entity_code, c.role))
    return SanctionCheck(
        check_id=check_id or uuid.uuid4().hex,
        code=code,
        subject_kind=subject_kind,
        subject_name=exists.get("record_subject_name"),
        as_of=as_of,
        policy=policy.name,
        restricted=bool(measures),
        measures=measures,
        incentives=incentives,
        conflicts=conflicts,
    )
