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


def _merge_subjects(label: str) -> str:
    """The writer of one kind of subject (``label``: a fixed label of this module, never
    input). Rows: {code, row_hash, said, props, defaults?, ftm_ids?}
    (``loaders.graph_rows``).

    A row sets only the fields it carries (``said``): one subject is one node whatever
    source reported it (DOMAIN.md section 1), and a source that reports a company's code
    and name, or a row with blank cells, must not make a revoked company active or erase
    its dates. ``defaults`` (an entity is an active enterprise unless a row says
    otherwise) are given only to a node no subject row wrote before (``fresh``: no
    ``row_hash``), that is when the node is created. (``ON CREATE SET`` said the same
    and cost FalkorDB a third more time per new node.) A row changes the node when
    ``queries.changes`` says so and, besides, one of its fields differs from the stored
    value or it brings a new FtM id: a row that says a part of what is stored changes
    nothing and counts as unchanged. An identical row is skipped by its hash before any
    field is compared; the comparison runs here, in the same statement, for the others.

    A changed node keeps its previous content as a ``SubjectVersion``, as a record does
    (``queries.records.MERGE_RECORDS``): the old properties (with ``src``, ``src_line``:
    who said them), when they were superseded and by which submission. Nothing read by the
    check depends on them; they are the history of what sources said."""
    return (
        f"""
UNWIND $rows AS row
MERGE (n:Subject:{label} {{code: row.code}})
WITH n, row
"""
        + changed_row("n")
        + """
WITH n, row, n.row_hash IS NULL AS fresh
WHERE fresh
   OR any(k IN keys(row.said) WHERE coalesce(n[k] <> row.said[k], true))
   OR any(i IN coalesce(row.ftm_ids, []) WHERE NOT i IN coalesce(n.ftm_ids, []))
FOREACH (_ IN CASE WHEN fresh THEN [] ELSE [1] END |
  CREATE (v:SubjectVersion)
  SET v += properties(n), v.superseded_at = $now, v.superseded_by = row.props.src
  CREATE (v)-[:VERSION_OF]->(n))
SET n += CASE WHEN fresh THEN coalesce(row.defaults, {}) ELSE {} END,
    n += row.said, n += row.props, n.row_hash = row.row_hash,"""
        + _KEEP_FTM_IDS
        + """RETURN count(n) AS changed
"""
    )


MERGE_ENTITIES = _merge_subjects("Entity")
MERGE_PERSONS = _merge_subjects("Person")

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
