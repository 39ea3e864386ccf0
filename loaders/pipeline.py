"""Load provider submissions: validate every row, reject with reasons, write the rest.

Streaming and constant memory: a file is read once. Subjects (entities, persons) are
written as they come; roles, records and withdrawals, which refer to subjects, are
validated and spooled to a temporary file, then written in a second pass once every
subject of the file is in the graph, so references resolve whatever the order of rows.
A reference to a subject of the same file is resolved from the codes the first pass
kept (up to ``KNOWN_CODES_MAX`` of them); only the others are looked up in the graph,
and an ``ftm:<id>`` that names no subject there by the FtM ids subjects were loaded
under (``_by_ftm_id``).
Writes run on a background thread (the engine is another process), so parsing and
validation overlap with the engine's work; on a large file, validation and encoding run
in worker processes (``loaders.row_pool``), which answer in the file's order, so the
outcome does not depend on how many there are. Every batch is one ``UNWIND $rows``
statement, atomic on every engine, and every write is an idempotent MERGE guarded by
a content hash: an interrupted load, loaded again, ends exactly as one full load.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import hashlib
import json
import marshal
import os
import queue
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from graph.store import GraphStore, Statement
from loaders.errors import RowRejected
from loaders.formats import (
    RejectsSink,
    SourceRow,
    default_rejects_path,
    detect_format,
    open_rejects,
    read_source,
    same_file_key,
)
from loaders.formats.csv_format import further_rejects_path
from loaders.formats.sniff import content_problem
from loaders.frames import read_frame, write_frame
from loaders.limits import DEFAULT_LIMITS, InputLimits
from loaders.row_items import Entry, RowContext, as_rejection, lateness, prepare
from loaders.row_pool import CHUNK_ROWS, RowPool, workers_for
from loaders.rows import guard_rejected, screens_out
from queries import provenance, records, roles, subjects
from schema.codes import EXTERNAL_PREFIX, is_external, mask_code
from schema.errors import EngineUnavailable, KeyTaken
from schema.models import OFFICE_ROLES, RecordStatus, RoleType
from schema.policy import Policy
from schema.record_life import state_tail
from schema.workdays import china_day, china_time, china_today

BATCH_SIZE = 2000
#: Subject codes of the file kept in memory for the second pass (about 100 bytes each;
#: a 1,000,000-entity province has 2.3 million). Why: asking the graph for every
#: reference cost the engine an index lookup per code and held the loader until the
#: engine had written what was queued, so the second pass ran in lock step with the
#: engine. Past this many, codes are looked up in the graph as before, so memory stays
#: bounded whatever the file's size.
KNOWN_CODES_MAX = 4_000_000
#: After this many changed rows, ask the engine to compact its storage (FalkorDB: rewrite
#: the append-only file), so a restart does not replay the whole load.
COMPACT_AFTER_ROWS = 10_000
_NOWHERE = "in this file or the graph"
_SUBJECT_QUERIES = (subjects.MERGE_ENTITIES, subjects.MERGE_PERSONS)
#: Identities (record uid, role key) of rows left for the second pass, remembered so a
#: later row of the same record or role also waits: the file's order decides which
#: content is the last. Past this many, every later row waits (memory stays bounded).
DEFERRED_MAX = 1_000_000

#: How far past this machine's clock a submission time may be (another machine's clock
#: is a little ahead): later ones are in the future, which no file arrived in.
SUBMITTED_AT_SKEW = dt.timedelta(minutes=5)

#: ``progress(phase, rows)``: phase ``read`` while parsing, ``link`` for the second pass.
Progress = Callable[[str, int], None]


@dataclass
class LoadSummary:
    read: int = 0
    loaded: int = 0
    unchanged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    unreadable: list[str] = field(default_factory=list)
    submissions: list[str] = field(default_factory=list)
    rows_by_type: Counter[str] = field(default_factory=Counter)
    records_by_category: Counter[str] = field(default_factory=Counter)
    deadline_records: int = 0
    late_records: int = 0
    rejects_files: list[str] = field(default_factory=list)
    #: rejects files of an earlier run that stood where this run writes its own: old
    #: path -> the name they were moved to (``move_stale_rejects``)
    stale_rejects_moved: dict[str, str] = field(default_factory=dict)
    #: why rejected rows could not be written (``_GuardedRejects``): they are counted,
    #: the valid rows loaded, but the rejects file is missing or incomplete
    rejects_not_written: list[str] = field(default_factory=list)

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
            "rows_by_type": dict(sorted(self.rows_by_type.items())),
            "records_by_category": dict(sorted(self.records_by_category.items())),
            "late_records": self.late_records,
            "unreadable": self.unreadable,
            "submissions": self.submissions,
            "rejects_files": self.rejects_files,
            "stale_rejects_moved": self.stale_rejects_moved,
            "rejects_not_written": self.rejects_not_written,
        }


class _Writer:
    """Writes batches on a background thread; ``flush`` waits and re-raises its errors."""

    def __init__(self, store: GraphStore, summary: LoadSummary) -> None:
        self._store, self._summary = store, summary
        self._queue: queue.Queue[tuple[Statement, int] | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="graph-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    statement, count = job
                    result = self._store.write([statement])[0]
                    self._took(result[0] if result else {}, count)
            except BaseException as e:  # handed to the caller by flush()
                self._error = e
            finally:
                self._queue.task_done()

    def _took(self, result: dict[str, Any], count: int) -> None:
        """Counts what a batch changed; records also say which licences and penalties
        arrived for the first time (one record counts once, however often it is sent),
        and which corrections moved the decision date of a record that arrived earlier:
        their lateness is counted again here, to that first arrival, before any later
        batch is written (``queries.records.MERGE_RECORDS``)."""
        changed = int(result.get("changed") or 0)
        with self._lock:
            self._summary.loaded += changed
            self._summary.unchanged += count - changed
            self._summary.deadline_records += int(result.get("new_deadline") or 0)
            self._summary.late_records += int(result.get("new_late") or 0)
        stale = result.get("stale")
        if stale:
            self._store.write_one(records.SET_LATENESS, {"rows": [_recounted(x) for x in stale]})

    def submit(self, query: str, rows: list[Any], extra: dict[str, Any]) -> None:
        """``rows`` went through the store's ``row_codec``."""
        self._raise()
        if rows:
            statement = self._store.prepared_rows(query, extra, rows)
            self._queue.put((statement, len(rows)))

    def flush(self) -> None:
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


