"""The joint-punishment check: one bounded traversal from the checked subject.

Every branch returns the same columns, and the whole check is one round trip:

- ``exists``  the subject itself (kind, name) so an unknown code is told apart;
- ``subject`` records whose subject is the checked one;
- ``role``    records of organisations the checked person represented or led on the
              record's act date (CONTRACT.md section 4, rule 2; Nantong Art. 29);
- ``named``   records that name the checked person as directly responsible;
- ``office``  offices the checked person holds on ``$as_of`` (for conflicts, rule 5);
- ``officer`` for an organisation: records that bar a person holding office in it on
              ``$as_of`` (their own, through a role on the act date, or by name).

Dates are ISO strings, compared as strings on both engines; ``$min_date`` and
``$max_date`` stand in for open ends of roles.

A record whose content changed after ``$as_of`` (a correction by its provider or by an
objection) is judged in the content it had on ``$as_of``, which the graph does not hold
on the node: the filters on its dates and category here apply to its current content,
so such a record passes them unconditionally (``$changed``) and ``api.checks`` applies
the same filters to the content it had, with the role's term (``role_term``) returned
for that. Without this, a decision date corrected to a later day hid the record from
checks of the days before, and a corrected act date moved the responsibility to the
representative of the new date, for dates the correction came after.

The ``officer`` branches anchor on the checked organisation with ``WITH s`` before the
long pattern: without it FalkorDB's planner started them from a label scan of the far
end (every Person or Record), 10-25x slower on a 2,000-entity graph and growing with it.
"""

from queries.roles import REL_TYPES, withdrawn_rel

#: The record changed after ``$as_of``: its filters are applied in Python (module doc).
_CHANGED = "(r.version > 1 AND r.content_since > $as_of)"

#: The act date of rule 2 (``act_ended_on``, else ``decided_on``) as known on ``$as_of``:
#: an act that ends after the day asked (a continuing act, its end given ahead) is
#: still going on that day, so the person holding the role that day answers for it,
#: not the one who will hold it when it ends (``schema.record_view.act_date_on``).
_ACT_ON = """CASE WHEN coalesce(r.act_ended_on, r.decided_on) > $as_of THEN $as_of
       ELSE coalesce(r.act_ended_on, r.decided_on) END"""

#: Roles that make their holder answer for the organisation's records (rule 2), and the
#: offices of rule 5: those ``NO_OFFICE`` bars, "法定代表人、负责人或者高级管理人员"
#: (Wuhan Art. 26(6), DOMAIN.md section 8), so not directors or supervisors, who are
#: not senior managers (Company Law Art. 265); each with ``WITHDRAWN_ROLE``, a role
#: withdrawn by its provider, which still counts on the days before its withdrawal.
_LEAD_ROLES = ("legal_representative", "principal")
_OFFICE_ROLES = ("legal_representative", "principal", "manager")


def _types(roles: tuple[str, ...]) -> str:
    return "|".join([*(REL_TYPES[r] for r in roles), withdrawn_rel])


_LEAD = _types(_LEAD_ROLES)
_OFFICE = _types(_OFFICE_ROLES)
#: The ``role`` values of those types (a withdrawn role keeps its own as a property),
#: which the query takes as parameters.
ROLE_PARAMS: dict[str, list[str]] = {
    "lead_roles": list(_LEAD_ROLES), "office_roles": list(_OFFICE_ROLES),
}


def _known(v: str, roles: str) -> str:
    """The role ``v`` as it stood on ``$as_of``: of one of the role values in the
    parameter ``roles`` (a withdrawn role keeps its role as a property), not yet
    withdrawn, and not a revival of later."""
    return (
        f"({v}.role IN {roles} AND coalesce({v}.in_force_from, $min_date) <= $as_of"
        f" AND coalesce({v}.withdrawn_on, $max_date) > $as_of)"
    )


_RECORD_COLUMNS = """
  properties(r) AS record, t.code AS record_subject, t.kind AS record_subject_kind,
  t.terminated AS record_subject_ended, t.name AS record_subject_name"""

