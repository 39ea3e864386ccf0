"""Submissions and the ingestion log (Wuhan Art. 28), and providers' discipline.

A ``Submission`` is one file from one provider, identified by a hash of provider and
content, so a file sent again (or reloaded after an interruption) is the same
submission and provenance stays identical. Every load run of it writes its own
``IngestionLog`` entry: who, when, how, and counts by category.
"""

MERGE_SUBMISSION = """
MERGE (s:Submission {id: $id})
ON CREATE SET s += $props
RETURN s.id AS id, s.submitted_at AS submitted_at
"""

# A first arrival stored in the future (a mistyped time, before the command refused one)
# is replaced by the arrival of a run that is not.
SET_SUBMITTED_AT = """
MATCH (s:Submission {id: $id})
SET s.submitted_at = $at
RETURN s.id AS id
"""

CREATE_INGESTION_LOG = """
MATCH (s:Submission {id: $submission})
CREATE (l:IngestionLog {id: $id})
SET l += $props
CREATE (l)-[:OF_SUBMISSION]->(s)
RETURN l.id AS id
"""

FINISH_INGESTION_LOG = """
MATCH (l:IngestionLog {id: $id})
SET l += $props
RETURN l.id AS id
"""

LIST_INGESTION_LOG = """
MATCH (l:IngestionLog)-[:OF_SUBMISSION]->(s:Submission)
RETURN properties(l) AS entry, s.file AS file
ORDER BY l.started_at DESC
LIMIT $limit
"""

# Per submission of each provider that has a finished load run: its latest finished
# run's rows read and rejected (a file loaded again changes no figure: Nantong Art. 5
# rates what providers sent, not how often the platform read it), how many runs read
# it, and when the provider sent it (``submitted_at``: the first arrival, which
# ``--submitted-at`` gives and a reload does not move). ``loaders.discipline`` sums them
# per provider; the times are compared there as times, since they are stored with the
# offset they were given in.
PROVIDER_DISCIPLINE = """
MATCH (l:IngestionLog)-[:OF_SUBMISSION]->(s:Submission)
WHERE l.status = $finished
WITH l.provider AS provider, s, l
ORDER BY l.finished_at DESC
WITH provider, s, collect(l) AS runs
RETURN provider, s.submitted_at AS submitted_at, size(runs) AS runs,
       runs[0].rows_read AS rows_read, runs[0].rows_rejected AS rows_rejected,
       runs[0].finished_at AS last_run
ORDER BY provider
"""

# Per provider, its licences and penalties (those with a deadline carry ``late``) and how
# many were late, from the records themselves: one record counts once, with the
# lateness it has now, however often it was sent or corrected.
PROVIDER_LATENESS = """
MATCH (r:Record)
WHERE r.late IS NOT NULL
RETURN r.provider AS provider, count(r) AS deadline_records,
       sum(CASE WHEN r.late THEN 1 ELSE 0 END) AS late_records
"""
