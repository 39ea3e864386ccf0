"""Reads behind the whole-graph analytics (``graph/analytics``): the dishonest subjects
and the roles around them.

Which records are in force on a date is decided in Python (``schema.record_life``), so
these queries only bring candidates, in bounded batches:

- ``NEGATIVE_RECORDS_DECIDED`` reads the negative records decided in one window of dates
  (``$from`` to ``$last``, both inclusive), served by the ``Record.decided_on`` index; the
  bound is the window's last day, not the next month's first, because FalkorDB's string
  range index returns the whole next year for an upper bound on 1 January (see
  ``graph/dialect.py``; the caller still re-checks each row against its window); the
  caller walks the windows from the first decision date of ``NEGATIVE_RECORDS_SPAN`` to
  the date asked or the last decision date, whichever is earlier, so no reply holds more
  than one window of records and a date far in the future costs no more than today.
  Records with ``version`` above 1 come too: their content on the date may have been
  negative before a provider changed it (the caller reads the content that stood on the
  date, ``graph.record_versions.with_content_on``).
- ``NEGATIVE_RECORDS_CORRECTED`` reads what the windows cannot see: records whose current
  decision date is after the last window (``$last``) but whose content that stood on
  ``$on`` (a ``RecordVersion``: negative, decided by ``$on``, superseded after it by a
  content that took effect after it) counts on ``$on``. It walks the versions, which
  exist only for changed records, not the records, and the caller skips it when the
  windows reach the last decision in the graph (no record is decided after it).
- ``ANALYTICS_LINKS_OF`` reads the roles of a batch of subjects held on ``$on``, both
  directions, cut at ``$cap`` per subject in the engine (a hub is reported, not shipped);
  the same query over the outer ring gives the roles among its subjects (filtered in
  Python: an ``IN $list`` over a whole ring would be a linear scan per row in FalkorDB).

As in ``queries/explore.py``: filters on the far node sit after a ``WITH`` so FalkorDB
starts from the index lookup of the listed subject, and ``r`` is named in what is returned
so parallel relationships between two nodes are not collapsed.
"""

# The earliest and the latest decision date among the records the windows must cover
# (one row).
NEGATIVE_RECORDS_SPAN = """
MATCH (r:Record)
WHERE r.category = $category OR r.version > 1
RETURN min(r.decided_on) AS first, max(r.decided_on) AS last
"""

NEGATIVE_RECORDS_DECIDED = """
MATCH (r:Record)
WHERE r.decided_on >= $from AND r.decided_on <= $last
WITH r
WHERE r.category = $category OR r.version > 1
MATCH (r)-[:CONCERNS]->(s:Subject)
RETURN s.code AS code, s.kind AS subject_kind, s.name AS subject_name,
       s.terminated AS subject_ended, properties(r) AS record
"""

# ``superseded_at`` is a UTC time, China's day of it the same or the next: versions
# superseded on ``$on`` by UTC are kept and ``content_on`` decides.
NEGATIVE_RECORDS_CORRECTED = """
MATCH (v:RecordVersion)
WHERE v.category = $category AND left(v.decided_on, 10) <= $on
  AND left(v.superseded_at, 10) >= $on
MATCH (v)-[:VERSION_OF]->(r:Record)
WHERE r.content_since > $on AND left(r.decided_on, 10) > $last
WITH DISTINCT r
MATCH (r)-[:CONCERNS]->(s:Subject)
RETURN s.code AS code, s.kind AS subject_kind, s.name AS subject_name,
       s.terminated AS subject_ended, properties(r) AS record
"""

ANALYTICS_LINKS_OF = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
      -[r:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF|SHAREHOLDER_OF|BRANCH_OF]-
      (n:Subject)
WITH c, s, r, n
WHERE coalesce(r.since, $min_date) <= $on
  AND coalesce(r.until, $max_date) >= $on
  AND ($persons OR NOT n:Person)
WITH c, collect([n.code, n.kind, n.name, type(r), startNode(r) = s, r.since, r.until,
                 r.share_ratio]) AS links
RETURN c AS code, size(links) AS degree, links[..$cap] AS links
"""
