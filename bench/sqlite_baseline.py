"""The relational alternative: the province in SQLite, the check as one SQL statement,
paths as a recursive CTE.

    python bench/sqlite_baseline.py province.jsonl [--db FILE] [--code CODE] [--pair A B]

What a team would build without a graph database: tables ``subjects``, ``roles``,
``records`` and ``responsible`` (record -> named person) with the indexes the queries use,
loaded from the same interchange file as the service. The check is one ``UNION ALL``
statement whose branches are those of ``queries/check.py`` (own records; records of
companies a person represented on the act date; records naming the person; offices held;
for a company, the records that bar its officers), and its rows go through the same rules
(``bench/province.py``). ``paths`` is the shortest path length up to ``max_hops`` roles,
followed in either direction: two recursive CTEs walk half the hops from each end and
meet in the middle (the whole length from one end would enumerate every walk of four
roles). The harness checks both answers against the service on a sample.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.province import (  # noqa: E402
    MAX_DATE,
    MIN_DATE,
    NAMED,
    NEGATIVE,
    OFFICE_ROLES,
    RESPONSIBLE_ROLES,
    Record,
    Role,
    Subject,
    decide,
    read_province,
)
from schema.catalogue import Catalogue  # noqa: E402
from schema.policy import Policy  # noqa: E402
from schema.sanctions import SanctionCheck  # noqa: E402

BATCH = 5000

DDL = """
CREATE TABLE subjects (
  code TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT, terminated TEXT
) WITHOUT ROWID;
CREATE TABLE roles (
  holder TEXT NOT NULL, entity TEXT NOT NULL, type TEXT NOT NULL, key TEXT NOT NULL,
  role TEXT NOT NULL, since TEXT, until TEXT, share_ratio REAL,
  PRIMARY KEY (holder, entity, type, key)
) WITHOUT ROWID;
CREATE TABLE records (
  uid TEXT PRIMARY KEY, subject TEXT NOT NULL, category TEXT, decided_on TEXT,
  act_ended_on TEXT, props TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE responsible (
  person TEXT NOT NULL, uid TEXT NOT NULL, PRIMARY KEY (person, uid)
) WITHOUT ROWID;
"""
# Built after the rows are in (faster than maintaining them row by row).
INDEXES = """
CREATE INDEX roles_entity ON roles (entity, type);
CREATE INDEX records_subject ON records (subject, decided_on);
"""

_T = "t.code, t.kind, t.terminated, t.name"
_OFFICE = ", ".join(f"'{t}'" for t in OFFICE_ROLES)
_RESP = ", ".join(f"'{t}'" for t in RESPONSIBLE_ROLES)
_IN_TERM_ON_AS_OF = (
    "coalesce(o.since, :min_date) <= :as_of AND coalesce(o.until, :max_date) >= :as_of"
)
_ACT_IN_TERM = (
    "coalesce(ro.since, :min_date) <= coalesce(r.act_ended_on, r.decided_on) "
    "AND coalesce(ro.until, :max_date) >= coalesce(r.act_ended_on, r.decided_on)"
)

# The branches of queries.check.CHECK_TRAVERSAL, one for one, same columns.
CHECK_SQL = f"""
SELECT 'exists' AS reach, NULL AS props, s.code, s.kind, s.terminated, s.name,
       json_array(s.code) AS via, NULL AS role, NULL AS officer, NULL AS officer_role,
       NULL AS officer_entity, NULL AS officer_since
FROM subjects s WHERE s.code = :code
UNION ALL
SELECT 'subject', r.props, s.code, s.kind, s.terminated, s.name, json_array(s.code),
       NULL, NULL, NULL, NULL, NULL
FROM subjects s JOIN records r ON r.subject = s.code
WHERE s.code = :code AND r.decided_on <= :as_of
UNION ALL
SELECT 'role', r.props, {_T}, json_array(s.code, t.code), ro.role, NULL, NULL, NULL, NULL
FROM subjects s
JOIN roles ro ON ro.holder = s.code AND ro.type IN ({_RESP})
JOIN subjects t ON t.code = ro.entity AND t.kind = 'entity'
JOIN records r ON r.subject = t.code
WHERE s.code = :code AND s.kind = 'person' AND r.decided_on <= :as_of AND {_ACT_IN_TERM}
UNION ALL
SELECT 'named', r.props, {_T}, json_array(s.code, t.code), :named, NULL, NULL, NULL, NULL
FROM subjects s
JOIN responsible n ON n.person = s.code
JOIN records r ON r.uid = n.uid
JOIN subjects t ON t.code = r.subject
WHERE s.code = :code AND s.kind = 'person' AND r.decided_on <= :as_of
UNION ALL
SELECT 'office', NULL, {_T}, json_array(s.code, t.code), NULL, s.code, o.role, t.code, o.since
FROM subjects s
JOIN roles o ON o.holder = s.code AND o.type IN ({_OFFICE})
JOIN subjects t ON t.code = o.entity AND t.kind = 'entity'
WHERE s.code = :code AND s.kind = 'person' AND {_IN_TERM_ON_AS_OF}
UNION ALL
SELECT 'officer', r.props, p.code, p.kind, p.terminated, p.name, json_array(s.code, p.code),
       NULL, p.code, o.role, s.code, o.since
FROM subjects s
JOIN roles o ON o.entity = s.code AND o.type IN ({_OFFICE})
JOIN subjects p ON p.code = o.holder AND p.kind = 'person'
JOIN records r ON r.subject = p.code
WHERE s.code = :code AND s.kind = 'entity' AND {_IN_TERM_ON_AS_OF}
  AND r.decided_on <= :as_of AND r.category = :negative
UNION ALL
SELECT 'officer', r.props, {_T}, json_array(s.code, p.code, t.code), ro.role, p.code, o.role,
       s.code, o.since
FROM subjects s
JOIN roles o ON o.entity = s.code AND o.type IN ({_OFFICE})
JOIN subjects p ON p.code = o.holder AND p.kind = 'person'
JOIN roles ro ON ro.holder = p.code AND ro.type IN ({_RESP})
JOIN subjects t ON t.code = ro.entity AND t.kind = 'entity'
JOIN records r ON r.subject = t.code
WHERE s.code = :code AND s.kind = 'entity' AND {_IN_TERM_ON_AS_OF}
  AND r.decided_on <= :as_of AND r.category = :negative AND {_ACT_IN_TERM}
UNION ALL
SELECT 'officer', r.props, {_T}, json_array(s.code, p.code, t.code), :named, p.code, o.role,
       s.code, o.since
FROM subjects s
JOIN roles o ON o.entity = s.code AND o.type IN ({_OFFICE})
JOIN subjects p ON p.code = o.holder AND p.kind = 'person'
JOIN responsible n ON n.person = p.code
JOIN records r ON r.uid = n.uid
JOIN subjects t ON t.code = r.subject
WHERE s.code = :code AND s.kind = 'entity' AND {_IN_TERM_ON_AS_OF}
  AND r.decided_on <= :as_of AND r.category = :negative
"""  # noqa: S608 - only this module's constants are interpolated; values are parameters

# Subjects within :half_a roles of :a and :half_b roles of :b, each at its least distance;
# a path of at most :max_hops roles passes through one subject reached from both sides.
PATH_LENGTH_SQL = """
WITH RECURSIVE
fa(node, d) AS (
  SELECT :a, 0
  UNION
  SELECT r.entity, fa.d + 1 FROM fa JOIN roles r ON r.holder = fa.node WHERE fa.d < :half_a
  UNION
  SELECT r.holder, fa.d + 1 FROM fa JOIN roles r ON r.entity = fa.node WHERE fa.d < :half_a
),
fb(node, d) AS (
  SELECT :b, 0
  UNION
  SELECT r.entity, fb.d + 1 FROM fb JOIN roles r ON r.holder = fb.node WHERE fb.d < :half_b
  UNION
  SELECT r.holder, fb.d + 1 FROM fb JOIN roles r ON r.entity = fb.node WHERE fb.d < :half_b
)
SELECT min(fa.d + fb.d) AS hops FROM fa JOIN fb ON fa.node = fb.node
WHERE fa.d + fb.d <= :max_hops
"""


@dataclass(frozen=True)
class LoadStats:
    rows: int
    seconds: float
    file_mib: float
    rss_growth_mib: float


class SqliteBaseline:
    """One SQLite database file holding a province."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.conn = sqlite3.connect(str(db), check_same_thread=False)
        self.conn.execute("PRAGMA cache_size = -262144")  # 256 MiB page cache, at most
        self.conn.execute("PRAGMA mmap_size = 0")

    @classmethod
    def load(cls, src: Path, db: Path,
             progress: Callable[[int], None] | None = None) -> tuple[SqliteBaseline, LoadStats]:
        """A fresh database from the file: rows in batches, one transaction, indexes last."""
        for f in (db, db.with_name(db.name + "-journal")):
            f.unlink(missing_ok=True)
        before = psutil.Process().memory_info().rss
        started = time.perf_counter()
        conn = sqlite3.connect(str(db))
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(DDL)
        batches: dict[str, list[tuple[Any, ...]]] = {k: [] for k in
                                                     ("subjects", "roles", "records", "resp")}
        sql = {
            "subjects": "INSERT OR REPLACE INTO subjects VALUES (?, ?, ?, ?)",
            "roles": "INSERT OR REPLACE INTO roles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            "records": "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?)",
            "resp": "INSERT OR IGNORE INTO responsible VALUES (?, ?)",
        }
        rows = 0

        def flush(name: str) -> None:
            conn.executemany(sql[name], batches[name])
            batches[name].clear()

        for item in read_province(src):
            rows += 1
            if isinstance(item, Subject):
                batches["subjects"].append((item.code, item.kind, item.name, item.terminated))
                name = "subjects"
            elif isinstance(item, Role):
                batches["roles"].append((item.holder, item.entity, item.type, item.key,
                                         item.role, item.since, item.until, item.share_ratio))
                name = "roles"
            elif isinstance(item, Record):
                p = item.props
                batches["records"].append((item.uid, item.subject, p.get("category"),
                                           p.get("decided_on"), p.get("act_ended_on"),
                                           json.dumps(p, ensure_ascii=False)))
                batches["resp"].extend((person, item.uid) for person in item.responsible)
                name = "records"
            if len(batches[name]) >= BATCH:
                flush(name)
                if name == "records":
                    flush("resp")
            if progress and rows % BATCH == 0:
                progress(BATCH)
        for name in batches:
            flush(name)
        conn.executescript(INDEXES)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
        seconds = time.perf_counter() - started
        base = cls(db)
        stats = LoadStats(rows, seconds, db.stat().st_size / 2**20,
                          (psutil.Process().memory_info().rss - before) / 2**20)
        return base, stats

    def close(self) -> None:
        self.conn.close()

    def check_rows(self, code: str, day: dt.date) -> list[dict[str, Any]]:
        params = {"code": code, "as_of": day.isoformat(), "min_date": MIN_DATE,
                  "max_date": MAX_DATE, "named": NAMED, "negative": NEGATIVE}
        out = []
        for (reach, props, t_code, t_kind, t_ended, t_name, via, role, officer, officer_role,
             officer_entity, officer_since) in self.conn.execute(CHECK_SQL, params):
            out.append({
                "reach": reach, "record": json.loads(props) if props else None,
                "record_subject": t_code, "record_subject_kind": t_kind,
                "record_subject_ended": t_ended, "record_subject_name": t_name,
                "via": json.loads(via), "role": role, "officer": officer,
                "officer_role": officer_role, "officer_entity": officer_entity,
                "officer_since": officer_since,
            })
        return out

    def check(self, code: str, *, day: dt.date, policy: Policy,
              catalogue: Catalogue) -> SanctionCheck:
        return decide(code, self.check_rows(code, day), day=day, policy=policy,
                      catalogue=catalogue)

    def path_length(self, a: str, b: str, max_hops: int = 4) -> int | None:
        """The shortest path's length in roles, None when none is within ``max_hops``."""
        params = {"a": a, "b": b, "half_a": (max_hops + 1) // 2, "half_b": max_hops // 2,
                  "max_hops": max_hops}
        row = self.conn.execute(PATH_LENGTH_SQL, params).fetchone()
        return None if row is None or row[0] is None else int(row[0])


def main() -> None:
    from schema.catalogue import load_catalogue
    from schema.policy import load_policy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--db", type=Path,
                    default=Path(tempfile.gettempdir()) / "credit-graph-baseline.sqlite")
    ap.add_argument("--code", help="check this subject")
    ap.add_argument("--pair", nargs=2, help="shortest path length between two subjects")
    args = ap.parse_args()
    base, stats = SqliteBaseline.load(args.data, args.db)
    print(json.dumps(stats.__dict__))
    if args.code:
        print(base.check(args.code, day=dt.date.today(), policy=load_policy("nantong"),
                         catalogue=load_catalogue()).to_json_dict())
    if args.pair:
        print(base.path_length(args.pair[0], args.pair[1]))
    base.close()


if __name__ == "__main__":
    main()
