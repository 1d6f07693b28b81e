"""Persistent models; importing this package registers every table on `Base.metadata`."""

from .accounts import DeviceToken, Role, SignInThrottle, User
from .attendance import Attendance
from .audit import AuditEntry
from .base import Base
from .calendar import CalendarDay, CalendarDayKind, CalendarYear
from .feeds import FeedScope, FeedToken
from .inbox import Notification
from .meetings import MEETING_ROOM_PREFIX, Meeting, MeetingSite, RoomDocument, meeting_room
from .notify import (
    DeliveryLogEntry,
    NoticeChannel,
    NoticePreference,
    NoticeRoute,
    OutboxEntry,
)
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
from .questions import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Outcome,
    PacketRead,
    Question,
    QuestionAttachment,
    QuestionCategory,
    QuestionPacket,
    QuestionStatus,
)
from .recordings import Recording, RecordingMark, RecordingPolicy
from .residents import ResidentPlace, ResidentReceipt, Satisfaction, SiteCode, Source
from .room_chat import RoomChatMessage

__all__ = [
    "MEETING_ROOM_PREFIX",
    "Attendance",
    "AuditEntry",
    "Base",
    "CalendarDay",
    "CalendarDayKind",
    "CalendarYear",
    "ChangeKind",
    "ChangeStatus",
    "DeliveryLogEntry",
    "Department",
    "Deputy",
    "DeputyKind",
    "DeviceToken",
    "FeedScope",
    "FeedToken",
    "FollowUp",
    "FollowUpKind",
    "FollowUpStatus",
    "Meeting",
    "MeetingSite",
    "NoticeChannel",
    "NoticePreference",
    "NoticeRoute",
    "Notification",
    "Opinion",
    "OpinionCategory",
    "OpinionEvent",
    "OpinionPhoto",
    "OpinionStatus",
    "OutboxEntry",
    "Outcome",
    "PacketRead",
    "Programme",
    "ProgrammeSession",
    "Question",
    "QuestionAttachment",
    "QuestionCategory",
    "QuestionPacket",
    "QuestionStatus",
    "Recording",
    "RecordingMark",
    "RecordingPolicy",
    "ResidentPlace",
    "ResidentReceipt",
    "Role",
    "RoomChatMessage",
    "RoomDocument",
    "RotationChange",
    "RotationMember",
    "Satisfaction",
    "SignInThrottle",
    "Site",
    "SiteCode",
    "SiteKind",
    "Source",
    "Street",
    "UnitKind",
    "User",
    "meeting_room",
]
