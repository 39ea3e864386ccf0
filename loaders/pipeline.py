"""Load provider submissions: validate every row, reject with reasons, write the rest.

This is the minimal JSON Lines loader of the core issue; it keeps one file's parsed rows
in memory (fine for demo and test data). Rows land in dependency order (subjects, then
roles, then records) so references within one file resolve, and each batch is a single
statement, atomic on every engine.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from graph.store import GraphStore
from loaders import graph_rows
from loaders.jsonl import read_jsonl
from loaders.rows import ParsedRow, RowRejected, Withdrawal, parse_row
from queries import provenance, records, roles, subjects
from schema.codes import mask_code
from schema.models import Entity, Person, Record, RecordStatus, Role
from schema.policy import Policy

BATCH_SIZE = 2000
_NOWHERE = "in this file or the graph"


@dataclass
class LoadSummary:
    read: int = 0
    loaded: int = 0
    unchanged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    unreadable: list[str] = field(default_factory=list)
    submissions: list[str] = field(default_factory=list)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def exit_code(self) -> int:
        """CONTRACT.md section 1: 0 all loaded, 1 some rejected, 2 nothing could be read."""
        if self.unreadable and self.read == 0:
            return 2
        if self.rejected_total or self.unreadable:
            return 1
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "loaded": self.loaded,
            "unchanged": self.unchanged,
            "rejected": self.rejected_total,
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "unreadable": self.unreadable,
            "submissions": self.submissions,
        }


class RejectsWriter:
    """Rejected rows in the input's own format, with ``reason``, ``file`` and ``line``."""

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh

    def write(self, path: Path, line: int, data: Any, rejection: RowRejected) -> None:
        row: dict[str, Any] = {}
        if isinstance(data, dict):
            row = {k: v for k, v in data.items() if k not in rejection.drop_fields}
        row.update({"reason": rejection.reason, "file": str(path), "line": line})
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")


Progress = Callable[[int], None]


