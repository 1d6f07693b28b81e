"""Persistent models; importing this package registers every table on `Base.metadata`."""

from .accounts import DeviceToken, Role, User
from .audit import AuditEntry
from .base import Base
from .calendar import CalendarDay, CalendarDayKind, CalendarYear
from .feeds import FeedScope, FeedToken
from .inbox import Notification
from .opinions import Opinion, OpinionCategory, OpinionEvent, OpinionPhoto, OpinionStatus
from .org import Department, Deputy, DeputyKind, Site, SiteKind, Street
from .programmes import (
    ChangeKind,
    ChangeStatus,
    Programme,
    ProgrammeSession,
    RotationChange,
    RotationMember,
    UnitKind,
)

__all__ = [
    "AuditEntry",
    "Base",
    "CalendarDay",
    "CalendarDayKind",
    "CalendarYear",
    "ChangeKind",
    "ChangeStatus",
    "Department",
    "Deputy",
    "DeputyKind",
    "DeviceToken",
    "FeedScope",
    "FeedToken",
    "Notification",
    "Opinion",
    "OpinionCategory",
    "OpinionEvent",
    "OpinionPhoto",
    "OpinionStatus",
    "Programme",
    "ProgrammeSession",
    "Role",
    "RotationChange",
    "RotationMember",
    "Site",
    "SiteKind",
    "Street",
    "UnitKind",
    "User",
]
