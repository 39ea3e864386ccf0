"""Map the project's exception root onto GraphQL errors with ``extensions.code``.

Expected failures keep their message and code; anything else is masked so a caller
never sees a stack trace or an internal message (CONTRACT.md section 3).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from schema.errors import CreditGraphError

log = logging.getLogger("credit_graph.api")

INTERNAL_MESSAGE = "Internal error; it has been logged."


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        mapped: list[GraphQLError] = []
        for error in result.errors:
            original = error.original_error
            if isinstance(original, CreditGraphError):
                mapped.append(
                    GraphQLError(
                        original.message,
                        nodes=error.nodes,
                        path=error.path,
                        extensions={"code": original.code},
                    )
                )
            elif original is None:
                # A validation or syntax error of the document itself.
                mapped.append(
                    GraphQLError(
                        error.message,
                        nodes=error.nodes,
                        path=error.path,
                        extensions={
                            **(error.extensions or {}),
                            "code": (error.extensions or {}).get(
                                "code", "GRAPHQL_VALIDATION_FAILED"
                            ),
                        },
                    )
                )
            else:
                log.error("unexpected error in %s: %r", error.path, original, exc_info=original)
                mapped.append(
                    GraphQLError(
                        INTERNAL_MESSAGE,
                        nodes=error.nodes,
                        path=error.path,
                        extensions={"code": "INTERNAL"},
                    )
                )
        result.errors = mapped