#: Items a withdrawal makes: written in the second pass, in the file's order.
_WITHDRAWALS = frozenset({"withdraw", "withdraw_role"})
#: Items that name a role (its entity and holder are their references).
_ROLE_ITEMS = frozenset({"role", "withdraw_role"})


class _Batcher:
    """Groups rows by statement and hands full batches to the writer.

    Roles and records name subjects; a batch of them is only sent after every subject
    batch pending before it, so whatever it names is written first (the writer sends
    batches in order). A row whose identity (code, role, record) is already in its
    statement's pending batch closes that batch first: inside one ``UNWIND`` the
    engine's MERGE resolves a repeated key in ways that depend on the whole batch, while
    across batches the file's order decides, the later row being the content that stays.
    """

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer
        self._pending: dict[str, tuple[list[Any], dict[str, Any], list[Any]]] = {}
        #: identity -> the statement whose pending batch holds it (a record and its
        #: withdrawal share one identity and go through two statements)
        self._owner: dict[Any, str] = {}

    def add(self, query: str, row: Any, extra: dict[str, Any], identity: Any) -> None:
        owner = self._owner.get(identity)
        if owner is not None:
            self._send(owner)
        pending = self._pending.get(query)
        if pending is None:
            pending = self._pending[query] = ([], extra, [])
        pending[0].append(row)
        pending[2].append(identity)
        self._owner[identity] = query
        if len(pending[0]) >= BATCH_SIZE:
            self._send(query)

    def _send(self, query: str) -> None:
        if query not in _SUBJECT_QUERIES:
            self._send_subjects()
        self._submit(query)

    def _submit(self, query: str) -> None:
        rows, extra, ids = self._pending.pop(query)
        owner = self._owner
        for identity in ids:
            owner.pop(identity, None)
        self._writer.submit(query, rows, extra)

    def _send_subjects(self) -> None:
        for query in _SUBJECT_QUERIES:
            if query in self._pending:
                self._submit(query)

    def flush(self) -> None:
        self._send_subjects()
        for query in list(self._pending):
            self._send(query)
        self._writer.flush()


def _recounted(stale: dict[str, Any]) -> dict[str, Any]:
    """A record's lateness counted from its first arrival (``MERGE_RECORDS``'s ``stale``)."""
    decided, arrived = (dt.date.fromisoformat(str(stale[k])) for k in ("decided_on", "arrived"))
    return {
        "uid": stale["uid"],
        "late": None,
        "late_working_days": None,
        "late_approximate": None,
        **lateness(str(stale["kind"]), decided, arrived),
    }


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def submission_id(provider: str, content_sha256: str) -> str:
    """The same file from the same provider is the same submission, however often sent."""
    return hashlib.sha256(f"{provider}\0{content_sha256}".encode()).hexdigest()[:32]


