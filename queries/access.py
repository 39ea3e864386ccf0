"""API keys and the subjects' grants of authorised query (DOMAIN.md section 5).

Keys live in the graph, not in a file of one server, so every instance of the service
behind a load balancer sees the same keys and the same grants. Only a key's SHA-256 is
stored; the key itself is printed once when it is made.
"""

KEY_NAME_TAKEN = """
MATCH (k:ApiKey {name: $name})
RETURN k.name AS name
"""

KEY_BY_NAME = """
MATCH (k:ApiKey {name: $name})
RETURN properties(k) AS key
"""

CREATE_KEY = """
CREATE (k:ApiKey {name: $name, hash: $hash, role: $role, subject: $subject, unit: $unit,
                  created_at: $now, expires: $expires})
RETURN properties(k) AS key
"""

KEY_BY_HASH = """
MATCH (k:ApiKey {hash: $hash})
RETURN properties(k) AS key
"""

LIST_KEYS = """
MATCH (k:ApiKey)
RETURN properties(k) AS key
ORDER BY k.name
"""

REVOKE_KEY = """
MATCH (k:ApiKey {name: $name})
SET k.revoked_at = coalesce(k.revoked_at, $now)
RETURN properties(k) AS key
"""

CREATE_GRANT = """
CREATE (g:Grant {id: $id, subject: $subject, grantee: $grantee, since: $since, until: $until,
                 granted_by: $granted_by, granted_at: $now, note: $note})
RETURN properties(g) AS grant
"""

GRANT_BY_ID = """
MATCH (g:Grant {id: $id})
RETURN properties(g) AS grant
"""

WITHDRAW_GRANT = """
MATCH (g:Grant {id: $id})
SET g.withdrawn_by = coalesce(g.withdrawn_by, $by),
    g.withdrawn_at = coalesce(g.withdrawn_at, $now)
RETURN properties(g) AS grant
"""

GRANTS_HELD = """
MATCH (g:Grant {grantee: $grantee})
WHERE g.withdrawn_at IS NULL AND g.since <= $today AND g.until >= $today
RETURN DISTINCT g.subject AS subject
"""

GRANTS_GIVEN = """
MATCH (g:Grant {subject: $subject})
RETURN properties(g) AS grant
ORDER BY g.granted_at DESC
"""
