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

#: (lower case: an upper-case str here is taken for a query by the grammar check)
#: A withdrawn role: the relationship a provider's withdrawal turned it into, so every
#: query of the roles in force (explorer, profile, analytics) passes it by without a
#: filter of its own; it keeps the role's content, its ``role`` and ``key``, and who
#: withdrew it, when and from which file and line. Only the check reads it, for the
#: days before the withdrawal (``queries.check``).
withdrawn_rel = "WITHDRAWN_ROLE"

# A role withdrawn and sent again is revived from the run's day (``in_force_from``): the
# check of a day between the two does not see it. A row older in its file than the
# withdrawal is not (a reload of a file that sends and then withdraws a role replays
# nothing), as for records (``queries.records``). OPTIONAL MATCH, not a pattern
# comprehension: FalkorDB (4.16) kept a plan cached before the first WITHDRAWN_ROLE
# existed, and its comprehension then found none ever after.
# That look for a withdrawn twin costs the engine a quarter more CPU on a load of roles
# (docs/performance.md), so it is only made on a graph that has withdrawn roles
# (``ANY_WITHDRAWN_ROLE``): on any other a role has no twin, and the plain MERGE is the
# same statement less that part.
_MERGE_ROLE = """
UNWIND $rows AS row
MATCH (h:Subject {code: row.holder})
MATCH (e:Entity {code: row.entity})
%(revival)sMERGE (h)-[r:%(type)s {key: row.key}]->(e)
%(revived)sWITH r, row
%(changed)s
SET r += row.props, r.row_hash = row.row_hash
RETURN count(r) AS changed
"""

# Rows are the role rows of the withdrawals ({holder, entity, key, props}); the role
# becomes a WITHDRAWN_ROLE from the run's day. One whose content came from a later line
# of the same file (sent again after its withdrawal) is left.
_WITHDRAW_ROLE = """
UNWIND $rows AS row
MATCH (h:Subject {code: row.holder})-[r:%(type)s {key: row.key}]->(e:Entity {code: row.entity})
WHERE coalesce(r.src <> row.props.src OR r.src_line <= row.props.src_line, true)
CREATE (h)-[w:%(withdrawn)s]->(e)
SET w += properties(r), w.withdrawn_on = $today, w.withdrawn_at = $now,
    w.withdrawn_by = $provider, w.withdrawn_src = row.props.src,
    w.withdrawn_line = row.props.src_line
DELETE r
RETURN count(w) AS changed
"""

_REVIVAL = f"""OPTIONAL MATCH (h)-[w:{withdrawn_rel} {{key: row.key}}]->(e)
WITH h, e, row, count(w) AS withdrawn,
     collect(w.withdrawn_src = row.props.src AND w.withdrawn_line > row.props.src_line)
       AS later
WHERE NOT true IN later
"""

_REVIVED = """ON CREATE SET r.in_force_from = CASE WHEN withdrawn = 0 THEN null ELSE $today END
"""

#: Whether the graph holds any withdrawn role (``merge_roles``).
ANY_WITHDRAWN_ROLE = f"""
MATCH ()-[w:{withdrawn_rel}]->()
RETURN true AS found
LIMIT 1
"""

#: Which of the withdrawals' roles exist, in force or already withdrawn (a withdrawal
#: loaded again is no error). Rows: {holder, entity, role, key}.
EXISTING_ROLES = """
UNWIND $rows AS row
MATCH (h:Subject {code: row.holder})-[r]->(e:Entity {code: row.entity})
WHERE r.key = row.key AND r.role = row.role
RETURN DISTINCT row.holder AS holder, row.entity AS entity, row.role AS role,
       row.key AS key
"""


def merge_roles(role: str, withdrawn_roles: bool = True) -> str:
    """The batched MERGE for one role; rows are {holder, entity, key, row_hash, props}.
    ``withdrawn_roles``: the graph may hold withdrawn roles, so a row may revive one."""
    return _MERGE_ROLE % {
        "type": REL_TYPES[role],
        "revival": _REVIVAL if withdrawn_roles else "",
        "revived": _REVIVED if withdrawn_roles else "",
        "changed": changed_row("r"),
    }


def withdraw_roles(role: str) -> str:
    """The batched withdrawal of one role; rows as for ``merge_roles``."""
    return _WITHDRAW_ROLE % {"type": REL_TYPES[role], "withdrawn": withdrawn_rel}


def variants() -> Iterator[tuple[str, str]]:
    for role in REL_TYPES:
        yield f"merge_roles[{role}]", merge_roles(role)
        yield f"merge_roles[{role},none withdrawn]", merge_roles(role, withdrawn_roles=False)
        yield f"withdraw_roles[{role}]", withdraw_roles(role)
