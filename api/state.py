"""What the running service holds: the store and the rules, loaded once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.settings import Settings
from graph.store import GraphStore
from schema.access import AccessRules
from schema.catalogue import Catalogue
from schema.policy import Policy

if TYPE_CHECKING:
    from api.keys import KeyResolver


@dataclass
class AppState:
    settings: Settings
    store: GraphStore
    policy: Policy
    catalogue: Catalogue
    access: AccessRules
    keys: KeyResolver
    #: Signs check ids (``api.check_ids``); ``<data_dir>/check-id.key``.
    check_secret: bytes
