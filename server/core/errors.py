"""Domain errors, split by who is at fault; the HTTP edge maps them to statuses."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for the catalogs; the edge translates it for the reader."""
    return message


class DomainError(Exception):
    """Base of errors a user may see; the message is safe to show."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        params: dict[str, object] | None = None,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        # `message` and the field errors are English msgids; the edge translates them.
        self.message = message
        self.params = params or {}
        self.field_errors = field_errors or {}


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """Someone else changed the thing first; the caller should reload it."""

    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"
