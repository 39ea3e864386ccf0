"""The procedures that change a record's life: events, objections, repairs.

Every change adds an ``Event`` linked to the record and appends a dated entry to the
record's ``states``; nothing is overwritten without one (Wuhan Art. 34, Huancui Art. 36,
Nantong Art. 36). The record's ``objections`` (a JSON summary of its objections' dated
steps, read by ``schema.record_life``) and every repair step are written with a
revision check (``life_rev``, and for repairs the number of ``states`` entries), so two
procedures racing on one record cannot lose each other's step. Status changes by other
procedures (``CHANGE_STATUS``) only append to ``states`` and do not move ``life_rev``.

Each guarded write first takes the record's write lock (``SET r._lock = true REMOVE
r._lock``, Neo4j's documented way to lock before reading) and only then compares
``life_rev``. Without it, on Neo4j (read committed) two racing statements both read the
old revision, the second waited for the first's lock and then wrote over it: the check
passed for both. FalkorDB runs one write at a time, where the lock changes nothing.
"""

RECORD_FOR_PROCEDURE = """
MATCH (r:Record {uid: $uid})-[:CONCERNS]->(s:Subject)
RETURN properties(r) AS record, s.kind AS subject_kind, s.terminated AS subject_ended,
       coalesce(r.life_rev, 0) AS rev
"""

# A status change effective on ``$on``; ``$entry`` is ``on|status|event id``.
CHANGE_STATUS = """
MATCH (r:Record {uid: $uid})
CREATE (ev:Event {id: $event_id, kind: $kind, actor: $actor, actor_role: $actor_role,
                  at: $at, on: $on, reason: $reason, ref: $ref, due: $due,
                  from_status: r.status, to_status: $status})
CREATE (ev)-[:CHANGED]->(r)
SET r.states = coalesce(r.states, []) + [$entry], r.status = $status
RETURN ev.id AS id
"""

# An event that changes no status (an objection filed, forwarded, answered...).
NOTE_EVENT = """
MATCH (r:Record {uid: $uid})
CREATE (ev:Event {id: $event_id, kind: $kind, actor: $actor, actor_role: $actor_role,
                  at: $at, on: $on, reason: $reason, ref: $ref, due: $due})
CREATE (ev)-[:CHANGED]->(r)
RETURN ev.id AS id
"""

#: Takes the record's write lock before anything reads it (module docstring).
_LOCK_RECORD = """
SET r._lock = true
REMOVE r._lock
"""

#: The record's objection summary, only if nobody changed it since it was read.
_OBJECTIONS_AT_REV = (
    """
MATCH (r:Record {uid: $uid})"""
    + _LOCK_RECORD
    + """WITH r
WHERE coalesce(r.life_rev, 0) = $rev
SET r.objections = $windows, r.life_rev = $rev + 1
"""
)

WRITE_OBJECTION_WINDOWS = _OBJECTIONS_AT_REV + """RETURN r.uid AS uid
"""

# A new objection and the record's objection summary that lists it, in one statement (a
# statement is atomic on both engines, a unit of several is not on FalkorDB), only if
# nobody changed the record's objections since they were read: a filing that loses a
# race leaves no objection behind that its record does not list.
FILE_OBJECTION = _OBJECTIONS_AT_REV + """CREATE (o:Objection {id: $id})
SET o += $props
CREATE (o)-[:AGAINST]->(r)
RETURN o.id AS id
"""

UPDATE_OBJECTION = """
MATCH (o:Objection {id: $id})
SET o += $props
RETURN properties(o) AS objection
"""

GET_OBJECTION = """
MATCH (o:Objection {id: $id})-[:AGAINST]->(r:Record)
RETURN properties(o) AS objection, r.uid AS record
"""

OBJECTIONS_OF_RECORD = """
MATCH (r:Record {uid: $uid})<-[:AGAINST]-(o:Objection)
RETURN properties(o) AS objection
ORDER BY o.filed_on, o.id
"""

# Objections pending on ``$as_of``: filed by then and not resolved by then (still pending,
# or resolved since), so the answer for a past day does not change with later steps.
OBJECTIONS_PENDING_ON = """
MATCH (o:Objection)-[:AGAINST]->(r:Record)
WHERE o.filed_on <= $as_of AND (o.status = $pending OR o.resolved_on > $as_of)
RETURN properties(o) AS objection, r.provider AS provider
ORDER BY o.filed_on, o.id
"""

