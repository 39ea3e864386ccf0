"""Credit records: who they concern, who is named responsible, and withdrawal."""

from queries.changes import changed_row

# Rows: {uid, subject, responsible: [codes], row_hash, props}. The loader has checked that
# every responsible code is a person in the graph, so the MERGE on it only ever matches
# (through the code index). Links are rebuilt only for
# records whose content changed, so a correction that names other persons replaces them.
# A changed record keeps its previous content as a RecordVersion (who sent it, from which
# file and line, when it was superseded and by which submission); nothing is overwritten
# without a trace (Wuhan Art. 34). A changed resubmission revives a withdrawn record; a
# status set by a procedure (revoked, repaired...) is left alone: only that procedure
# may undo it. ``states`` gets a dated entry for every change of status and
# ``content_since`` the day this content took effect, so the check can answer for a past
# date (``schema.record_life``).
# A row that does not change the record is skipped (``queries.changes``).
MERGE_RECORDS = (
    """
UNWIND $rows AS row
MATCH (s:Subject {code: row.subject})
MERGE (r:Record {uid: row.uid})
WITH r, row, s
"""
    + changed_row("r")
    + """
FOREACH (_ IN CASE WHEN r.row_hash IS NULL THEN [] ELSE [1] END |
  CREATE (v:RecordVersion)
  SET v += properties(r), v.superseded_at = $now, v.superseded_by = $src
  CREATE (v)-[:VERSION_OF]->(r))
SET r.states = CASE WHEN r.status = $withdrawn THEN coalesce(r.states, []) + [$revived]
                    ELSE r.states END,
    r += row.props, r.row_hash = row.row_hash, r.version = coalesce(r.version, 0) + 1,
    r.content_since = $today,
    r.status = CASE WHEN r.status IS NULL OR r.status = $withdrawn THEN $active
                    ELSE r.status END
WITH r, row, s
OPTIONAL MATCH (r)-[old:CONCERNS|NAMES_RESPONSIBLE]->()
DELETE old
WITH DISTINCT r, row, s
MERGE (r)-[:CONCERNS]->(s)
FOREACH (pc IN row.responsible |
  MERGE (p:Subject:Person {code: pc})
  MERGE (r)-[:NAMES_RESPONSIBLE]->(p))
RETURN count(r) AS changed
"""
)

# Rows: {uid, line, event_id, entry}. Withdrawal ends a record's effect and keeps the
# node, its versions and an event saying who withdrew it, when and from which file; a record already
# withdrawn is left as it is, and so is one whose content came from a later line of the
# same file (the file sent it again after withdrawing it), so a reload changes nothing.
WITHDRAW_RECORDS = """
UNWIND $rows AS row
MATCH (r:Record {uid: row.uid})
WHERE r.status <> $withdrawn AND coalesce(r.src <> $src OR r.src_line <= row.line, true)
CREATE (ev:Event {id: row.event_id, kind: $withdrawn, actor: $provider, at: $now, on: $today,
                  src: $src, src_line: row.line, from_status: r.status, to_status: $withdrawn})
CREATE (ev)-[:CHANGED]->(r)
SET r.states = coalesce(r.states, []) + [row.entry],
    r.status = $withdrawn
RETURN count(r) AS changed
"""

RECORD_HISTORY = """
MATCH (r:Record {uid: $uid})
OPTIONAL MATCH (v:RecordVersion)-[:VERSION_OF]->(r)
WITH r, v ORDER BY v.version
WITH r, collect(properties(v)) AS versions
OPTIONAL MATCH (ev:Event)-[:CHANGED]->(r)
WITH r, versions, ev ORDER BY ev.at
RETURN properties(r) AS record, versions, collect(properties(ev)) AS events
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

# Earlier contents of records, for a check or profile as of a date before the current
# content took effect (``content_since``). Only records changed since are asked for.
VERSIONS_OF = """
UNWIND $uids AS u
MATCH (v:RecordVersion)-[:VERSION_OF]->(r:Record {uid: u})
RETURN u AS uid, properties(v) AS version
"""
