"""Investigation reads: the links around subjects, and the shareholders above a company.

None of these queries expands a variable-length pattern. ``api/explore.py`` walks the
graph itself, one level per round trip, sending every subject of a level in one
``UNWIND $codes`` query: the work of a level is bounded by the degree of the subjects on
it, a hub's links are cut at ``$cap`` before they leave the engine, and a bound such as
``maxHops`` never has to be written into the text (Cypher takes no parameter there).
``bench/explore_latency.py`` measured this against one variable-length ``MATCH``.

Two engine details shape the texts:

- the filters on the far node sit after a ``WITH``: a predicate on ``n`` in the
  ``MATCH ... WHERE`` of the same clause makes FalkorDB's planner start from a scan of
  every ``:Subject`` instead of the index lookup of ``s`` (hundreds of ms on 46k nodes);
- every text names the relationship variable ``r`` in what it returns: when ``r`` is not
  used, FalkorDB collapses parallel relationships between the same two nodes into one.

Dated filters take the term's open ends as ``$min_date`` / ``$max_date`` and compare
ISO strings (docs/model.md, "Dates"). ``$latest_start`` / ``$earliest_end`` select the
roles whose term covers one day (both that day) or every role (the two sentinels).
"""

#: Every relationship type that joins two subjects (docs/model.md, "Relationships").
LINK_TYPES: tuple[str, ...] = (
    "LEGAL_REPRESENTATIVE_OF",
    "PRINCIPAL_OF",
    "DIRECTOR_OF",
    "SUPERVISOR_OF",
    "MANAGER_OF",
    "SHAREHOLDER_OF",
    "BRANCH_OF",
)

# The subjects named by a request: whether they exist, and how to show them.
SUBJECTS_BRIEF = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
RETURN s.code AS code, s.name AS name, s.kind AS kind, s:Person AS person
"""

# One level of a walk: the links of every subject in $codes, in both directions, with
# their real direction (`outgoing`: the listed subject is the holder). `degree` is how many
# links passed the filters; at most $cap of them come back, so a hub costs one read of
# its adjacency in the engine, not thousands of rows on the wire.
#: The links of the subjects in ``$codes`` up to the far node's filters, which follow.
_LINKS_MATCH = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
      -[r:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF|SHAREHOLDER_OF|BRANCH_OF]-
      (n:Subject)
WITH c, s, r, n
"""
#: The walk's filters: the requested types, a term covering the requested days, and
#: persons only for callers who may see them.
_LINKS_FILTERS = """type(r) IN $types
  AND coalesce(r.since, $min_date) <= $latest_start
  AND coalesce(r.until, $max_date) >= $earliest_end
  AND ($persons OR NOT n:Person)
"""

LINKS_OF = (
    _LINKS_MATCH
    + "WHERE "
    + _LINKS_FILTERS
    + """\
WITH c, collect([n.code, type(r), startNode(r) = s, r.since, r.until, r.share_ratio]) AS links
RETURN c AS code, size(links) AS degree, links[..$cap] AS links
"""
)

# The links of hubs (subjects whose links LINKS_OF cut at $cap) to subjects in $others: a
# path search reads them so that a link the cut left out, between a hub and a subject
# the search has reached, is not lost (two hubs linked directly were "not connected").
LINKS_OF_TO = (
    _LINKS_MATCH
    + "WHERE n.code IN $others\n  AND "
    + _LINKS_FILTERS
    + """RETURN c AS code, n.code AS other, type(r) AS type, startNode(r) = s AS outgoing,
       r.since AS since, r.until AS until, r.share_ratio AS share_ratio
"""
)

# The links between subjects that are all on the outer ring of a neighbourhood (their own
# links were not read): outgoing only, so each one comes back once.
LINKS_AMONG = """
UNWIND $codes AS c
MATCH (s:Subject {code: c})
      -[r:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF|SHAREHOLDER_OF|BRANCH_OF]->
      (n:Subject)
WITH c, r, n
WHERE n.code IN $codes
  AND type(r) IN $types
  AND coalesce(r.since, $min_date) <= $latest_start
  AND coalesce(r.until, $max_date) >= $earliest_end
RETURN c AS code, n.code AS other, type(r) AS type,
       r.since AS since, r.until AS until, r.share_ratio AS share_ratio
"""

# One level of ownership penetration: the shareholders of every company in $codes whose
# holding covers $as_of. Persons come back too, flagged, so a caller who may not see them
# can still account for their stake without naming them.
SHAREHOLDERS_OF = """
UNWIND $codes AS c
MATCH (e:Entity {code: c})<-[r:SHAREHOLDER_OF]-(h:Subject)
WITH c, r, h
WHERE coalesce(r.since, $min_date) <= $as_of
  AND coalesce(r.until, $max_date) >= $as_of
RETURN c AS entity, h.code AS holder, h.name AS name, h.kind AS kind, h:Person AS person,
       r.share_ratio AS share_ratio, r.since AS since
"""
