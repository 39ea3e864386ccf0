"""The rejection of one submitted row, shared by the formats and the validation."""

from __future__ import annotations


class RowRejected(Exception):
    """A row that cannot land; ``category`` groups reasons in the summary.

    ``drop_fields`` names fields whose values must not be kept anywhere, not even in the
    rejects file (prohibited data, DOMAIN.md section 4).
    """

    def __init__(self, category: str, reason: str, *, drop_fields: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.category = category
        self.reason = reason
        self.drop_fields = drop_fields
