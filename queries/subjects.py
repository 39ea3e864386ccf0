"""Entities and persons: one node per code, whatever source reported it (Wuhan Art. 10)."""

# Rows: {code, row_hash, props}. A row whose content hash is unchanged is skipped, so
# loading the same file twice changes nothing, provenance included. So is a row older
# in its file than the content it would replace from that same submission (``src``,
# ``src_line``): a file that names a subject twice ends, loaded again, as it ended the
# first time, instead of replaying its earlier row (see ``queries.records``).
MERGE_ENTITIES = """
UNWIND $rows AS row
MERGE (n:Subject:Entity {code: row.code})
WITH n, row
WHERE n.row_hash IS NULL
   OR (n.row_hash <> row.row_hash
       AND coalesce(n.src <> row.props.src OR n.src_line <= row.props.src_line, true))
SET n += row.props, n.row_hash = row.row_hash
RETURN count(n) AS changed
"""

MERGE_PERSONS = """
UNWIND $rows AS row
MERGE (n:Subject:Person {code: row.code})
WITH n, row
WHERE n.row_hash IS NULL
   OR (n.row_hash <> row.row_hash
       AND coalesce(n.src <> row.props.src OR n.src_line <= row.props.src_line, true))
SET n += row.props, n.row_hash = row.row_hash
RETURN count(n) AS changed
"""

EXISTING_CODES = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
RETURN s.code AS code, s.kind AS kind
"""

GET_SUBJECT = """
MATCH (s:Subject {code: $code})
RETURN properties(s) AS subject
"""
