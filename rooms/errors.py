"""Errors split by who is at fault, after Galène's ``group`` errors.

Every error carries a stable machine ``code`` for the client and a human
``message``. The signalling edge turns any of them into an ``error`` message;
anything else reaching the edge is reported only as ``internal-error``.
"""

from __future__ import annotations


class RoomError(Exception):
    """Base of the errors a client may see; never raised directly."""

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.retry_after = retry_after  # seconds, for a refusal that passes with time


class ProtocolError(RoomError):
    """The client broke the protocol: malformed, unknown or out-of-order message."""

    default_code = "protocol-error"


class NotAuthorisedError(RoomError):
    """The participant's role does not allow the action."""

    default_code = "not-authorised"


class UserError(RoomError):
    """A well-formed, permitted request that the room's state refuses."""

    default_code = "user-error"


class UnknownRoom(UserError):
    """No live room has this id (nobody is in it, or it was never opened)."""

    default_code = "unknown-room"
