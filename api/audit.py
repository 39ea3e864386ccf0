"""The audit log of API requests (Wuhan Art. 28, Zhengzhou Art. 19).

Every request that reads non-public data leaves one entry: who (key name and role), when,
what (operation, root fields, subjects touched), why (the ``X-Purpose`` text), from where,
how many results and whether it succeeded. If the entry cannot be written the request must
fail, so :meth:`AuditLog.append` turns *every* failure into ``AuditUnavailable``.

Storage is one SQLite file, ``<dir>/audit.sqlite3`` (WAL, ``synchronous=NORMAL``), because
it is in the standard library, serialises writers across processes (``BEGIN IMMEDIATE``:
the service may run several workers next to the CLI) and stays indexed over the five years
the log must be kept. Entries are append-only and hash-chained: ``hash`` is the SHA-256 of
``prev_hash`` followed by the canonical JSON (sorted keys, no spaces, UTF-8) of every other
column, and ``prev_hash`` of entry 1 is 64 zeros.

Personal data: subjects are stored as shown (``mask_code``: USCCs in clear, resident ID
numbers masked), and ID-number-shaped text in the purpose, operation and key name is masked
too. "Who looked up subject X" is answered through ``entry_subjects``, which holds a keyed
digest ``HMAC-SHA256(secret, code)`` instead of the code; the secret is made once in
``<dir>/audit.key`` (mode 0600). Without that file old entries can no longer be found by
subject code, so it must be backed up together with the database; the chain does not
depend on it.

What :meth:`AuditLog.verify` detects, naming the first affected entry:

* an edited column of any entry ("hash mismatch");
* an entry removed from the middle ("seq gap"), entries moved or swapped ("reordered",
  or "prev_hash does not match entry N-1");
* a cut-off tail. A chain alone cannot show that its newest entries are gone, so every
  append also rewrites an anchor, ``<dir>/audit.head`` (seq and hash of the newest entry,
  overwritten in place with one ``pwrite`` before the commit, inside the locked section).
  The table ending before the anchor is reported as truncated; an anchor that does not
  match its entry, or that entries run past, as edited. An append that finds the anchor
  out of step with the table still writes its entry (the service must keep answering) but
  carries the discrepancy forward in the anchor's ``gaps`` list, so a truncation stays
  reported after later appends instead of being papered over.

What it does not detect: someone who can rewrite both files and recomputes every hash (the
chain is not keyed) leaves a log that verifies; only an anchor kept outside their reach
(another host, a timestamping service, a printed hash) would show that. ``entry_subjects``
is an index, not evidence: a changed or deleted row there is not detected, it only changes
what a subject query finds. A crash (or, with ``synchronous=NORMAL``, a power loss) between
writing the anchor and the commit reports the newest entry as missing: the request it
belonged to was not answered, but the report errs on the side of showing the loss.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.file_lock import flocked
from api.log_masking import mask_name, mask_text
from schema.codes import is_external, mask_code
from schema.errors import AuditUnavailable, InvalidInput

log = logging.getLogger("credit_graph.audit")

DB_NAME = "audit.sqlite3"
KEY_NAME = "audit.key"
HEAD_NAME = "audit.head"
GENESIS = "0" * 64
#: How many anchor discrepancies the anchor keeps; the first ones matter most.
MAX_GAPS = 100
#: Rows read per statement while verifying, so a five-year log is checked in constant memory
#: without holding one read transaction (and the WAL) open for the whole pass.
VERIFY_CHUNK = 1000

_COLUMNS = (
    "seq", "at", "key_name", "key_role", "operation", "fields", "subjects",
    "purpose", "client", "results", "outcome", "prev_hash", "hash",
)
_ROWS_AFTER = """SELECT seq, at, key_name, key_role, operation, fields, subjects, purpose, client,
    results, outcome, prev_hash, hash FROM entries WHERE seq > ? ORDER BY seq LIMIT ?"""
_NEWEST = """SELECT seq, at, key_name, key_role, operation, fields, subjects, purpose, client,
    results, outcome, prev_hash, hash FROM entries WHERE seq < ? ORDER BY seq DESC LIMIT ?"""
_NEWEST_OF_KEY = """SELECT seq, at, key_name, key_role, operation, fields, subjects, purpose,
    client, results, outcome, prev_hash, hash FROM entries
    WHERE key_name = ? AND seq < ? ORDER BY seq DESC LIMIT ?"""
#: Driven by the (digest, seq) index, newest first; the key filter is applied to few rows.
_NEWEST_OF_SUBJECT = """SELECT e.seq, e.at, e.key_name, e.key_role, e.operation, e.fields,
    e.subjects, e.purpose, e.client, e.results, e.outcome, e.prev_hash, e.hash
    FROM entry_subjects s JOIN entries e ON e.seq = s.seq
    WHERE s.digest = ? AND s.seq < ? AND (? IS NULL OR e.key_name = ?)
    ORDER BY s.seq DESC LIMIT ?"""
_LAST = "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
#: ``before_seq`` when none is given: past any seq.
_NO_LIMIT = 2**63 - 1

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS entries (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        key_name TEXT NOT NULL,
        key_role TEXT NOT NULL,
        operation TEXT NOT NULL,
        fields TEXT NOT NULL,
        subjects TEXT NOT NULL,
        purpose TEXT,
        client TEXT,
        results INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS entries_key_name ON entries (key_name, seq)",
    """CREATE TABLE IF NOT EXISTS entry_subjects (
        seq INTEGER NOT NULL,
        digest TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS entry_subjects_digest ON entry_subjects (digest, seq)",
)
_SCHEMA_OBJECTS = """SELECT count(*) FROM sqlite_master WHERE name IN
    ('entries', 'entries_key_name', 'entry_subjects', 'entry_subjects_digest')"""


