"""Entities and persons: one node per code, whatever source reported it (Wuhan Art. 10)."""

from queries.changes import changed_row

# A subject loaded from FollowTheMoney keeps every FtM id it came under (``ftm_ids``,
# never removed), so a later file can name it by one (``SUBJECTS_BY_FTM_ID``). Rows
# without ``ftm_ids`` leave the property as it is. Only a changed row sets it: the row
# hash covers the id (``loaders.graph_rows``), so a skipped row's id is already there.
_KEEP_FTM_IDS = """
    n.ftm_ids = CASE WHEN row.ftm_ids IS NULL THEN n.ftm_ids
        ELSE coalesce(n.ftm_ids, [])
            + [i IN row.ftm_ids WHERE NOT i IN coalesce(n.ftm_ids, [])] END
"""

# Rows: {code, row_hash, props, ftm_ids?}; a row that does not change the node is
# skipped (``queries.changes``).
MERGE_ENTITIES = (
    """
UNWIND $rows AS row
MERGE (n:Subject:Entity {code: row.code})
WITH n, row
"""
    + changed_row("n")
    + """
SET n += row.props, n.row_hash = row.row_hash,"""
    + _KEEP_FTM_IDS
    + """RETURN count(n) AS changed
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
SET n += row.props, n.row_hash = row.row_hash,"""
    + _KEEP_FTM_IDS
    + """RETURN count(n) AS changed
"""
)

EXISTING_CODES = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
RETURN s.code AS code, s.kind AS kind
"""

# The subjects that came under these FtM ids (``ftm_ids``), for ``ftm:<id>`` references
# that name no subject by code. FalkorDB serves ``IN`` over the list from its index on
# ``ftm_ids`` (graph.dialect); Neo4j indexes no list element, and ``IS NOT NULL`` lets it
# scan only the subjects loaded from FtM instead of every subject.
SUBJECTS_BY_FTM_ID = """
UNWIND $ids AS i
MATCH (s:Subject)
WHERE s.ftm_ids IS NOT NULL AND i IN s.ftm_ids
RETURN i AS id, s.code AS code, s.kind AS kind
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
