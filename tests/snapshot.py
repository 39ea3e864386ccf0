"""Compare whole graphs node for node and edge for edge."""

from __future__ import annotations

import json
from typing import Any

from graph.store import GraphStore

#: When a fact was written, which differs between two otherwise identical loads.
VOLATILE = {"submitted_at"}


def _key(props: dict[str, Any]) -> str:
    return str(
        props.get("code")
        or props.get("uid")
        or props.get("id")
        or json.dumps(props, sort_keys=True)
    )


def graph_snapshot(store: GraphStore) -> tuple[list[str], list[str]]:
    """Every node but the ingestion log (one entry per run), and every edge between them."""
    nodes = store.read(
        "MATCH (n) WHERE NOT n:IngestionLog RETURN labels(n) AS labels, properties(n) AS p"
    )
    edges = store.read(
        "MATCH (a)-[r]->(b) WHERE NOT a:IngestionLog "
        "RETURN properties(a) AS a, type(r) AS t, properties(r) AS p, properties(b) AS b"
    )
    node_lines = sorted(
        json.dumps(
            [sorted(n["labels"]), {k: v for k, v in n["p"].items() if k not in VOLATILE}],
            sort_keys=True,
            ensure_ascii=False,
        )
        for n in nodes
    )
    edge_lines = sorted(
        json.dumps([_key(e["a"]), e["t"], e["p"], _key(e["b"])], sort_keys=True, ensure_ascii=False)
        for e in edges
    )
    return node_lines, edge_lines
