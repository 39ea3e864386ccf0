"""One source row -> the item the loader routes and writes, or a rejection.

Everything here depends only on the row and on a fixed ``RowContext``, never on the
rest of the file or on the graph, so it can run in another process
(``loaders.row_pool``): this is where most of a load's Python time goes (validation,
the row maps, their hashes and their encoding). What does depend on the rest of the
file (references, file order, withdrawals) stays with the pipeline.

An item is plain data (``marshal`` spools it, ``pickle`` carries it between processes):
``kind`` (entity, person, role, record, withdraw, withdraw_role), ``id`` (what its statement MERGEs
on), ``refs`` (the subject codes it names) and ``row``, the statement's row already
through the store's ``row_codec``; ``open`` marks a subject whose code does not fix its
kind (``schema.codes.kind_is_open``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from loaders import graph_rows
from loaders.errors import RowRejected
from loaders.rows import Withdrawal, parse_row
from schema.codes import kind_is_open
from schema.models import Entity, Person, Record, Role, RowAction
from schema.policy import Policy
from schema.workdays import working_days_after

#: Licences and penalties must reach the platform within 7 working days of the decision
#: (Zhengzhou Art. 12); later ones are flagged ``late``.
DEADLINE_KINDS = frozenset({"license", "penalty"})
SUBMISSION_DEADLINE_WORKING_DAYS = 7

Item = dict[str, Any]


@dataclass(frozen=True)
class RowContext:
    """What every row of one file is judged by; sent once to each worker."""

    policy: Policy
    #: the day ages are computed on
    today: dt.date
    #: the day the file first arrived, which lateness counts to
    submitted_on: dt.date
    provider: str
    #: the submission id every row's provenance names
    src: str
    max_field_chars: int
    encode: Callable[[Mapping[str, Any]], Any]


def lateness(kind: str, decided_on: dt.date, arrived_on: dt.date) -> dict[str, Any]:
    """Whether a record of ``kind`` decided on ``decided_on`` and first arrived on
    ``arrived_on`` was late; empty for kinds without a deadline. The pipeline also calls
    it for a correction that moved an earlier record's decision date, so that lateness
    keeps counting to the record's first arrival."""
    if kind not in DEADLINE_KINDS:
        return {}
    count = working_days_after(decided_on, max(arrived_on, decided_on))
    return {
        "late": count.days > SUBMISSION_DEADLINE_WORKING_DAYS,
        "late_working_days": count.days,
        "late_approximate": count.approximate,
    }


def _lateness(ctx: RowContext, m: Record) -> dict[str, Any]:
    return lateness(m.kind, m.decided_on, ctx.submitted_on)


def _subject_item(kind: str, code: str, row: Any) -> Item:
    item: Item = {"kind": kind, "id": code, "refs": [], "row": row}
    if kind_is_open(code):
        item["open"] = True  # the pipeline checks the code's kind against file and graph
    return item


def prepare(ctx: RowContext, line: int, data: Any, ftm_id: str | None = None) -> Item:
    """The item for one row; raises ``RowRejected`` with the reason it is refused.
    ``ftm_id``: the FtM id a subject row came under (``SourceRow.ftm_id``)."""
    m = parse_row(data, line, ctx.policy, ctx.today, ctx.max_field_chars).model
    if isinstance(m, Entity):
        row = graph_rows.entity_row(m, ctx.src, line, ftm_id)
        return _subject_item("entity", m.code, ctx.encode(row))
    if isinstance(m, Person):
        row = graph_rows.person_row(m, ctx.src, line, ftm_id)
        return _subject_item("person", m.code, ctx.encode(row))
    if isinstance(m, Role):
        row = graph_rows.role_row(m, ctx.src, line)
        return {
            "kind": "role" if m.action is RowAction.UPSERT else "withdraw_role",
            "role": m.role.value,
            "id": (m.role.value, m.holder, m.entity, m.key),
            "refs": [m.entity, m.holder],
            "row": ctx.encode(row),
        }
    if isinstance(m, Record):
        derived = _lateness(ctx, m)
        row = graph_rows.record_row(m, ctx.provider, ctx.src, line, derived)
        return {
            "kind": "record",
            "category": m.category.value,
            "id": row["uid"],
            "refs": [m.subject, *row["responsible"]],
            "row": ctx.encode(row),
        }
    assert isinstance(m, Withdrawal)
    uid = graph_rows.record_uid(ctx.provider, m.id)
    return {"kind": "withdraw", "id": uid, "refs": [], "row": None}


def reject_item(rejection: RowRejected) -> Item:
    return {
        "kind": "reject",
        "category": rejection.category,
        "reason": rejection.reason,
        "drop": list(rejection.drop_fields),
    }


def as_rejection(item: Item) -> RowRejected:
    return RowRejected(item["category"], item["reason"], drop_fields=tuple(item["drop"]))


#: One row for ``prepare``: (line, data), and the FtM id of a subject row that has one.
Entry = tuple[int, Any] | tuple[int, Any, str]


def prepare_chunk(ctx: RowContext, rows: list[Entry | None]) -> list[Item | None]:
    """Items for a chunk, in its order; None stays None (a row that could not be read)."""
    out: list[Item | None] = []
    for entry in rows:
        if entry is None:
            out.append(None)
            continue
        try:
            out.append(prepare(ctx, entry[0], entry[1], entry[2] if len(entry) > 2 else None))
        except RowRejected as r:
            out.append(reject_item(r))
    return out