@dataclass(frozen=True)
class AuditRecord:
    """What the service hands in after a request; codes are raw, masking happens here."""

    key_name: str
    key_role: str
    operation: str
    fields: list[str]
    subjects: list[str]
    purpose: str | None
    client: str | None
    results: int
    outcome: str


@dataclass(frozen=True)
class AuditEntry:
    """One stored entry; ``subjects`` are as shown (ID numbers masked)."""

    seq: int
    at: datetime
    key_name: str
    key_role: str
    operation: str
    fields: list[str]
    subjects: list[str]
    purpose: str | None
    client: str | None
    results: int
    outcome: str
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


@dataclass(frozen=True)
class VerifyResult:
    """``entries``: how many entries were found intact before the first break (all, if ok).

    ``first_broken`` is ``None`` when the log is intact, or when the fault is not tied to
    one entry (the anchor file is missing or unreadable, the database cannot be read).
    """

    ok: bool
    entries: int
    first_broken: int | None
    reason: str | None


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(body: dict[str, Any]) -> str:
    """The chain link: ``body`` is every column but ``hash``, ``prev_hash`` included."""
    data = str(body["prev_hash"]) + canonical_json(body)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _normal_code(code: str) -> str:
    """USCCs and ID numbers are upper-cased as the check does; an ``ftm:`` id is kept as
    it is (FtM ids are case-sensitive), so that ``mask_code`` knows it for one."""
    v = code.strip()
    return v if is_external(v) else v.upper()


