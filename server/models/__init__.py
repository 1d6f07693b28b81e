"""Persistent models; importing this package registers every table on `Base.metadata`."""

from .accounts import DeviceToken, Role, User
from .audit import AuditEntry
from .base import Base
from .org import Department, Deputy, DeputyKind, Site, SiteKind, Street

__all__ = [
    "AuditEntry",
    "Base",
    "Department",
    "Deputy",
    "DeputyKind",
    "DeviceToken",
    "Role",
    "Site",
    "SiteKind",
    "Street",
    "User",
]
