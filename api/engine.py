"""Open the store the settings ask for; the single place that picks an engine."""

from __future__ import annotations

from api.settings import Settings
from graph.falkor_store import FalkorStore
from graph.store import GraphStore


def open_store(settings: Settings, *, bootstrap: bool = True) -> GraphStore:
    store: GraphStore
    if settings.engine == "neo4j":
        from graph.neo4j_store import Neo4jStore

        assert settings.neo4j_uri is not None
        password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
        store = Neo4jStore(
            settings.neo4j_uri, settings.neo4j_user, password, settings.neo4j_database
        )
    elif settings.falkordb_url:
        store = FalkorStore.from_url(settings.falkordb_url, settings.falkordb_graph)
    else:
        from graph.embedded_store import EmbeddedFalkorStore

        store = EmbeddedFalkorStore(settings.data_dir, settings.falkordb_graph)
    if bootstrap:
        try:
            store.ping()
            store.bootstrap()
        except BaseException:
            store.close()
            raise
    return store
