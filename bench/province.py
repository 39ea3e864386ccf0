"""The province file as the alternatives read it, and the check's decision they must match.

The baselines (``bench/sqlite_baseline.py``, ``bench/networkx_baseline.py``) load the same
interchange file the service loaded, keyed the way the loader keys it (a role is
``(holder, entity, type, role|since)``, a record ``provider:id``; a later row with the same
key replaces the earlier one), and produce the same traversal rows as
``queries.check.CHECK_TRAVERSAL``. The rules that turn rows into a decision
(``schema.sanctions.evaluate``: policy, catalogue, disclosure periods) are the same Python
for all three, so a ratio measures only how each one finds the rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from queries.roles import REL_TYPES
from schema.catalogue import Catalogue
from schema.policy import Policy
from schema.sanctions import SanctionCheck, evaluate

PROVIDER = "bench"
MIN_DATE = "0001-01-01"  # as api/checks.py: open ends of a role's term
MAX_DATE = "9999-12-31"
RESPONSIBLE_ROLES = ("LEGAL_REPRESENTATIVE_OF", "PRINCIPAL_OF")
OFFICE_ROLES = (
    "LEGAL_REPRESENTATIVE_OF", "PRINCIPAL_OF", "DIRECTOR_OF", "SUPERVISOR_OF", "MANAGER_OF",
)
NAMED = "responsible"  # the ``role`` of a record reached by name (api/checks.py)
NEGATIVE = "negative"


@dataclass(frozen=True)
class Subject:
    code: str
    kind: str
    name: str | None
    terminated: str | None


@dataclass(frozen=True)
class Role:
    holder: str
    entity: str
    type: str
    role: str
    since: str | None
    until: str | None
    share_ratio: float | None

    @property
    def key(self) -> str:
        """The role's identity within (holder, entity, type), as the loader merges it."""
        return f"{self.role}|{self.since or ''}"


@dataclass(frozen=True)
class Record:
    uid: str
    subject: str
    responsible: tuple[str, ...]
    props: dict[str, Any]

    @property
    def decided_on(self) -> str:
        return str(self.props.get("decided_on") or "")

    @property
    def act_date(self) -> str:
        return str(self.props.get("act_ended_on") or self.props.get("decided_on") or "")


def read_province(path: Path) -> Iterator[Subject | Role | Record]:
    """Every subject, role and upserted record of the file, in file order."""
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            row = json.loads(raw)
            t = row.get("type")
            if t in ("entity", "person"):
                yield Subject(row["code"], t, row.get("name"), row.get("terminated"))
            elif t == "role":
                ratio = row.get("share_ratio")
                yield Role(row["holder"], row["entity"], REL_TYPES[row["role"]], row["role"],
                           row.get("since") or None, row.get("until") or None,
                           float(ratio) if ratio is not None else None)
            elif t == "record" and row.get("action", "upsert") == "upsert":
                responsible = tuple(sorted(set(row.get("responsible") or ())))
                props = {k: v for k, v in row.items() if k not in ("type", "action")}
                uid = f"{PROVIDER}:{row['id']}"
                props.update(uid=uid, provider=PROVIDER, responsible=list(responsible))
                yield Record(uid, row["subject"], responsible, props)


def in_term(since: str | None, until: str | None, day: str) -> bool:
    return (since or MIN_DATE) <= day <= (until or MAX_DATE)


def traversal_row(
    reach: str, record: Mapping[str, Any] | None, t: Subject, via: list[str], *,
    role: str | None = None, officer: str | None = None, officer_role: str | None = None,
    officer_entity: str | None = None, officer_since: str | None = None,
) -> dict[str, Any]:
    """One row with the columns of ``CHECK_TRAVERSAL``."""
    return {
        "reach": reach, "record": record, "record_subject": t.code,
        "record_subject_kind": t.kind, "record_subject_ended": t.terminated,
        "record_subject_name": t.name, "via": via, "role": role, "officer": officer,
        "officer_role": officer_role, "officer_entity": officer_entity,
        "officer_since": officer_since,
    }


def decide(code: str, rows: Iterable[Mapping[str, Any]], *, day: dt.date, policy: Policy,
           catalogue: Catalogue) -> SanctionCheck:
    """The service's rules over a baseline's rows (no caller filter: the direct check)."""
    return evaluate(code, rows, as_of=day, policy=policy, catalogue=catalogue,
                    check_id="baseline")


def decision(check: SanctionCheck) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """What a caller acts on: restricted or not, and each measure with its basis record."""
    return check.restricted, tuple(sorted({(m.measure, m.basis_record_id)
                                           for m in check.measures}))