def _loaded(text: object) -> object:
    """A JSON column as stored; text that does not parse is kept, so its hash fails."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _body(row: tuple[Any, ...]) -> dict[str, Any]:
    body = dict(zip(_COLUMNS[:-1], row[:-1], strict=True))
    body["fields"] = _loaded(body["fields"])
    body["subjects"] = _loaded(body["subjects"])
    return body


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    b = _body(row)
    try:
        at = datetime.fromisoformat(str(b["at"]))
        fields, subjects = b["fields"], b["subjects"]
        if not isinstance(fields, list) or not isinstance(subjects, list):
            raise ValueError("fields/subjects are not lists")
        return AuditEntry(
            seq=int(b["seq"]),
            at=at if at.tzinfo else at.replace(tzinfo=UTC),
            key_name=str(b["key_name"]),
            key_role=str(b["key_role"]),
            operation=str(b["operation"]),
            fields=[str(f) for f in fields],
            subjects=[str(s) for s in subjects],
            purpose=None if b["purpose"] is None else str(b["purpose"]),
            client=None if b["client"] is None else str(b["client"]),
            results=int(b["results"]),
            outcome=str(b["outcome"]),
            prev_hash=str(b["prev_hash"]),
            hash=str(row[-1]),
        )
    except (TypeError, ValueError) as e:
        raise AuditUnavailable(
            f"audit entry {row[0]} is unreadable ({e}); run `credit-graph audit verify`"
        ) from None


@dataclass(frozen=True)
class _Anchor:
    seq: int
    hash: str
    gaps: list[dict[str, Any]]


def _parse_anchor(raw: bytes) -> _Anchor | None:
    """``None`` when the anchor is not what this module writes (edited or damaged)."""
    try:
        d = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    seq, h, gaps = d.get("seq"), d.get("hash"), d.get("gaps", [])
    if type(seq) is not int or not isinstance(h, str) or not isinstance(gaps, list):
        return None
    if not all(isinstance(g, dict) and type(g.get("after_seq")) is int for g in gaps):
        return None
    return _Anchor(seq, h, gaps)


@contextlib.contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    try:
        yield
    except AuditUnavailable:
        raise
    except Exception as e:
        raise AuditUnavailable(
            f"the audit log could not be written ({type(e).__name__}: {mask_text(str(e))})"
        ) from e


class AuditLog:
    """One audit log directory. Safe to share between threads; each process opens its own.

    The SQLite connection is made lazily and kept (appends must stay well under a
    millisecond); a lock guards it because a connection may not be used by two threads
    at once. Verification uses its own connection so a long check never blocks appends.
    """

    def __init__(self, directory: Path, *, busy_timeout_s: float = 10.0) -> None:
        self.directory = Path(directory)
        self.db_path = self.directory / DB_NAME
        self.key_path = self.directory / KEY_NAME
        self.head_path = self.directory / HEAD_NAME
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._secret: bytes | None = None
        self._made_key = False
        if self.directory.exists() and not self.directory.is_dir():
            raise AuditUnavailable(f"the audit directory {self.directory} is not a directory")
        if self.db_path.exists() and not self.db_path.is_file():
            raise AuditUnavailable(f"the audit log {self.db_path} is not a file")

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connection and secret -------------------------------------------------------

    def _open(self, *, create: bool) -> sqlite3.Connection:
        if create:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Made before SQLite opens it so the file (and the -wal/-shm files SQLite
            # derives from it) is not readable by other users.
            os.close(os.open(self.db_path, os.O_RDWR | os.O_CREAT, 0o600))
        # Two processes opening a new log at once would race to switch it to WAL, and
        # SQLite does not wait on that lock: set-up is serialised with a file lock.
        with flocked(self.directory / "audit.lock"):
            return self._open_locked()

    def _open_locked(self) -> sqlite3.Connection:
        uri = self.db_path.resolve().as_uri() + "?mode=rw"
        conn = sqlite3.connect(
            uri,
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=self._busy_timeout_s,
        )
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise AuditUnavailable(f"the audit log cannot use WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous=NORMAL")
            have = conn.execute(_SCHEMA_OBJECTS).fetchone()[0]
            if have < 4:  # a new file (or one made but never set up): create the tables
                conn.execute("BEGIN IMMEDIATE")
                for ddl in _SCHEMA:
                    conn.execute(ddl)
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self, *, create: bool) -> sqlite3.Connection | None:
        """The process's connection; ``None`` if there is no log yet and ``create`` is off."""
        if self._pid != os.getpid():
            # Inherited through fork: SQLite connections must not cross it. Not closed,
            # because closing could release locks the parent still holds.
            self._conn, self._secret, self._pid = None, None, os.getpid()
        if self._conn is None:
            if not create and not self.db_path.exists():
                return None
            self._conn = self._open(create=create)
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _key(self, *, create: bool) -> bytes | None:
        if self._secret is not None:
            return self._secret
        if create and not self.key_path.exists():
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".audit.key.")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(32))
                    f.flush()
                    os.fsync(f.fileno())
                # link() fails if another process made the key first; theirs wins.
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, self.key_path)
                    self._made_key = True
            finally:
                os.unlink(tmp)
        try:
            secret = self.key_path.read_bytes()
        except FileNotFoundError:
            return None
        if len(secret) != 32:
            raise AuditUnavailable(f"the audit key {self.key_path} is damaged")
        self._secret = secret
        return secret

    # -- append ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _writer_lock(self, *, wait: bool = True) -> Iterator[bool]:
        """Writers of all processes (``serve --workers N``) queue on a file lock first.

        Left to SQLite alone, a writer that finds the database locked sleeps in growing
        steps (1, 2, 5, 10... ms) before it retries; with two workers auditing every
        request that capped a busy service at about 140 requests per second. A blocking
        ``flock`` wakes the next writer as soon as the lock is released.
        """
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Not ``audit.lock``: opening the database takes that one, and a second flock on
        # the same file from this process would wait for itself.
        with flocked(self.directory / "audit.write.lock", wait=wait) as held:
            yield held

    def append(self, record: AuditRecord, *, at: datetime | None = None) -> AuditEntry:
        """Write one entry, or raise ``AuditUnavailable`` (whatever went wrong)."""
        with _unavailable_on_failure():
            with self._lock, self._writer_lock():
                return self._append(record, at)

    def try_append(self, record: AuditRecord) -> AuditEntry | None:
        """``append`` if no other thread or process is writing right now, else None at
        once, nothing written. Why: an entry takes about 0.15 ms to write; the service
        writes it on the event loop when it can, which spares a request the hand-off to
        a worker thread and back, and hands it to a thread only when it would have to
        wait for another writer."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            with _unavailable_on_failure(), self._writer_lock(wait=False) as held:
                return self._append(record, None) if held else None
        finally:
            self._lock.release()

    def _append(self, record: AuditRecord, at: datetime | None) -> AuditEntry:
        when = datetime.now(UTC) if at is None else at
        if when.tzinfo is None:
            raise AuditUnavailable("an audit time must be timezone-aware")
        when = when.astimezone(UTC)
        codes = list(dict.fromkeys(c for c in map(_normal_code, record.subjects) if c))
        conn = self._connection(create=True)
        assert conn is not None
        secret = self._key(create=True)
        assert secret is not None
        digests = [hmac.new(secret, c.encode("utf-8"), hashlib.sha256).hexdigest() for c in codes]
        body: dict[str, Any] = {
            "at": when.isoformat(timespec="microseconds"),
            "key_name": mask_name(record.key_name),
            "key_role": record.key_role,
            "operation": mask_name(record.operation),
            "fields": [str(f) for f in record.fields],
            "subjects": [mask_code(c) for c in codes],
            "purpose": None if record.purpose is None else mask_name(record.purpose),
            "client": record.client,
            "results": int(record.results),
            "outcome": record.outcome,
        }
        old_head: bytes | None = None
        head_written = False
        try:
            conn.execute("BEGIN IMMEDIATE")
            last = conn.execute(_LAST).fetchone()
            last_seq, last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
            if self._made_key and last_seq > 0:
                log.warning(
                    "the audit key was missing and a new one was made: entries up to %d can "
                    "no longer be found by subject code (restore %s from a backup)",
                    last_seq, self.key_path,
                )
            self._made_key = False
            old_head = self._read_head()
            gaps = _gaps_after(old_head, last_seq, last_hash)
            body["seq"] = last_seq + 1
            body["prev_hash"] = last_hash
            h = entry_hash(body)
            conn.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    body["seq"], body["at"], body["key_name"], body["key_role"],
                    body["operation"], canonical_json(body["fields"]),
                    canonical_json(body["subjects"]), body["purpose"], body["client"],
                    body["results"], body["outcome"], body["prev_hash"], h,
                ),
            )
            if digests:
                conn.executemany(
                    "INSERT INTO entry_subjects (seq, digest) VALUES (?, ?)",
                    [(body["seq"], d) for d in digests],
                )
            head = {"seq": body["seq"], "hash": h}
            if gaps:
                head["gaps"] = gaps
            self._write_head(canonical_json(head).encode("utf-8") + b"\n")
            head_written = True
            conn.execute("COMMIT")
        except BaseException:
            # The anchor first, while this process may still hold the write lock.
            if head_written:
                with contextlib.suppress(Exception):
                    self._restore_head(old_head)
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            # A connection that failed mid-transaction is not trusted again.
            self._drop_connection()
            raise
        return AuditEntry(
            seq=body["seq"],
            at=when,
            key_name=body["key_name"],
            key_role=body["key_role"],
            operation=body["operation"],
            fields=list(body["fields"]),
            subjects=list(body["subjects"]),
            purpose=body["purpose"],
            client=body["client"],
            results=body["results"],
            outcome=body["outcome"],
            prev_hash=body["prev_hash"],
            hash=h,
        )

    def _read_head(self) -> bytes | None:
        try:
            return self.head_path.read_bytes()
        except FileNotFoundError:
            return None

    def _write_head(self, data: bytes) -> None:
        """One ``pwrite`` over the old anchor, not a temp file and ``os.replace``: on ext4 a
        rename over an existing file makes the kernel write the new file's data out first
        (``auto_da_alloc``), 0.8 ms per append, a quarter of a check's time through HTTP.
        A single write of a few hundred bytes is not torn by a killed process. A shorter
        anchor (only when a failed commit restores the previous one) is padded with
        spaces to the old length, which JSON ignores, so no ``ftruncate`` leaves a window
        in which the file holds half of each."""
        fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            blob = data + b" " * max(0, os.fstat(fd).st_size - len(data))
            if os.pwrite(fd, blob, 0) != len(blob):
                raise OSError(f"short write of {self.head_path}")
        finally:
            os.close(fd)

    def _restore_head(self, old: bytes | None) -> None:
        if old is None:
            self.head_path.unlink(missing_ok=True)
        else:
            self._write_head(old)

    # -- query -----------------------------------------------------------------------

    def query(
        self,
        *,
        subject_code: str | None = None,
        key_name: str | None = None,
        first: int = 50,
        before_seq: int | None = None,
    ) -> list[AuditEntry]:
        """Newest first; page on with ``before_seq`` = the last ``seq`` seen."""
        if first < 1:
            raise InvalidInput("first: must be at least 1")
        with self._lock:
            try:
                return self._query(subject_code, key_name, first, before_seq)
            except AuditUnavailable:
                raise
            except Exception as e:
                self._drop_connection()
                raise AuditUnavailable(
                    f"the audit log could not be read ({type(e).__name__}: {mask_text(str(e))})"
                ) from e

    def _query(
        self, subject_code: str | None, key_name: str | None, first: int, before_seq: int | None
    ) -> list[AuditEntry]:
        conn = self._connection(create=False)
        if conn is None:
            return []
        before = _NO_LIMIT if before_seq is None else before_seq
        key = None if key_name is None else mask_name(key_name)
        sql: str
        params: tuple[object, ...]
        if subject_code is not None:
            secret = self._key(create=False)
            if secret is None:
                return []
            digest = hmac.new(
                secret, _normal_code(subject_code).encode("utf-8"), hashlib.sha256
            ).hexdigest()
            sql, params = _NEWEST_OF_SUBJECT, (digest, before, key, key, first)
        elif key is not None:
            sql, params = _NEWEST_OF_KEY, (key, before, first)
        else:
            sql, params = _NEWEST, (before, first)
        return [_entry(tuple(r)) for r in conn.execute(sql, params).fetchall()]

    # -- verify ----------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Check the chain, then the anchor; names the earliest broken entry."""
        if not self.db_path.exists():
            return _conclude(None, 0, GENESIS, self._read_head(), lambda seq: None)
        try:
            conn = self._open(create=False)
        except (sqlite3.Error, OSError) as e:
            return VerifyResult(False, 0, None, f"the audit log cannot be read ({e})")
        try:
            return self._verify(conn)
        except sqlite3.Error as e:
            return VerifyResult(False, 0, None, f"the audit log cannot be read ({e})")
        finally:
            conn.close()

    def _verify(self, conn: sqlite3.Connection) -> VerifyResult:
        last_seq, last_hash = 0, GENESIS
        for row in _rows_after(conn, 0):
            broken = _check_row(conn, row, last_seq + 1, last_hash)
            if broken is not None:
                return _conclude(broken, last_seq, last_hash, self._read_head(), None)
            last_seq, last_hash = int(row[0]), str(row[-1])
        # The end of the table is compared with the anchor under the write lock, so an
        # append in flight (anchor replaced, commit pending) is not taken for a truncation.
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            conn.execute("BEGIN")  # a read-only copy, or a stuck writer: compare unlocked
        try:
            raw = self._read_head()
            for row in _rows_after(conn, last_seq):
                broken = _check_row(conn, row, last_seq + 1, last_hash)
                if broken is not None:
                    return _conclude(broken, last_seq, last_hash, raw, None)
                last_seq, last_hash = int(row[0]), str(row[-1])

            def hash_of(seq: int) -> str | None:
                r = conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone()
                return None if r is None else str(r[0])

            return _conclude(None, last_seq, last_hash, raw, hash_of)
        finally:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._drop_connection()
            self._conn = None


