"""Neo4j's schema DDL, exposed to the grammar test.

The DDL itself is generated in ``graph.dialect`` (the one place for dialect differences);
this module only lets the Cypher grammar check see every statement Neo4j will run.
"""

from collections.abc import Iterator

from graph.dialect import Neo4jDialect


def variants() -> Iterator[tuple[str, str]]:
    for i, statement in enumerate(Neo4jDialect().schema_statements()):
        yield f"neo4j_schema[{i}]", statement
