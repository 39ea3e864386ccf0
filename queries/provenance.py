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

# Per provider: its finished load runs, what they read, rejected and loaded late.
PROVIDER_DISCIPLINE = """
MATCH (l:IngestionLog)
WHERE l.status = $finished
RETURN l.provider AS provider, count(l) AS runs, sum(l.rows_read) AS rows_read,
       sum(l.rows_rejected) AS rows_rejected, sum(l.deadline_records) AS deadline_records,
       sum(l.late_records) AS late_records, max(l.finished_at) AS last_run
ORDER BY provider
"""
