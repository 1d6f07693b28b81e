"""Who a participant is, as decided by the server after authentication."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """A participant's role in a room; see :mod:`rooms.permissions`."""

    HOST = "host"
    SPEAKER = "speaker"
    SITE = "site"
    OBSERVER = "observer"


@dataclass(frozen=True, kw_only=True, slots=True)
class ParticipantIdentity:
    """A participant as the server vouches for it; never built from client input.

    ``key`` is unique within a room: a second connection with the same key
    replaces the first (a page reload on a site's PC).
    """

    key: str
    display_name: str
    role: Role
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > 128:
            raise ValueError("participant key must be 1-128 characters")
        if self.key.startswith("~"):
            raise ValueError("participant keys starting with ~ name the wall's own pictures")
        if len(self.display_name) > 200:
            raise ValueError("display name must be at most 200 characters")
        if not isinstance(self.role, Role):
            raise ValueError(f"unknown role {self.role!r}")
