"""What each role has to do now: the dashboard's read views, plain data for the page."""

from server.today.dashboard import (
    AdminToday,
    DeputyToday,
    HostToday,
    OfficerToday,
    PacketStatus,
    RecordedItem,
    SessionTodo,
    SiteToday,
    Today,
    today_for,
)

__all__ = [
    "AdminToday", "DeputyToday", "HostToday", "OfficerToday", "PacketStatus", "RecordedItem",
    "SessionTodo", "SiteToday", "Today", "today_for",
]
