"""What the running service holds: the store and the rules, loaded once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from api.settings import Settings
from graph.store import GraphStore
from schema.catalogue import Catalogue
from schema.policy import Policy


@dataclass
class AppState:
    settings: Settings
    store: GraphStore
    policy: Policy
    catalogue: Catalogue
