"""Submissions: one node per loaded file, the ingestion log of Wuhan Art. 28."""

CREATE_SUBMISSION = """
CREATE (s:Submission {id: $id})
SET s += $props
RETURN s.id AS id
"""

FINISH_SUBMISSION = """
MATCH (s:Submission {id: $id})
SET s += $props
RETURN s.id AS id
"""

LIST_SUBMISSIONS = """
MATCH (s:Submission)
RETURN properties(s) AS submission
ORDER BY s.submitted_at DESC
LIMIT $limit
"""
