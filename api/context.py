"""What one GraphQL request carries: who asks, why, and what it touched.

The context is made before anything is read. Authentication, the purpose and the rate
limit are decided in the router's gate from these fields, and the audit entry written
after the request is built from ``touched`` and ``results``, which resolvers fill in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schema.access import PUBLIC, AccessRules, Caller
from schema.errors import CreditGraphError

if TYPE_CHECKING:
    from api.dataloaders import Loaders
    from api.state import AppState

#: The most subject codes one audit entry lists; a larger neighbourhood is summarised.
MAX_TOUCHED = 1000


@dataclass
class RequestContext:
    state: AppState
    client: str | None
    purpose: str | None
    today: dt.date
    caller: Caller = PUBLIC
    auth_error: CreditGraphError | None = None
    loaders: Loaders | None = None
    operation: str = ""
    fields: list[str] = field(default_factory=list)
    touched: dict[str, None] = field(default_factory=dict)
    results: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rules(self) -> AccessRules:
        return self.state.access

    def touch(self, *codes: str) -> None:
        for code in codes:
            if len(self.touched) >= MAX_TOUCHED:
                return
            self.touched.setdefault(code, None)

    def count(self, n: int) -> None:
        self.results += n
