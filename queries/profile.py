"""A subject's profile, read in batches: one query per kind of fact for many subjects.

The GraphQL layer's DataLoaders collect every code a request needs at one depth and send
them in one ``UNWIND $codes`` query, so a page of 100 subjects with their roles and
records costs a fixed handful of round trips, not one per subject.
"""

SUBJECTS_BY_CODE = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
RETURN c AS code, properties(s) AS subject
"""

# Roles a subject holds in organisations: a person's offices and shareholdings, an
# organisation's shareholdings in others and its head office (BRANCH_OF points there).
ROLES_HELD = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
      -[r:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF|SHAREHOLDER_OF|BRANCH_OF]->(e:Entity)
RETURN c AS code, type(r) AS type, properties(r) AS role,
       e.code AS other, e.name AS other_name, e.kind AS other_kind
"""

# Roles held in an organisation: its people, its shareholders and its branches.
ROLES_IN = """
UNWIND $codes AS c
MATCH (e:Entity {code: c})
      <-[r:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF|SHAREHOLDER_OF|BRANCH_OF]-(h:Subject)
RETURN c AS code, type(r) AS type, properties(r) AS role,
       h.code AS other, h.name AS other_name, h.kind AS other_kind
"""

RECORDS_OF = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})<-[:CONCERNS]-(r:Record)
RETURN c AS code, s.kind AS subject_kind, s.terminated AS subject_ended,
       properties(r) AS record
ORDER BY r.decided_on DESC, r.uid
"""
