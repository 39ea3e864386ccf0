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


def coded_error(error: GraphQLError) -> GraphQLError:
    """The caller's view of one error: its own code and message, or a masked internal one."""
    original = error.original_error
    if isinstance(original, CreditGraphError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": original.code},
        )
    if original is None or isinstance(original, GraphQLError):
        # A syntax or validation error of the document itself, or a variable's value the
        # scalar refused while coercing it (graphql-core keeps that scalar's GraphQLError
        # as the original: it was coded INTERNAL).
        if (error.extensions or {}).get("code"):
            return error
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            path=error.path,
            extensions={**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"},
        )
    log.error("unexpected error in %s: %r", error.path, original, exc_info=original)
    return GraphQLError(
        INTERNAL_MESSAGE, nodes=error.nodes, path=error.path, extensions={"code": "INTERNAL"}
    )


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [coded_error(e) for e in result.errors]
