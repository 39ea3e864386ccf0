"""Dated roles between holders and organisations, one relationship type per role.

The type varies with the role, so the text comes from a builder; it only ever takes a
type from ``REL_TYPES``, never a value from input.
"""

from collections.abc import Iterator

from queries.changes import changed_row

#: role value of CONTRACT.md section 2 -> relationship type in the graph.
REL_TYPES: dict[str, str] = {
    "legal_representative": "LEGAL_REPRESENTATIVE_OF",
    "principal": "PRINCIPAL_OF",
    "director": "DIRECTOR_OF",
    "supervisor": "SUPERVISOR_OF",
    "manager": "MANAGER_OF",
    "shareholder": "SHAREHOLDER_OF",
    "branch": "BRANCH_OF",
}

_MERGE_ROLE = """
UNWIND $rows AS row
MATCH (h:Subject {code: row.holder})
MATCH (e:Entity {code: row.entity})
MERGE (h)-[r:%(type)s {key: row.key}]->(e)
WITH r, row
%(changed)s
SET r += row.props, r.row_hash = row.row_hash
RETURN count(r) AS changed
"""


def merge_roles(role: str) -> str:
    """The batched MERGE for one role; rows are {holder, entity, key, row_hash, props}."""
    return _MERGE_ROLE % {"type": REL_TYPES[role], "changed": changed_row("r")}


def variants() -> Iterator[tuple[str, str]]:
    for role in REL_TYPES:
        yield f"merge_roles[{role}]", merge_roles(role)
