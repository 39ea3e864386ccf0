"""Entities and persons: one node per code, whatever source reported it (Wuhan Art. 10)."""

from queries.changes import changed_row

# Rows: {code, row_hash, props}; a row that does not change the node is skipped
# (``queries.changes``).
MERGE_ENTITIES = (
    """
UNWIND $rows AS row
MERGE (n:Subject:Entity {code: row.code})
WITH n, row
"""
    + changed_row("n")
    + """
SET n += row.props, n.row_hash = row.row_hash
RETURN count(n) AS changed
"""
)

MERGE_PERSONS = (
    """
UNWIND $rows AS row
MERGE (n:Subject:Person {code: row.code})
WITH n, row
"""
    + changed_row("n")
    + """
SET n += row.props, n.row_hash = row.row_hash
RETURN count(n) AS changed
"""
)

EXISTING_CODES = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
RETURN s.code AS code, s.kind AS kind
"""

# Whether a code that also passes as an ID number names an organisation (api.person_guard).
ENTITY_WITH_CODE = """
MATCH (e:Entity {code: $code})
RETURN e.code AS code
"""

GET_SUBJECT = """
MATCH (s:Subject {code: $code})
RETURN properties(s) AS subject
"""