CHECK_TRAVERSAL = f"""
MATCH (s:Subject {{code: $code}})
RETURN 'exists' AS reach, null AS record, s.code AS record_subject,
  s.kind AS record_subject_kind, s.terminated AS record_subject_ended,
  s.name AS record_subject_name,
  [s.code] AS via, null AS role, null AS officer, null AS officer_role,
  null AS officer_entity, null AS officer_since, null AS role_term
UNION ALL
MATCH (s:Subject {{code: $code}})<-[:CONCERNS]-(r:Record)
WITH s, r, s AS t
WHERE r.decided_on <= $as_of OR {_CHANGED}
RETURN 'subject' AS reach, {_RECORD_COLUMNS},
  [s.code] AS via, null AS role, null AS officer, null AS officer_role,
  null AS officer_entity, null AS officer_since, null AS role_term
UNION ALL
MATCH (s:Person {{code: $code}})-[ro:{_LEAD}]->(t:Entity)
      <-[:CONCERNS]-(r:Record)
WHERE {_known("ro", "$lead_roles")}
  AND (r.decided_on <= $as_of
       AND coalesce(ro.since, $min_date) <= {_ACT_ON}
       AND coalesce(ro.until, $max_date) >= {_ACT_ON}
       OR {_CHANGED})
RETURN 'role' AS reach, {_RECORD_COLUMNS},
  [s.code, t.code] AS via, ro.role AS role, null AS officer, null AS officer_role,
  null AS officer_entity, null AS officer_since, [ro.since, ro.until] AS role_term
UNION ALL
MATCH (s:Person {{code: $code}})<-[:NAMES_RESPONSIBLE]-(r:Record)-[:CONCERNS]->(t:Subject)
WHERE r.decided_on <= $as_of OR {_CHANGED}
RETURN 'named' AS reach, {_RECORD_COLUMNS},
  [s.code, t.code] AS via, $named AS role, null AS officer, null AS officer_role,
  null AS officer_entity, null AS officer_since, null AS role_term
UNION ALL
MATCH (s:Person {{code: $code}})-[o:{_OFFICE}]->(t:Entity)
WHERE coalesce(o.since, $min_date) <= $as_of AND coalesce(o.until, $max_date) >= $as_of
  AND {_known("o", "$office_roles")}
RETURN 'office' AS reach, null AS record, t.code AS record_subject,
  t.kind AS record_subject_kind, t.terminated AS record_subject_ended,
  t.name AS record_subject_name,
  [s.code, t.code] AS via, null AS role, s.code AS officer, o.role AS officer_role,
  t.code AS officer_entity, o.since AS officer_since, null AS role_term
UNION ALL
MATCH (s:Entity {{code: $code}})
WITH s
MATCH (s)<-[o:{_OFFICE}]-(p:Person)<-[:CONCERNS]-(r:Record)
WHERE coalesce(o.since, $min_date) <= $as_of AND coalesce(o.until, $max_date) >= $as_of
  AND {_known("o", "$office_roles")}
  AND (r.decided_on <= $as_of AND r.category = $negative OR {_CHANGED})
WITH s, o, p, r, p AS t
RETURN 'officer' AS reach, {_RECORD_COLUMNS},
  [s.code, p.code] AS via, null AS role, p.code AS officer, o.role AS officer_role,
  s.code AS officer_entity, o.since AS officer_since, null AS role_term
UNION ALL
MATCH (s:Entity {{code: $code}})
WITH s
MATCH (s)<-[o:{_OFFICE}]-(p:Person)-[ro:{_LEAD}]->(t:Entity)<-[:CONCERNS]-(r:Record)
WHERE coalesce(o.since, $min_date) <= $as_of AND coalesce(o.until, $max_date) >= $as_of
  AND {_known("o", "$office_roles")} AND {_known("ro", "$lead_roles")}
  AND (r.decided_on <= $as_of AND r.category = $negative
       AND coalesce(ro.since, $min_date) <= {_ACT_ON}
       AND coalesce(ro.until, $max_date) >= {_ACT_ON}
       OR {_CHANGED})
RETURN 'officer' AS reach, {_RECORD_COLUMNS},
  [s.code, p.code, t.code] AS via, ro.role AS role, p.code AS officer,
  o.role AS officer_role, s.code AS officer_entity, o.since AS officer_since,
  [ro.since, ro.until] AS role_term
UNION ALL
MATCH (s:Entity {{code: $code}})
WITH s
MATCH (s)<-[o:{_OFFICE}]-(p:Person)<-[:NAMES_RESPONSIBLE]-(r:Record)-[:CONCERNS]->(t:Subject)
WHERE coalesce(o.since, $min_date) <= $as_of AND coalesce(o.until, $max_date) >= $as_of
  AND {_known("o", "$office_roles")}
  AND (r.decided_on <= $as_of AND r.category = $negative OR {_CHANGED})
RETURN 'officer' AS reach, {_RECORD_COLUMNS},
  [s.code, p.code, t.code] AS via, $named AS role, p.code AS officer,
  o.role AS officer_role, s.code AS officer_entity, o.since AS officer_since,
  null AS role_term
"""
