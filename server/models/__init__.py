"""Persistent models; importing this package registers every table on `Base.metadata`."""

from .accounts import DeviceToken, Role, User
from .audit import AuditEntry
from .base import Base
from .calendar import CalendarDay, CalendarDayKind, CalendarYear
from .inbox import Notification
from .org import Department, Deputy, DeputyKind, Site, SiteKind, Street

__all__ = [
    "AuditEntry",
    "Base",
    "CalendarDay",
    "CalendarDayKind",
    "CalendarYear",
    "Department",
    "Deputy",
    "DeputyKind",
    "DeviceToken",
    "Notification",
    "Role",
    "Site",
    "SiteKind",
    "Street",
    "User",
]
