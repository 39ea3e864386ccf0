"""Credit records: who they concern, who is named responsible, and withdrawal."""

# Rows: {uid, subject, responsible: [codes], row_hash, props}. Links are rebuilt only for
# records whose content changed, so a correction that names other persons replaces them.
# A changed resubmission revives a withdrawn record; a status set by a procedure
# (revoked, repaired...) is left alone, since only that procedure may undo it.
MERGE_RECORDS = """
UNWIND $rows AS row
MATCH (s:Subject {code: row.subject})
MERGE (r:Record {uid: row.uid})
WITH r, row, s
WHERE r.row_hash IS NULL OR r.row_hash <> row.row_hash
SET r += row.props, r.row_hash = row.row_hash,
    r.status = CASE WHEN r.status IS NULL OR r.status = $withdrawn THEN $active
                    ELSE r.status END
WITH r, row, s
OPTIONAL MATCH (r)-[old:CONCERNS|NAMES_RESPONSIBLE]->()
DELETE old
WITH DISTINCT r, row, s
MERGE (r)-[:CONCERNS]->(s)
WITH r, row
OPTIONAL MATCH (p:Person)
WHERE p.code IN row.responsible
FOREACH (x IN CASE WHEN p IS NULL THEN [] ELSE [p] END |
  MERGE (r)-[:NAMES_RESPONSIBLE]->(x))
RETURN count(DISTINCT r) AS changed
"""

# Rows: {uid, src, line}. Withdrawal ends a record's effect and keeps the node and its
# history; a record already withdrawn is left as it is.
WITHDRAW_RECORDS = """
UNWIND $rows AS row
MATCH (r:Record {uid: row.uid})
WHERE r.status <> $withdrawn
SET r.status = $withdrawn, r.withdrawn_src = row.src, r.withdrawn_line = row.line
RETURN count(r) AS changed
"""

EXISTING_RECORDS = """
UNWIND $uids AS u
MATCH (r:Record {uid: u})
RETURN r.uid AS uid, r.status AS status
"""

GET_RECORD = """
MATCH (r:Record {uid: $uid})-[:CONCERNS]->(s:Subject)
OPTIONAL MATCH (r)-[:NAMES_RESPONSIBLE]->(p:Person)
RETURN properties(r) AS record, s.code AS subject, collect(p.code) AS responsible
"""

# A change of a record's status by a procedure (revocation, repair, objection outcome):
# the record keeps its content, the event says who changed it, when and why.
SET_RECORD_STATUS = """
MATCH (r:Record {uid: $uid})
CREATE (ev:Event {id: $event_id, kind: $kind, actor: $actor, at: $at, reason: $reason,
                  from_status: r.status, to_status: $status})
CREATE (ev)-[:CHANGED]->(r)
SET r.status = $status
RETURN r.uid AS uid, ev.from_status AS from_status
"""

SET_OBJECTION_PENDING = """
MATCH (r:Record {uid: $uid})
SET r.objection_pending = $pending, r.objection_provider_overdue = $provider_overdue
RETURN r.uid AS uid
"""
