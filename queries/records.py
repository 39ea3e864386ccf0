"""Credit records: who they concern, who is named responsible, and withdrawal."""

from queries.changes import changed_row

# The day a change takes effect: the run's arrival day ($today), never before the
# latest dated entry of the record's life, so that a file sent again with an earlier
# --submitted-at cannot date a revival before the withdrawal it undoes (the entries are
# read in date order).
_EFFECTIVE = """reduce(d = $today, e IN coalesce(r.states, []) |
       CASE WHEN substring(e, 0, 10) > d THEN substring(e, 0, 10) ELSE d END)"""

# Rows: {uid, subject, responsible: [codes], row_hash, props, late, late_working_days,
# late_approximate}. The loader has checked that
# every responsible code is a person in the graph, so the MERGE on it only ever matches
# (through the code index). Links are rebuilt only for
# records whose content changed, so a correction that names other persons replaces them.
# A changed record keeps its previous content as a RecordVersion (who sent it, from which
# file and line, when it was superseded and by which submission); nothing is overwritten
# without a trace (Wuhan Art. 34). A resubmission revives a withdrawn record, also with
# the very content it had (Yangjiang Art. 11: withdrawn information is sent again),
# unless the row is older in its file than the withdrawal (a reload of a file that sends
# and then withdraws a record replays nothing); a status set by a procedure (revoked,
# repaired...) is left alone: only that procedure may undo it. ``states`` gets a dated
# entry for every change of status and ``content_since`` the day this content arrived
# ($today: this run's arrival, never before the content it supersedes), so the check can
# answer for a past date (``schema.record_life``) and does not change its past answers.
# Lateness (Zhengzhou Art. 12) counts from the record's first arrival
# (``first_arrived_on``, $first: the day its submission first arrived): a correction
# keeps the lateness the record got then; one that moves the decision date leaves it
# unset and returns the record in ``stale``, for the loader to count it again to the
# first arrival (``SET_LATENESS``); a row of such a record is taken again while its
# lateness is unset, so a load cut short between the two writes ends the same when run
# again. ``new_deadline`` and ``new_late`` count the licences and penalties that arrived
# for the first time, so one record counts once however often it is sent.
# Any other row that does not change the record is skipped (``queries.changes``).
MERGE_RECORDS = (
    """
UNWIND $rows AS row
MATCH (s:Subject {code: row.subject})
MERGE (r:Record {uid: row.uid})
WITH r, row, s,
     CASE WHEN r.status = $withdrawn AND r.row_hash = row.row_hash
          THEN size([(ev:Event)-[:CHANGED]->(r)
                     WHERE ev.kind = $withdrawn AND ev.src = row.props.src
                       AND ev.src_line > row.props.src_line | ev])
     END AS withdrawn_later
"""
    + changed_row("r")
    + """
   OR withdrawn_later = 0
   OR (r.row_hash = row.row_hash AND row.late IS NOT NULL AND r.late IS NULL)
WITH r, row, s, r.row_hash IS NULL AS fresh, coalesce(r.row_hash = row.row_hash, false) AS same,
     CASE WHEN r.row_hash IS NULL THEN $first ELSE r.first_arrived_on END AS arrived,
     row.late IS NOT NULL AND r.late IS NOT NULL
       AND coalesce(r.decided_on = row.props.decided_on, false) AS keep,
     """
    + _EFFECTIVE
    + """ AS eff
WITH r, row, s, fresh, same, arrived, keep, eff,
     row.late IS NOT NULL AND NOT keep AND arrived IS NOT NULL AND arrived <> $first AS recount
FOREACH (_ IN CASE WHEN fresh OR same THEN [] ELSE [1] END |
  CREATE (v:RecordVersion)
  SET v += properties(r), v.superseded_at = $now, v.superseded_by = $src
  CREATE (v)-[:VERSION_OF]->(r))
SET r.states = CASE WHEN r.status = $withdrawn THEN coalesce(r.states, []) + [eff + $revived]
                    ELSE r.states END,
    r += row.props, r.row_hash = row.row_hash,
    r.version = CASE WHEN same THEN r.version ELSE coalesce(r.version, 0) + 1 END,
    r.content_since = CASE WHEN same THEN r.content_since
                           WHEN r.content_since > $today THEN r.content_since
                           ELSE $today END,
    r.first_arrived_on = arrived,
    r.late = CASE WHEN keep THEN r.late WHEN recount THEN null ELSE row.late END,
    r.late_working_days = CASE WHEN keep THEN r.late_working_days WHEN recount THEN null
                               ELSE row.late_working_days END,
    r.late_approximate = CASE WHEN keep THEN r.late_approximate WHEN recount THEN null
                              ELSE row.late_approximate END,
    r.status = CASE WHEN r.status IS NULL OR r.status = $withdrawn THEN $active
                    ELSE r.status END
WITH r, row, s, fresh, recount, arrived
OPTIONAL MATCH (r)-[old:CONCERNS|NAMES_RESPONSIBLE]->()
DELETE old
WITH DISTINCT r, row, s, fresh, recount, arrived
MERGE (r)-[:CONCERNS]->(s)
FOREACH (pc IN row.responsible |
  MERGE (p:Subject:Person {code: pc})
  MERGE (r)-[:NAMES_RESPONSIBLE]->(p))
RETURN count(r) AS changed,
       sum(CASE WHEN fresh AND row.late IS NOT NULL THEN 1 ELSE 0 END) AS new_deadline,
       sum(CASE WHEN fresh AND row.late THEN 1 ELSE 0 END) AS new_late,
       collect(CASE WHEN recount
                    THEN {uid: r.uid, kind: r.kind, decided_on: r.decided_on, arrived: arrived}
               END) AS stale
"""
)

# Rows: {uid, late, late_working_days, late_approximate}: the lateness of records whose
# decision date a correction moved, counted again to their first arrival.
SET_LATENESS = """
UNWIND $rows AS row
MATCH (r:Record {uid: row.uid})
SET r.late = row.late, r.late_working_days = row.late_working_days,
    r.late_approximate = row.late_approximate
RETURN count(r) AS changed
"""

# Rows: {uid, line, event_id, entry}, ``entry`` the state entry without its date
# (``schema.record_life.state_tail``). Withdrawal ends a record's effect and keeps the
# node, its versions and an event saying who withdrew it, when and from which file; a record already
# withdrawn is left as it is, and so is one whose content came from a later line of the
# same file (the file sent it again after withdrawing it), so a reload changes nothing.
WITHDRAW_RECORDS = (
    """
UNWIND $rows AS row
MATCH (r:Record {uid: row.uid})
WHERE r.status <> $withdrawn AND coalesce(r.src <> $src OR r.src_line <= row.line, true)
WITH r, row, """
    + _EFFECTIVE
    + """ AS eff
CREATE (ev:Event {id: row.event_id, kind: $withdrawn, actor: $provider, at: $now, on: eff,
                  src: $src, src_line: row.line, from_status: r.status, to_status: $withdrawn})
CREATE (ev)-[:CHANGED]->(r)
SET r.states = coalesce(r.states, []) + [eff + row.entry],
    r.status = $withdrawn
RETURN count(r) AS changed
"""
)

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
