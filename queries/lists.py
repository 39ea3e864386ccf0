"""Red and black lists: the records that put a subject on a list (issue 5, item 6).

Whether a record keeps its subject on the list on a date is decided in Python from the
record's life (``schema.record_life``); these queries only bring the candidate records.

``LIST_MEMBERS_SCAN`` starts from the ``Record.list`` index (a few per cent of the records
at province scale), keeps the ones decided by ``$on``, orders them by the record's
``subject`` property and cuts the batch *before* walking ``CONCERNS``, so a batch costs
one index read, one sort and ``$limit`` hops. ``(subject, uid) > ($after_code,
$after_uid)`` resumes where the previous batch stopped, even inside one subject's records.

The decision date is compared through ``left(..., 10)`` (an ISO date is 10 characters, so
the value is unchanged) to keep it out of the index scan: FalkorDB otherwise serves
``r.decided_on <= $on`` from the ``Record.decided_on`` index as well, a range over
nearly every record, which made a batch 4-5x slower on 400,000 records (12,000 on the
black list) than filtering the list's records one by one.

A subject is on a list on a date when the content its record had *on that date* puts it
there (``graph.record_versions``), and a provider's correction may have changed ``list``
or ``decided_on`` since. ``LIST_MEMBERS_SCAN`` filters on the current content, so
``LIST_MEMBERS_PAST_SCAN`` brings the records whose earlier content (a ``RecordVersion``)
was on the list, decided by ``$on`` and still standing on ``$on`` (superseded after it,
by a content that took effect after it). It starts from the ``RecordVersion.list`` index
(versions are only kept for changed records, and few of them carry a list), with the
same order and resume point, so the caller merges the two in one pass.
``superseded_at`` is a UTC time and China's day of it may be the next one, so the
query keeps versions superseded on ``$on`` by UTC too; ``content_on`` decides.
"""

# One subject's records that are, or may once have been, on a list: a record whose
# content changed (``version`` above 1) may have been on a list before, which only its
# versions tell. One row with a null record when the subject has none; no row when the
# subject is unknown.
LIST_RECORDS_OF = """
MATCH (s:Subject {code: $code})
OPTIONAL MATCH (s)<-[:CONCERNS]-(r:Record)
WHERE r.list IN $lists OR r.version > 1
RETURN s.code AS code, s.kind AS subject_kind, s.name AS subject_name,
       s.terminated AS subject_ended, properties(r) AS record
"""

LIST_MEMBERS_SCAN = """
MATCH (r:Record)
WHERE r.list = $list AND left(r.decided_on, 10) <= $on
  AND (r.subject > $after_code OR (r.subject = $after_code AND r.uid > $after_uid))
WITH r ORDER BY r.subject, r.uid LIMIT $limit
MATCH (r)-[:CONCERNS]->(s:Subject)
RETURN s.code AS code, s.kind AS subject_kind, s.name AS subject_name,
       s.terminated AS subject_ended, properties(r) AS record,
       r.subject AS position, r.uid AS uid
ORDER BY position, uid
"""

LIST_MEMBERS_PAST_SCAN = """
MATCH (v:RecordVersion)
WHERE v.list = $list AND left(v.decided_on, 10) <= $on AND left(v.superseded_at, 10) >= $on
MATCH (v)-[:VERSION_OF]->(r:Record)
WHERE r.content_since > $on
  AND (r.subject > $after_code OR (r.subject = $after_code AND r.uid > $after_uid))
WITH DISTINCT r ORDER BY r.subject, r.uid LIMIT $limit
MATCH (r)-[:CONCERNS]->(s:Subject)
RETURN s.code AS code, s.kind AS subject_kind, s.name AS subject_name,
       s.terminated AS subject_ended, properties(r) AS record,
       r.subject AS position, r.uid AS uid
ORDER BY position, uid
"""

# The record a members cursor points at (the last entry of the page before).
LIST_CURSOR_RECORD = """
MATCH (r:Record {uid: $uid})-[:CONCERNS]->(s:Subject)
RETURN s.code AS code, s.kind AS subject_kind, s.name AS subject_name,
       s.terminated AS subject_ended, properties(r) AS record,
       r.subject AS position, r.uid AS uid
"""