def _gaps_after(raw: bytes | None, last_seq: int, last_hash: str) -> list[dict[str, Any]]:
    """The anchor's gap list, plus a new gap if the anchor does not match the table's end."""
    if raw is None and last_seq == 0:
        return []
    anchor = None if raw is None else _parse_anchor(raw)
    gaps = list(anchor.gaps) if anchor else []
    if anchor is not None and anchor.seq == last_seq and anchor.hash == last_hash:
        return gaps
    seen: object
    if raw is None:
        seen = "missing"
    elif anchor is None:
        seen = "unreadable"
    else:
        seen = {"seq": anchor.seq, "hash": anchor.hash}
    if len(gaps) < MAX_GAPS:
        gaps.append({"after_seq": last_seq, "after_hash": last_hash, "anchor": seen})
    return gaps


def _rows_after(conn: sqlite3.Connection, after: int) -> Iterator[tuple[Any, ...]]:
    while True:
        rows = conn.execute(
_ROWS_AFTER, (after, VERIFY_CHUNK)).fetchall()
        if not rows:
            return
        for r in rows:
            yield tuple(r)
        after = int(rows[-1][0])


def _check_row(
    conn: sqlite3.Connection, row: tuple[Any, ...], expected_seq: int, prev_hash: str
) -> tuple[int, str] | None:
    """The first seq this row shows to be wrong, and why; ``None`` if it links on."""
    seq = int(row[0])
    if seq != expected_seq:
        if seq > expected_seq:
            missing = (
                f"entry {expected_seq} is missing" if seq == expected_seq + 1
                else f"entries {expected_seq}..{seq - 1} are missing"
            )
            return expected_seq, f"seq gap: {missing}"
        return expected_seq, f"seq gap: seq {seq} where {expected_seq} was expected"
    if row[11] != prev_hash:
        if seq == 1:
            return seq, "prev_hash is not the genesis value"
        # Only on failure: which entry does this one claim to follow? (a full scan)
        other = conn.execute(
            "SELECT seq FROM entries WHERE hash = ? LIMIT 1", (row[11],)
        ).fetchone()
        if other is not None and int(other[0]) != seq - 1:
            return seq, f"reordered: entry {seq} follows entry {other[0]}, not entry {seq - 1}"
        return seq, f"prev_hash does not match entry {seq - 1}"
    try:
        computed: str | None = entry_hash(_body(row))
    except (TypeError, ValueError):  # a value JSON cannot hold (a BLOB written by hand)
        computed = None
    if computed != row[-1]:
        return seq, "hash mismatch: the entry was changed after it was written"
    return None


