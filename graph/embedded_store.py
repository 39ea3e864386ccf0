"""The embedded default: a FalkorDB store over an engine this process found or started."""

from __future__ import annotations

from pathlib import Path

from graph.embedded import EmbeddedEngine
from graph.falkor_store import DEFAULT_GRAPH, FalkorStore
from schema.errors import EngineUnavailable


class EmbeddedFalkorStore(FalkorStore):
    """Owns the engine's lifetime when it started it; reuses one that ``serve`` runs."""

    def __init__(self, data_dir: Path, graph_name: str = DEFAULT_GRAPH) -> None:
        self.engine = EmbeddedEngine(data_dir)
        socket_path = self.engine.ensure_running()
        base = FalkorStore.from_socket(socket_path, graph_name)
        super().__init__(base._db, graph_name, description=f"embedded ({data_dir})")

    def ping(self) -> None:
        if not self.engine.answers_within():
            raise EngineUnavailable(f"embedded engine is not running (log: {self.engine.log_path})")
        super().ping()

    def close(self) -> None:
        super().close()
        self.engine.stop()