class _FileLoad:
    limits: InputLimits = DEFAULT_LIMITS

    def __init__(
        self,
        store: GraphStore,
        path: Path,
        fmt: str,
        provider: str,
        channel: str,
        policy: Policy,
        today: dt.date,
        summary: LoadSummary,
        rejects: RejectsSink | None,
        progress: Progress | None,
    ) -> None:
        self.store, self.path, self.fmt = store, path, fmt
        self.provider, self.channel, self.policy, self.today = provider, channel, policy, today
        self.summary, self.rejects, self.progress = summary, rejects, progress
        self.src = ""
        self.log_id = ""
        #: the day the submission first arrived: lateness of records new in this run
        self.submitted_on = today
        #: the day this run brought its rows: when a change it makes takes effect
        self.arrived_on = today
        self.now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.statuses = {
            "active": RecordStatus.ACTIVE.value,
            "withdrawn": RecordStatus.WITHDRAWN.value,
        }
        #: Valid subjects of this file, by code: "entity" or "person" (see KNOWN_CODES_MAX).
        self.known: dict[str, str] = {}
        self.deferred: set[Any] = set()
        self.defer_all = False
        self.record_extra: dict[str, Any] = {}
        self.role_extra: dict[str, Any] = {}
        #: when a changed subject's previous content was superseded (``SubjectVersion``)
        self.subject_extra: dict[str, Any] = {"now": self.now}
        #: whether the graph may hold a withdrawn role a role row could revive
        #: (``queries.roles.merge_roles``): read at the start of the run, and set once
        #: the run withdraws one
        self.withdrawn_roles = True
        self.encode = store.row_codec()
        #: to validate a row again in this process (``_renamed``)
        self.context: RowContext | None = None

    # -- bookkeeping ---------------------------------------------------------------
    def reject(self, row: SourceRow, rejection: RowRejected) -> None:
        raw, rejection = guard_rejected(self.policy, row.raw, rejection, row.screened)
        if raw is not row.raw:
            row = dataclasses.replace(row, raw=raw)
        self.summary.rejected[rejection.category] += 1
        if self.rejects is not None:
            self.rejects.write(row, rejection.reason, rejection.drop_fields)

    def _tick(self, phase: str, n: int) -> None:
        if self.progress is not None:
            self.progress(phase, n)

    def open_submission(self, submitted_at: dt.datetime | None) -> str:
        content = _file_sha256(self.path)
        self.src = submission_id(self.provider, content)
        now = dt.datetime.now(dt.UTC)
        arrived = china_time(submitted_at or now)
        at = arrived.isoformat(timespec="seconds")
        row = self.store.write_one(
            provenance.MERGE_SUBMISSION,
            {
                "id": self.src,
                "props": {
                    "provider": self.provider,
                    "channel": self.channel,
                    "file": str(self.path),
                    "content_sha256": content,
                    "submitted_at": at,
                },
            },
        )[0]
        first = china_time(dt.datetime.fromisoformat(str(row["submitted_at"])))
        if first > max(now + SUBMITTED_AT_SKEW, arrived):
            # No file arrives in the future: a mistyped time (2125) stored before the
            # command refused one made every later load of the file count lateness to it.
            self.store.write_one(provenance.SET_SUBMITTED_AT, {"id": self.src, "at": at})
            first = arrived
        # Lateness counts from when the file first arrived, not from a later reload, and
        # in China's calendar days; what this run changes takes effect when it arrived
        # (an earlier file sent again to undo a change is not back-dated).
        self.submitted_on = china_day(first)
        self.arrived_on = china_day(arrived)
        log_id = self.log_id = uuid.uuid4().hex
        self.store.write_one(
            provenance.CREATE_INGESTION_LOG,
            {
                "submission": self.src,
                "id": log_id,
                "props": {
                    "provider": self.provider,
                    "channel": self.channel,
                    "file": str(self.path),
                    "format": self.fmt,
                    "policy": self.policy.name,
                    "started_at": self.now,
                    "submitted_at": at,
                    "status": "started",
                },
            },
        )
        self.summary.submissions.append(self.src)
        self.record_extra = {
            **self.statuses, "now": self.now, "src": self.src,
            "today": self.arrived_on.isoformat(),
            "first": self.submitted_on.isoformat(),
            "revived": state_tail("active", self.src),
        }
        self.role_extra = {
            "today": self.arrived_on.isoformat(), "now": self.now, "provider": self.provider,
        }
        self.withdrawn_roles = bool(self.store.read(roles.ANY_WITHDRAWN_ROLE, {}))
        return log_id

    # -- pass 1: read, validate, write subjects, spool the rest --------------------
    def row_context(self) -> RowContext:
        return RowContext(
            policy=self.policy,
            today=self.today,
            submitted_on=self.submitted_on,
            provider=self.provider,
            src=self.src,
            max_field_chars=self.limits.max_field_chars,
            encode=self.encode,
        )

    def _source_chunks(self) -> Iterator[tuple[list[SourceRow], list[Entry | None]]]:
        for chunk in _chunks(self._screened_rows(), CHUNK_ROWS):
            rows: list[Entry | None] = [
                None if r.error is not None or r.data is None
                else (r.line, r.data) if r.ftm_id is None
                else (r.line, r.data, r.ftm_id)
                for r in chunk
            ]
            yield chunk, rows

    def _screened_rows(self) -> Iterator[SourceRow]:
        """The file's rows, each whose format lists a field the active policy prohibits
        (FtM properties, which ``data`` does not carry: ``SourceRow.screened``) turned
        into a rejection; ``reject`` names the field."""
        policy = self.policy
        for row in read_source(self.path, self.fmt, self.limits):
            if row.screened and row.error is None and screens_out(policy, row.screened):
                row = dataclasses.replace(
                    row, data=None, error=RowRejected("prohibited_field", "prohibited field")
                )
            yield row

    def read_pass(self, batcher: _Batcher, spool: IO[bytes], pool: RowPool) -> None:
        known = self.known
        summary = self.summary
        for chunk, items in pool.map(self._source_chunks()):
            in_graph = self._open_codes_in_graph(batcher, items)
            in_chunk: dict[str, str] = {}
            for row, item in zip(chunk, items, strict=True):
                summary.read += 1
                if item is None:
                    self.reject(row, row.error or RowRejected("malformed", "row could not be read"))
                    continue
                kind = item["kind"]
                if kind == "reject":
                    self.reject(row, as_rejection(item))
                elif kind == "entity" or kind == "person":
                    if "open" in item and self._kind_conflict(row, item, in_graph, in_chunk):
                        continue
                    summary.rows_by_type[kind] += 1
                    if len(known) < KNOWN_CODES_MAX:
                        known[item["id"]] = kind
                    query = subjects.MERGE_ENTITIES if kind == "entity" else subjects.MERGE_PERSONS
                    batcher.add(query, item["row"], self.subject_extra, item["id"])
                else:
                    item["line"], item["sheet"], item["raw"] = row.line, row.sheet, row.raw
                    if any(map(is_external, item["refs"])):
                        item["data"] = row.data  # to name another code (``_by_ftm_id``)
                    if not self._route_now(batcher, item):
                        _spool_item(spool, item)
            self._tick("read", len(chunk))

    def _open_codes_in_graph(
        self, batcher: _Batcher, items: list[dict[str, Any] | None]
    ) -> dict[str, str]:
        """The kinds the graph gives to this chunk's codes of open kind
        (``schema.codes.kind_is_open``) that no earlier row of the file named: one read
        per chunk that has any, and a province file seldom has one."""
        known = self.known
        codes = sorted(
            {it["id"] for it in items if it is not None and "open" in it and it["id"] not in known}
        )
        if not codes:
            return {}
        if len(known) >= KNOWN_CODES_MAX:
            # Earlier subjects of the file past the cap are known only once written.
            batcher.flush()
        found = self.store.read(subjects.EXISTING_CODES, {"codes": codes})
        return {r["code"]: r["kind"] for r in found}

    def _kind_conflict(
        self,
        row: SourceRow,
        item: dict[str, Any],
        in_graph: dict[str, str],
        in_chunk: dict[str, str],
    ) -> bool:
        """Reject a subject row whose code already names the other kind of subject.

        Without this the engine's unique code refused the whole batch and the load
        stopped with every valid row of that batch unwritten.
        """
        code, kind = item["id"], item["kind"]
        other, where = self.known.get(code) or in_chunk.get(code), "in this file"
        if other is None:
            other, where = in_graph.get(code), "in the graph"
        if other is None or other == kind:
            in_chunk[code] = kind
            return False
        named = "an organisation" if other == "entity" else "a person"
        self.reject(
            row,
            RowRejected(
                "code_conflict",
                f"code: {mask_code(code)} already names {named} {where}; "
                "one code names one subject",
            ),
        )
        return True

    def _route_now(self, batcher: _Batcher, item: dict[str, Any]) -> bool:
        """Write a role or record during the first pass when every subject it names was
        read before it, so the engine works while the rest of the file is parsed (with
        every such row left to the second pass, the two processes took turns). Anything
        else, and any later row of the same record or role, waits for the second pass."""
        deferred = self.deferred
        identity = item["id"]
        if identity in deferred or self.defer_all:
            return False
        known = self.known
        if item["kind"] in _WITHDRAWALS or not all(c in known for c in item["refs"]):
            if len(deferred) < DEFERRED_MAX:
                deferred.add(identity)
            else:
                self.defer_all = True
            return False
        self._route(batcher, item, known)
        return True

    # -- pass 2: resolve references against the graph, write the rest --------------
    def link_pass(self, batcher: _Batcher, spool: IO[bytes]) -> None:
        known = self.known
        for items in _chunks(_spooled_items(spool), BATCH_SIZE):
            kinds = {c: known[c] for it in items for c in it["refs"] if c in known}
            wanted = sorted({c for it in items for c in it["refs"] if c not in kinds})
            if wanted:
                for r in self.store.read(subjects.EXISTING_CODES, {"codes": wanted}):
                    kinds[r["code"]] = r["kind"]
            ambiguous = self._by_ftm_id(items, kinds)
            # In the file's order: a record sent again after its withdrawal is revived.
            withdrawals: list[dict[str, Any]] = []
            for it in items:
                if "rejection" in it:  # invalid with the code its reference resolved to
                    self.reject(self._spooled_row(it), it["rejection"])
                    continue
                if ambiguous and any(c in ambiguous for c in it["refs"]):
                    self._reject_ambiguous(it, ambiguous)
                    continue
                if it["kind"] not in _WITHDRAWALS:
                    if withdrawals:
                        self._withdraw(batcher, withdrawals, kinds)
                        withdrawals = []
                    self._route(batcher, it, kinds)
                else:
                    withdrawals.append(it)
            if withdrawals:
                self._withdraw(batcher, withdrawals, kinds)
            self._tick("link", len(items))
        batcher.flush()

    def _by_ftm_id(self, items: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, int]:
        """Point each ``ftm:<id>`` reference that names no subject, in this file or the
        graph, at the subject loaded under that FtM id in an earlier file (it has its
        USCC or ID number as its code; ``ftm_ids``), with one read per chunk: deltas and
        split exports name subjects of earlier exports so. ``items`` is updated in place;
        returns the references whose id names several subjects, and how many, to be
        refused, not guessed."""
        missing = sorted(
            {c for it in items for c in it["refs"] if c not in kinds and is_external(c)}
        )
        if not missing:
            return {}
        cut = len(EXTERNAL_PREFIX)
        found: dict[str, dict[str, str]] = {}
        for r in self.store.read(subjects.SUBJECTS_BY_FTM_ID, {"ids": [c[cut:] for c in missing]}):
            found.setdefault(EXTERNAL_PREFIX + r["id"], {})[r["code"]] = r["kind"]
        codes = {ref: next(iter(f)) for ref, f in found.items() if len(f) == 1}
        for f in found.values():
            if len(f) == 1:
                kinds.update(f)
        for n, it in enumerate(items):
            if any(c in codes for c in it["refs"]):
                items[n] = self._renamed(it, codes)
        return {ref: len(f) for ref, f in found.items() if len(f) > 1}

    def _renamed(self, it: dict[str, Any], codes: dict[str, str]) -> dict[str, Any]:
        """The row validated again with its references' codes: the role key, the
        checks of which code may hold which role, and the written row depend on them.
        A row now invalid carries its ``rejection``, written in the file's order."""
        data = dict(it["data"])
        for name in ("entity", "holder", "subject"):
            if data.get(name) in codes:
                data[name] = codes[data[name]]
        if isinstance(data.get("responsible"), list):
            data["responsible"] = [codes.get(c, c) for c in data["responsible"]]
        if self.context is None:
            self.context = self.row_context()
        try:
            new = prepare(self.context, int(it["line"]), data)
        except RowRejected as e:
            return {**it, "rejection": e}
        new["line"], new["sheet"], new["raw"] = it["line"], it["sheet"], it["raw"]
        return new

    def _reject_ambiguous(self, it: dict[str, Any], ambiguous: dict[str, int]) -> None:
        at, ref = next((n, c) for n, c in enumerate(it["refs"]) if c in ambiguous)
        names = ("entity", "holder") if it["kind"] == "role" else ("subject",)
        name = names[at] if at < len(names) else "responsible"
        shown = mask_code(ref)[len(EXTERNAL_PREFIX):]
        self._reject_spooled(
            it,
            f"{name}: no subject with code {mask_code(ref)} {_NOWHERE}, and FtM id "
            f"{shown} names {ambiguous[ref]} subjects in the graph (loaded under it with "
            "different codes): name the subject by its code",
        )

    def _route(self, batcher: _Batcher, it: dict[str, Any], kinds: dict[str, str]) -> bool:
        """Reject a role or record, or hand it to the batcher; False for a withdrawal,
        which the caller writes (it may name a record of the same file)."""
        problem = self._reference_problem(it, kinds)
        if problem is not None:
            self._reject_spooled(it, problem)
        elif it["kind"] == "role":
            self.summary.rows_by_type["role"] += 1
            batcher.add(roles.merge_roles(it["role"], self.withdrawn_roles), it["row"],
                        self.role_extra, it["id"])
        elif it["kind"] == "record":
            self.summary.rows_by_type["record"] += 1
            self.summary.records_by_category[it["category"]] += 1
            # Licences and penalties are counted (late or not) by the writer, only when
            # the record arrives for the first time: a correction or reload is no new one.
            batcher.add(records.MERGE_RECORDS, it["row"], self.record_extra, it["id"])
        else:
            return False
        return True

    def _withdraw(
        self, batcher: _Batcher, items: list[dict[str, Any]], kinds: dict[str, str]
    ) -> None:
        """``kinds``: the subjects of the chunk's references, as ``link_pass`` resolved
        them."""
        # A withdrawal may name a record or role earlier in this very file: write those
        # first.
        batcher.flush()
        roles_named = [it for it in items if it["kind"] == "withdraw_role"]
        self._withdraw_roles(batcher, roles_named, kinds)
        items = [it for it in items if it["kind"] == "withdraw"]
        if not items:
            return
        uids = sorted({it["id"] for it in items})
        known = {r["uid"] for r in self.store.read(records.EXISTING_RECORDS, {"uids": uids})}
        extra = {
            "withdrawn": self.statuses["withdrawn"],
            "provider": self.provider,
            "now": self.now,
            "today": self.arrived_on.isoformat(),
            "src": self.src,
        }
        for it in items:
            uid = it["id"]
            if uid in known:
                self.summary.rows_by_type["withdraw"] += 1
                # The run's own id, not its second: two runs of one file within the same
                # second gave two events one id (a unique-constraint failure).
                event_id = f"{self.src}:{it['line']}@{self.log_id}"
                row = {"uid": uid, "line": it["line"], "event_id": event_id,
                       "entry": state_tail("withdrawn", event_id)}
                batcher.add(records.WITHDRAW_RECORDS, self.encode(row), extra, uid)
            else:
                rid = uid.split(":", 1)[1]
                self._reject_spooled(
                    it, f"id: no record {rid!r} of provider {self.provider!r} to withdraw"
                )

    def _withdraw_roles(
        self, batcher: _Batcher, items: list[dict[str, Any]], kinds: dict[str, str]
    ) -> None:
        """A role withdrawal names a role in force or already withdrawn (a reload);
        anything else is refused with its reason."""
        if not items:
            return
        named = []
        for it in items:
            problem = self._reference_problem(it, kinds)
            if problem is not None:
                self._reject_spooled(it, problem)
            else:
                named.append(it)
        asked = [
            {"role": role, "holder": holder, "entity": entity, "key": key}
            for role, holder, entity, key in sorted({tuple(it["id"]) for it in named})
        ]
        found = (
            {(r["role"], r["holder"], r["entity"], r["key"])
             for r in self.store.read(roles.EXISTING_ROLES, {"rows": asked})}
            if asked else set()
        )
        for it in named:
            if tuple(it["id"]) in found:
                self.withdrawn_roles = True  # role rows after it may revive it
                self.summary.rows_by_type["withdraw_role"] += 1
                batcher.add(roles.withdraw_roles(it["role"]), it["row"], self.role_extra, it["id"])
            else:
                role, holder, entity, key = it["id"]
                since = key.split("|", 1)[1] or "no since"
                self._reject_spooled(
                    it,
                    f"role: no {role} of {mask_code(holder)} in {mask_code(entity)} "
                    f"since {since} to withdraw",
                )

    def _reference_problem(self, it: dict[str, Any], kinds: dict[str, str]) -> str | None:
        if it["kind"] in _ROLE_ITEMS:
            entity, holder = it["refs"]
            if kinds.get(entity) != "entity":
                return f"entity: no organisation with code {mask_code(entity)} {_NOWHERE}"
            if holder not in kinds:
                return f"holder: no subject with code {mask_code(holder)} {_NOWHERE}"
            role = RoleType(it["role"])
            if role in OFFICE_ROLES and kinds[holder] != "person":
                return f"holder: {role.value} must be a natural person"
            if role is RoleType.BRANCH and kinds[holder] != "entity":
                return "holder: a branch must be an organisation"
        elif it["kind"] == "record":
            subject, *responsible = it["refs"]
            if subject not in kinds:
                return f"subject: no subject with code {mask_code(subject)} {_NOWHERE}"
            for code in responsible:
                if kinds.get(code) != "person":
                    return f"responsible: no person with code {mask_code(code)} {_NOWHERE}"
        return None

    def _spooled_row(self, it: dict[str, Any]) -> SourceRow:
        row_type = "role" if it["kind"] in _ROLE_ITEMS else "record"
        return SourceRow(self.path, int(it["line"]), it["sheet"], None, None, it["raw"], row_type)

    def _reject_spooled(self, it: dict[str, Any], reason: str) -> None:
        self.reject(self._spooled_row(it), RowRejected("unknown_reference", reason))

    def finish(self, log_id: str, before: LoadSummary) -> None:
        s = self.summary
        rejected = s.rejected - before.rejected
        self.store.write_one(
            provenance.FINISH_INGESTION_LOG,
            {
                "id": log_id,
                "props": {
                    "status": "finished",
                    "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "rows_read": s.read - before.read,
                    "rows_loaded": s.loaded - before.loaded,
                    "rows_unchanged": s.unchanged - before.unchanged,
                    "rows_rejected": sum(rejected.values()),
                    # Maps are not property values on every engine: store them as JSON.
                    "rejected_by_reason": json.dumps(dict(sorted(rejected.items()))),
                    "rows_by_type": json.dumps(
                        dict(sorted((s.rows_by_type - before.rows_by_type).items()))
                    ),
                    "records_by_category": json.dumps(
                        dict(sorted((s.records_by_category - before.records_by_category).items()))
                    ),
                    "deadline_records": s.deadline_records - before.deadline_records,
                    "late_records": s.late_records - before.late_records,
                },
            },
        )