def _conclude(
    broken: tuple[int, str] | None,
    last_seq: int,
    last_hash: str,
    raw_head: bytes | None,
    hash_of: Callable[[int], str | None] | None,
) -> VerifyResult:
    """The earliest of: the chain break, a gap the anchor recorded, the anchor mismatch.

    ``last_seq``/``last_hash`` is the intact prefix; ``hash_of`` is ``None`` when the chain
    broke, because then the end of the table says nothing about truncation.
    """
    found: list[tuple[int, str]] = [broken] if broken is not None else []
    unseq: str | None = None
    anchor = None if raw_head is None else _parse_anchor(raw_head)
    if raw_head is not None and anchor is None:
        unseq = f"the anchor file {HEAD_NAME} is unreadable (edited or damaged)"
    for gap in anchor.gaps if anchor else []:
        after = int(gap["after_seq"])
        seen = gap.get("anchor")
        said = (
            f"the anchor said entry {seen.get('seq')}" if isinstance(seen, dict)
            else f"the anchor was {seen}"
        )
        found.append((
            after + 1,
            f"when entry {after + 1} was written the log did not end at its anchor ({said}): "
            "entries were removed (truncated) or the anchor was edited",
        ))
    if hash_of is not None:
        if raw_head is None:
            if last_seq > 0:
                unseq = f"the anchor file {HEAD_NAME} is missing"
        elif anchor is not None:
            found.extend(_anchor_breaks(anchor, last_seq, last_hash, hash_of))
    if found:
        seq, reason = min(found, key=lambda f: f[0])
        return VerifyResult(False, min(last_seq, seq - 1), seq, reason)
    if unseq is not None:
        return VerifyResult(False, last_seq, None, unseq)
    return VerifyResult(True, last_seq, None, None)


def _anchor_breaks(
    anchor: _Anchor, last_seq: int, last_hash: str, hash_of: Callable[[int], str | None]
) -> list[tuple[int, str]]:
    if anchor.seq > last_seq:
        span = (
            f"entry {last_seq + 1} is" if anchor.seq == last_seq + 1
            else f"entries {last_seq + 1}..{anchor.seq} are"
        )
        return [(last_seq + 1, f"{span} missing: the log ends before its anchor (truncated)")]
    if anchor.seq < 1:
        return [(1, "entries after the anchor are not covered by it (anchor edited)")]
    expected = last_hash if anchor.seq == last_seq else hash_of(anchor.seq)
    if anchor.hash != expected:
        return [(
            anchor.seq,
            f"the anchor does not match entry {anchor.seq} (anchor edited or entry replaced)",
        )]
    if anchor.seq < last_seq:
        return [(
            anchor.seq + 1,
            f"entries after {anchor.seq} are not covered by the anchor (anchor edited, "
            "or entries added by hand)",
        )]
    return []