# Records of the same subject and kind, for Nantong's "no similar act within a year".
SIMILAR_RECORDS = """
MATCH (s:Subject {code: $subject})
WITH s
MATCH (s)<-[:CONCERNS]-(r:Record)
WHERE r.kind = $kind AND r.category = $negative AND r.uid <> $uid
RETURN properties(r) AS record
"""

# Repair steps are guarded writes, like the objection summary: each applies only if the
# record's life is still the one read (``life_rev``, moved on by every objection and
# repair step, and as many ``states`` entries, which status changes only ever append)
# and, for a decision or a stop, the repair is still at the status read. The step, its
# event and (for an approval or a stop) its dated status entry are one statement, so of
# several racing on one record only the first applies; no row back means it lost.

# A repair request, and its event.
OPEN_REPAIR = (
    """
MATCH (r:Record {uid: $uid})"""
    + _LOCK_RECORD
    + """WITH r
WHERE coalesce(r.life_rev, 0) = $rev AND size(coalesce(r.states, [])) = $states
SET r.life_rev = $rev + 1
CREATE (p:Repair {id: $id})
SET p += $props
CREATE (p)-[:REPAIRS]->(r)
CREATE (ev:Event {id: $event_id, kind: $kind, actor: $actor, actor_role: $actor_role,
                  at: $at, on: $on, reason: $reason, ref: $id, due: $due})
CREATE (ev)-[:CHANGED]->(r)
RETURN p.id AS id
"""
)

#: A decision on a repair still at the status read, on a record whose life is the one read.
_REPAIR_AT_REV = (
    """
MATCH (p:Repair {id: $id})-[:REPAIRS]->(r:Record {uid: $uid})"""
    + _LOCK_RECORD
    + """WITH p, r
WHERE p.status = $repair_status AND coalesce(r.life_rev, 0) = $rev
  AND size(coalesce(r.states, [])) = $states
SET p += $props, r.life_rev = $rev + 1
"""
)

# A decision that changes no status (a rejection), and its event.
REPAIR_STEP = _REPAIR_AT_REV + """\
CREATE (ev:Event {id: $event_id, kind: $kind, actor: $actor, actor_role: $actor_role,
                  at: $at, on: $on, reason: $reason, ref: $id, due: $due})
CREATE (ev)-[:CHANGED]->(r)
RETURN ev.id AS id
"""

# An approval or a stop: its event and the record's status entry effective on ``$on``
# (``$entry`` is ``on|status|event id``), as ``CHANGE_STATUS`` writes them.
REPAIR_STATUS_STEP = _REPAIR_AT_REV + """\
CREATE (ev:Event {id: $event_id, kind: $kind, actor: $actor, actor_role: $actor_role,
                  at: $at, on: $on, reason: $reason, ref: $id, due: $due,
                  from_status: r.status, to_status: $status})
CREATE (ev)-[:CHANGED]->(r)
SET r.states = coalesce(r.states, []) + [$entry], r.status = $status
RETURN ev.id AS id
"""

GET_REPAIR = """
MATCH (p:Repair {id: $id})-[:REPAIRS]->(r:Record)
RETURN properties(p) AS repair, r.uid AS record
"""

REPAIRS_OF_RECORD = """
MATCH (r:Record {uid: $uid})<-[:REPAIRS]-(p:Repair)
RETURN properties(p) AS repair
ORDER BY p.requested_on, p.id
"""

EVENTS_OF_RECORD = """
MATCH (r:Record {uid: $uid})<-[:CHANGED]-(ev:Event)
RETURN properties(ev) AS event
ORDER BY ev.on, ev.at, ev.id
"""

VERSIONS_OF_RECORD = """
MATCH (r:Record {uid: $uid})<-[:VERSION_OF]-(v:RecordVersion)
RETURN properties(v) AS version
ORDER BY v.version
"""

# A correction decided on an objection: the old content becomes a version, the new one
# takes effect on ``$on`` (Wuhan Art. 31, Nantong Art. 32: corrections make a new version).
CORRECT_RECORD = """
MATCH (r:Record {uid: $uid})
CREATE (v:RecordVersion)
SET v += properties(r), v.superseded_at = $at, v.superseded_by = $event_id
CREATE (v)-[:VERSION_OF]->(r)
SET r += $changes, r.version = coalesce(r.version, 1) + 1, r.content_since = $on
CREATE (ev:Event {id: $event_id, kind: $kind, actor: $actor, actor_role: $actor_role,
                  at: $at, on: $on, reason: $reason, ref: $ref})
CREATE (ev)-[:CHANGED]->(r)
RETURN r.version AS version
"""
