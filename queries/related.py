"""Related parties: the companies that share a person, a shareholder or an address with one.

``api/related.py`` runs these in three short steps instead of one pattern
``(a)<-[]-(h)-[]->(b)``: the holders of the company's roles first, then every holder's
other companies in one ``UNWIND``, cut at ``$cap`` companies per holder inside the
engine, so a hub person with thousands of companies costs one adjacency read, not
thousands of rows on the wire. Each ``MATCH`` is anchored on an indexed node
(``Subject.code``, ``Entity.address``) and the filters on the far node sit after a
``WITH`` (FalkorDB's planner otherwise starts from a label scan; see
``queries/explore.py``). Every text names the relationship variable ``r`` in what it
returns, so parallel roles between the same two nodes are not collapsed.

Dated filters use the term's open ends ``$min_date`` / ``$max_date`` and ISO strings
(docs/model.md, "Dates"): ``$latest_start`` / ``$earliest_end`` are the day asked for
(roles held on it) or the two sentinels (every role ever held).
"""

# The company asked about: whether it exists, what it is, and its address.
ANCHOR = """
MATCH (s:Subject {code: $code})
RETURN s.code AS code, s.name AS name, s.kind AS kind, s:Person AS person,
       s.address AS address
"""

# Who holds an office or a shareholding in the company, with the role's term.
HOLDERS_OF = """
MATCH (e:Entity {code: $code})
      <-[r:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF|SHAREHOLDER_OF]-
      (h:Subject)
WITH r, h
WHERE coalesce(r.since, $min_date) <= $latest_start
  AND coalesce(r.until, $max_date) >= $earliest_end
  AND ($persons OR NOT h:Person)
RETURN h.code AS holder, h.name AS name, h:Person AS person, type(r) AS type,
       r.since AS since, r.until AS until, r.share_ratio AS share_ratio
"""

# The other companies of each holder in $holders ({code, types}): only roles of the types
# that make a link with the company's own (an office with an office, a shareholding with
# a shareholding). `degree` counts the companies that passed the filters; at most $cap of
# them come back, each with the holder's roles there.
COMPANIES_OF = """
UNWIND $holders AS h
MATCH (s:Subject {code: h.code})
      -[r:LEGAL_REPRESENTATIVE_OF|PRINCIPAL_OF|DIRECTOR_OF|SUPERVISOR_OF|MANAGER_OF|SHAREHOLDER_OF]->
      (e:Entity)
WITH h, r, e
WHERE e.code <> $code
  AND type(r) IN h.types
  AND coalesce(r.since, $min_date) <= $latest_start
  AND coalesce(r.until, $max_date) >= $earliest_end
WITH h.code AS holder, e, collect([type(r), r.since, r.until, r.share_ratio]) AS roles
WITH holder, collect([e.code, e.name, roles]) AS companies
RETURN holder, size(companies) AS degree, companies[..$cap] AS companies
"""

# Companies whose raw address lies in one of $ranges ({low, high}: every string that
# starts with a prefix). The ranges are built from the normalised address so that every
# spelling of it (full-width or half-width digits and letters) falls in one of them; the
# exact comparison is made in Python. At most $cap rows.
ADDRESS_CANDIDATES = """
UNWIND $ranges AS rg
MATCH (e:Entity)
WHERE e.address >= rg.low AND e.address < rg.high
WITH e
LIMIT $cap
RETURN e.code AS code, e.name AS name, e.address AS address
"""