class _FileLoad:
    def __init__(
        self,
        store: GraphStore,
        path: Path,
        provider: str,
        channel: str,
        policy: Policy,
        today: dt.date,
        summary: LoadSummary,
        rejects: RejectsWriter | None,
    ) -> None:
        self.store, self.path, self.provider, self.channel = store, path, provider, channel
        self.policy, self.today, self.summary, self.rejects = policy, today, summary, rejects
        self.src = uuid.uuid4().hex
        self.raw: dict[int, Any] = {}

    def reject(self, line: int, rejection: RowRejected) -> None:
        self.summary.rejected[rejection.category] += 1
        if self.rejects is not None:
            self.rejects.write(self.path, line, self.raw.get(line), rejection)

    def parse(self) -> list[ParsedRow]:
        parsed: list[ParsedRow] = []
        for line, item in read_jsonl(self.path):
            self.summary.read += 1
            if isinstance(item, RowRejected):
                self.reject(line, item)
                continue
            self.raw[line] = item
            try:
                parsed.append(parse_row(item, line, self.policy, self.today))
            except RowRejected as r:
                self.reject(line, r)
        return parsed

    def check_references(self, parsed: list[ParsedRow]) -> list[ParsedRow]:
        kinds: dict[str, str] = {}
        for p in parsed:
            if isinstance(p.model, Entity):
                kinds[p.model.code] = "entity"
            elif isinstance(p.model, Person):
                kinds[p.model.code] = "person"
        wanted: set[str] = set()
        for p in parsed:
            m = p.model
            if isinstance(m, Role):
                wanted |= {m.entity, m.holder}
            elif isinstance(m, Record):
                wanted |= {m.subject, *m.responsible}
        missing = sorted(wanted - kinds.keys())
        for row in self.store.read(subjects.EXISTING_CODES, {"codes": missing}) if missing else []:
            kinds[row["code"]] = row["kind"]
        uids = {
            graph_rows.record_uid(self.provider, p.model.id)
            for p in parsed
            if isinstance(p.model, Record)
        }
        withdraw_uids = [
            graph_rows.record_uid(self.provider, p.model.id)
            for p in parsed
            if isinstance(p.model, Withdrawal)
        ]
        unknown_w = sorted(set(withdraw_uids) - uids)
        if unknown_w:
            for row in self.store.read(records.EXISTING_RECORDS, {"uids": unknown_w}):
                uids.add(row["uid"])

        kept: list[ParsedRow] = []
        for p in parsed:
            problem = self._reference_problem(p, kinds, uids)
            if problem:
                self.reject(p.line, RowRejected("unknown_reference", problem))
            else:
                kept.append(p)
        return kept

    def _reference_problem(self, p: ParsedRow, kinds: dict[str, str], uids: set[str]) -> str | None:
        m = p.model
        if isinstance(m, Role):
            if kinds.get(m.entity) != "entity":
                return f"entity: no organisation with code {m.entity} {_NOWHERE}"
            if m.holder not in kinds:
                return f"holder: no subject with code {mask_code(m.holder)} {_NOWHERE}"
        elif isinstance(m, Record):
            if m.subject not in kinds:
                return f"subject: no subject with code {mask_code(m.subject)} {_NOWHERE}"
            for code in m.responsible:
                if kinds.get(code) != "person":
                    return f"responsible: no person with code {mask_code(code)} {_NOWHERE}"
        elif isinstance(m, Withdrawal):
            if graph_rows.record_uid(self.provider, m.id) not in uids:
                return f"id: no record {m.id!r} of provider {self.provider!r} to withdraw"
        return None

    def write(self, parsed: list[ParsedRow], progress: Progress | None) -> None:
        store, src = self.store, self.src
        store.write_one(
            provenance.CREATE_SUBMISSION,
            {
                "id": src,
                "props": {
                    "provider": self.provider,
                    "channel": self.channel,
                    "file": str(self.path),
                    "submitted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                },
            },
        )
        self.summary.submissions.append(src)

        def run(
            query: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None
        ) -> None:
            def counted(n: int, result: list[dict[str, Any]]) -> None:
                changed = int(result[0]["changed"]) if result else 0
                self.summary.loaded += changed
                self.summary.unchanged += n - changed
                if progress:
                    progress(n)

            store.write_batches(query, rows, batch_size=BATCH_SIZE, extra=extra, on_batch=counted)

        entities: list[dict[str, Any]] = []
        persons: list[dict[str, Any]] = []
        by_role: dict[str, list[dict[str, Any]]] = {}
        recs: list[dict[str, Any]] = []
        withdrawals: list[dict[str, Any]] = []
        for p in parsed:
            m = p.model
            if isinstance(m, Entity):
                entities.append(graph_rows.entity_row(m, src, p.line))
            elif isinstance(m, Person):
                persons.append(graph_rows.person_row(m, src, p.line))
            elif isinstance(m, Role):
                by_role.setdefault(m.role.value, []).append(graph_rows.role_row(m, src, p.line))
            elif isinstance(m, Record):
                recs.append(graph_rows.record_row(m, self.provider, src, p.line))
            else:
                uid = graph_rows.record_uid(self.provider, m.id)
                withdrawals.append({"uid": uid, "src": src, "line": p.line})

        statuses = {"active": RecordStatus.ACTIVE.value, "withdrawn": RecordStatus.WITHDRAWN.value}
        run(subjects.MERGE_ENTITIES, entities)
        run(subjects.MERGE_PERSONS, persons)
        for role, rows in by_role.items():
            run(roles.merge_roles(role), rows)
        run(records.MERGE_RECORDS, recs, statuses)
        run(records.WITHDRAW_RECORDS, withdrawals, {"withdrawn": statuses["withdrawn"]})

    def finish(self, read_before: int, loaded_before: int, rejected_before: int) -> None:
        s = self.summary
        self.store.write_one(
            provenance.FINISH_SUBMISSION,
            {
                "id": self.src,
                "props": {
                    "rows_read": s.read - read_before,
                    "rows_loaded": s.loaded - loaded_before,
                    "rows_rejected": s.rejected_total - rejected_before,
                    "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                },
            },
        )


def load_files(
    store: GraphStore,
    paths: Iterable[Path],
    *,
    policy: Policy,
    provider: str = "unknown",
    channel: str = "file",
    rejects: RejectsWriter | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> LoadSummary:
    summary = LoadSummary()
    for path in paths:
        if not path.is_file():
            summary.unreadable.append(f"{path}: no such file")
            continue
        before = (summary.read, summary.loaded, summary.rejected_total)
        job = _FileLoad(
            store, path, provider, channel, policy, today or dt.date.today(), summary, rejects
        )
        try:
            parsed = job.parse()
        except OSError as e:
            summary.unreadable.append(f"{path}: {e.strerror or e}")
            continue
        kept = job.check_references(parsed)
        job.write(kept, progress)
        job.finish(*before)
    return summary