def _spool_item(spool: IO[bytes], item: dict[str, Any]) -> None:
    """marshal: the fastest serialiser of plain data in the standard library (about
    five times JSON's speed both ways); the spool is this process's own temporary file."""
    write_frame(spool, marshal.dumps(item))


def _spooled_items(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    spool.seek(0)
    while (data := read_frame(spool)) is not None:
        yield marshal.loads(data)  # noqa: S302 - our spool


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@contextlib.contextmanager
def _engine_loss_explained(path: Path, summary: LoadSummary, before: LoadSummary) -> Iterator[None]:
    """An engine lost mid-load must tell the operator what is safe: how many rows the
    engine acknowledged (they are kept, even after a crash of the engine) and that the
    same load, run again, finishes the job without duplicating them."""
    try:
        yield
    except EngineUnavailable as e:
        raise stopped_load(e, str(path), summary.loaded - before.loaded) from e
    except KeyTaken as e:
        # Only a race gets here (another load or process gave the code another kind
        # meanwhile); run again, the kind check sees the graph as it now is.
        raise stopped_load(
            e, str(path), summary.loaded - before.loaded,
            "; a row whose code another load has taken meanwhile is then rejected with "
            "its reason",
        ) from e


_Stop = TypeVar("_Stop", EngineUnavailable, KeyTaken)


def stopped_load(error: _Stop, what: str, written: int, then: str = "") -> _Stop:
    """The one wording of a load cut short, wherever it stopped: before the first row
    (while the engine starts) as much as in the middle of a file; ``then`` adds what the
    run again will do besides."""
    return type(error)(
        f"{error.message} -- the load of {what} stopped after {written} rows written "
        "and acknowledged; run the same load again to finish it "
        f"(rows already written are not duplicated){then}"
    )


#: The extensions a rejects file may have, per input format: those under which the file
#: is read again in that format (``loaders.formats.detect_format``; FtM is read with
#: ``--format ftm`` whatever the name, and its exports are often ``.json``).
REJECTS_SUFFIXES: dict[str, tuple[str, ...]] = {
    "jsonl": (".jsonl", ".ndjson"),
    "csv": (".csv",),
    "xlsx": (".xlsx",),
    "ftm": (".jsonl", ".ndjson", ".json"),
}
#: The ending a stale rejects file is given (``move_stale_rejects``): no format's, so
#: neither a glob of ``*.jsonl`` nor a load naming it can send its rows again by mistake.
STALE_SUFFIX = ".stale"


def rejects_problem(paths: Iterable[Path], rejects_to: Path | None, fmt: str | None) -> str | None:
    """Why ``--rejects`` cannot take this run's rejected rows, or None; decided before a
    row is read, because the rejects writers open their file at the first rejected row,
    and a failure there stopped the run half-way (valid rows unwritten, the ingestion log
    left ``started``).

    Refused: one of the inputs (it would be overwritten before it is read); a name
    whose extension is not the input's format (``r.csv`` received JSON lines, which no
    reader of ``r.csv`` loads again); inputs of several formats, which one file cannot
    hold each in its own format (the others used to go to names nobody asked for:
    ``r.rejects.csv``); a directory, or a place whose directory is missing or cannot be
    written.
    """
    if rejects_to is None:
        return None
    paths = list(paths)
    if same_file_key(rejects_to) in {same_file_key(p) for p in paths}:
        return (
            f"--rejects {rejects_to} is one of the files to load: writing the rejected rows "
            "there would destroy the rows not yet read. Nothing was loaded; name another file"
        )
    parent = rejects_to.parent
    if rejects_to.is_dir():
        problem = "is a directory; name a file in it"
    elif not parent.exists():
        problem = f"its directory {parent} does not exist"
    elif not parent.is_dir():
        problem = f"{parent} is not a directory"
    elif not os.access(parent, os.W_OK | os.X_OK):
        problem = f"its directory {parent} cannot be written"
    else:
        problem = None
    if problem is not None:
        return f"--rejects {rejects_to}: {problem}; nothing was loaded"
    formats: dict[str, None] = {}
    for path in paths:
        with contextlib.suppress(ValueError):  # reported with the file, as unreadable
            formats[detect_format(path, fmt)] = None
    if len(formats) > 1:
        return (
            f"--rejects {rejects_to}: the files to load are of several formats "
            f"({', '.join(formats)}) and rejected rows are written in each input's own "
            "format, which one file cannot hold. Load each format on its own with its own "
            "--rejects, or leave --rejects out (each format's rejected rows then go beside its "
            "first file, named in the summary); nothing was loaded"
        )
    if formats:
        [found] = formats
        allowed = REJECTS_SUFFIXES[found]
        if rejects_to.suffix.lower() not in allowed:
            return (
                f"--rejects {rejects_to}: rejected rows are written in the input's own format "
                f"({found}), so that the fixed rows load again; name a file ending in "
                f"{' or '.join(allowed)}; nothing was loaded"
            )
    return None


def _stale_candidates(
    target: Path, fmt: str, paths: list[Path], fmt_given: str | None
) -> list[Path]:
    """Where a rejects sink of ``fmt`` writing to ``target`` may write: ``target``, and for
    CSV one file per further source file of the run (``further_rejects_path``)."""
    found = [target]
    if fmt == "csv":
        for path in paths:
            with contextlib.suppress(ValueError):
                if detect_format(path, fmt_given) == "csv":
                    found.append(further_rejects_path(target, path))
    return found


def move_stale_rejects(
    candidates: Iterable[Path], inputs: frozenset[Path], summary: LoadSummary, stamp: str
) -> None:
    """Move aside a rejects file an earlier run left where this run writes its own.

    A run that rejected nothing left the previous run's file in place, whose rows could
    then be fixed and sent again as if they were this run's. Such a file (a regular file,
    never one of the inputs, never a device such as ``/dev/null``) becomes
    ``<name>.<UTC time>.stale``: kept for whoever still needs it, named in the summary
    (``stale_rejects_moved``), and under an ending no format has, so it is not loaded by
    mistake. Whatever the run writes at that path afterwards is this run's alone.
    ``stamp``: the run's start (UTC, ``20261120T010000Z``), one for all its files."""
    for path in dict.fromkeys(candidates):
        if str(path) in summary.stale_rejects_moved or same_file_key(path) in inputs:
            continue
        if not path.is_file():
            continue
        n, moved = 1, path.with_name(f"{path.name}.{stamp}{STALE_SUFFIX}")
        while moved.exists():
            n += 1
            moved = path.with_name(f"{path.name}.{stamp}-{n}{STALE_SUFFIX}")
        try:
            path.rename(moved)
        except OSError as e:
            summary.rejects_not_written.append(
                f"{path}: a rejects file of an earlier run could not be moved aside "
                f"({e.strerror or e}); this run's rejected rows may overwrite it"
            )
            continue
        summary.stale_rejects_moved[str(path)] = str(moved)


class _GuardedRejects(RejectsSink):
    """A rejects sink whose failure (a directory standing at a default rejects name, a
    full disk, a permission) costs the copy of the rejected rows, never the run: before,
    the ``OSError`` stopped the load at the first rejected row, with valid rows unwritten
    and the ingestion log left ``started``. The rows are still counted; the summary says
    what was not written (``rejects_not_written``) and the command says it on stderr."""

    def __init__(self, sink: RejectsSink, summary: LoadSummary) -> None:
        self._sink, self._summary = sink, summary
        self._target = getattr(sink, "target", None)
        self.avoid = sink.avoid
        self.failed = False

    def _failed(self, e: OSError, when: str) -> None:
        self.failed = True
        self._summary.rejects_not_written.append(
            f"{self._target}: {e.strerror or type(e).__name__} {when}: the rejected rows "
            "are counted but not all written; load the file again with --rejects naming "
            "a file that can be written"
        )

    def write(self, row: SourceRow, reason: str, drop: Iterable[str] = ()) -> None:
        if self.failed:
            return
        try:
            self._sink.write(row, reason, drop)
        except OSError as e:
            self._failed(e, "while writing the rejected rows")

    def close(self) -> list[Path]:
        try:
            return self._sink.close()
        except OSError as e:
            self._failed(e, "while finishing the rejects file")
            return []


def load_files(
    store: GraphStore,
    paths: Iterable[Path],
    *,
    policy: Policy,
    provider: str = "unknown",
    channel: str = "file",
    fmt: str | None = None,
    rejects_to: Path | None = None,
    today: dt.date | None = None,
    submitted_at: dt.datetime | None = None,
    progress: Progress | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
    workers: int | None = None,
) -> LoadSummary:
    """Load every file; rejected rows go to ``rejects_to`` (or beside the first input of
    each format). A ``rejects_to`` that cannot take them (``rejects_problem``) is refused
    before anything is read: the summary says why, exit code 2. A rejects file an earlier
    run left where this run writes is moved aside first (``move_stale_rejects``).

    ``limits``: a file over them is refused whole, a line or field over them rejects its
    row (loaders/limits.py).

    ``submitted_at`` is when the provider submitted the file (default: now; a naive time
    is China time). The first time a file is seen it decides lateness (Zhengzhou Art. 12)
    of the records that arrive with it, counted in China's calendar days; on every run
    it is when the changes this run makes take effect (``content_since``, withdrawals).

    ``workers``: validation processes for a large file (``loaders.row_pool``; None: one
    per core, 0: validate in this process). The outcome is the same whatever the number.
    """
    summary = LoadSummary()
    paths = list(paths)
    inputs = frozenset(same_file_key(p) for p in paths)
    refused = rejects_problem(paths, rejects_to, fmt)
    if refused is not None:
        summary.unreadable.append(refused)
        return summary
    sinks: dict[str, RejectsSink] = {}
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        for path in paths:
            try:
                file_fmt = detect_format(path, fmt)
            except ValueError as e:
                summary.unreadable.append(str(e))
                continue
            if not path.is_file():
                summary.unreadable.append(f"{path}: no such file")
                continue
            refused = limits.file_problem(path, file_fmt) or content_problem(path, file_fmt)
            if refused is not None:
                summary.unreadable.append(refused)
                continue
            if file_fmt not in sinks:
                # One format only when --rejects is given (``rejects_problem``); without
                # it, each format's rejects go beside its first readable file.
                target = rejects_to or default_rejects_path(path, file_fmt, inputs)
                move_stale_rejects(_stale_candidates(target, file_fmt, paths, fmt), inputs,
                                   summary, started)
                sinks[file_fmt] = _GuardedRejects(
                    open_rejects(file_fmt, target, inputs), summary
                )
            job = _FileLoad(
                store,
                path,
                file_fmt,
                provider,
                channel,
                policy,
                today or china_today(),
                summary,
                sinks[file_fmt],
                progress,
            )
            job.limits = limits
            before = copy.deepcopy(summary)
            with _engine_loss_explained(path, summary, before):
                try:
                    log_id = job.open_submission(submitted_at)
                except OSError as e:
                    summary.unreadable.append(f"{path}: {e.strerror or e}")
                    continue
                count = workers_for(path.stat().st_size, workers)
                with RowPool(job.row_context(), count) as pool:
                    writer = _Writer(store, summary)
                    batcher = _Batcher(writer)
                    try:
                        with tempfile.TemporaryFile("w+b", prefix="credit-graph-") as spool:
                            job.read_pass(batcher, spool, pool)
                            pool.close()
                            batcher.flush()
                            job.link_pass(batcher, spool)
                    finally:
                        writer.close()
                job.finish(log_id, before)
    finally:
        for sink in sinks.values():
            summary.rejects_files.extend(str(p) for p in sink.close())
    if summary.loaded >= COMPACT_AFTER_ROWS:
        store.compact()
    return summary
