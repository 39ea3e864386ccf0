"""Whole-graph housekeeping: emptiness for ``--demo``, wiping a test graph."""

COUNT_SUBJECTS = "MATCH (s:Subject) RETURN count(s) AS n"

COUNT_NODES = "MATCH (n) RETURN count(n) AS n"

COUNT_RELATIONSHIPS = "MATCH ()-[r]->() RETURN count(r) AS n"

DELETE_ALL = "MATCH (n) DETACH DELETE n"
