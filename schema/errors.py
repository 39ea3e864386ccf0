"""One exception root for the whole project.

Every failure a caller can act on is a ``CreditGraphError`` with a stable ``code``;
the API maps that code to a GraphQL error extension and the CLI to an exit status,
so no layer has to know the concrete subclasses of another.
"""

from __future__ import annotations


class CreditGraphError(Exception):
    """Root of every expected failure. ``code`` is part of the public contract."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCode(CreditGraphError):
    """A USCC or resident ID number failed validation."""

    code = "INVALID_CODE"

    def __init__(self, field: str, reason: str, shown_value: str) -> None:
        super().__init__(f"{field}: {reason} ({shown_value})")
        self.field = field
        self.reason = reason
        self.shown_value = shown_value


class InvalidInput(CreditGraphError):
    """A value other than a code is malformed (a date, an enum, a measure name)."""

    code = "INVALID_INPUT"


class KeyTaken(InvalidInput):
    """The graph refused a write that would give a second node a unique code or id.

    Its own class so that a load can say what is safe after it (``loaders.pipeline``);
    callers of the API see INVALID_INPUT like any other bad value.
    """


class NotFound(CreditGraphError):
    code = "NOT_FOUND"


class Forbidden(CreditGraphError):
    code = "FORBIDDEN"


class PurposeRequired(CreditGraphError):
    code = "PURPOSE_REQUIRED"


class LimitExceeded(CreditGraphError):
    code = "LIMIT_EXCEEDED"


class EngineUnavailable(CreditGraphError):
    """The graph engine cannot be reached or could not be started."""

    code = "ENGINE_UNAVAILABLE"


class ConfigError(CreditGraphError):
    """A setting is invalid; the message names the variable."""

    code = "CONFIG_ERROR"


class RuleFileError(CreditGraphError):
    """A shipped rules file (policy, catalogue) is broken; the message names file and line."""

    code = "RULE_FILE_ERROR"

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class Unauthenticated(CreditGraphError):
    """An API key was sent but is unknown, revoked or expired."""

    code = "UNAUTHENTICATED"


class RateLimited(CreditGraphError):
    """A key sent more requests than its rate allows; retry later."""

    code = "RATE_LIMITED"


class RequestTimeout(CreditGraphError):
    """A request ran longer than the service allows."""

    code = "TIMEOUT"


class AuditUnavailable(CreditGraphError):
    """The audit entry of a request could not be written, so the request fails."""

    code = "AUDIT_UNAVAILABLE"
