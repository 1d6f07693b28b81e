"""RFC 5545 calendar feeds that sites and officers subscribe to.

Conventions:

* Every time is written in UTC (``...Z``), so no VTIMEZONE is needed and
  every client agrees on the instant; ``X-WR-TIMEZONE`` tells clients which
  zone to show it in.
* The feed has no METHOD, so DTSTAMP means "last modified" (RFC 5545
  3.8.7.2): it is the event's ``last_modified``, never the time of the
  request, and the same events always give the same bytes (good for ETags).
* The caller supplies stable UIDs (``session_uid(id)`` gives
  ``session-<id>@yizhan``) and raises ``sequence`` on every change a
  subscriber should notice; a cancelled session stays in the feed with
  ``STATUS:CANCELLED`` so subscribed calendars drop it.
* Events are written in order of start, then UID.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import icalendar

from scheduling.clock import DEFAULT_TIMEZONE, require_aware, utc, zone
from scheduling.errors import InvalidFeedEvent

PRODID = "-//Yizhan//Yizhan scheduler//ZH"


def session_uid(session_id: str | int, domain: str = "yizhan") -> str:
    return f"session-{session_id}@{domain}"


class FeedStatus(StrEnum):
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, kw_only=True)
class FeedEvent:
    uid: str
    sequence: int
    summary: str
    start: datetime
    end: datetime
    last_modified: datetime
    status: FeedStatus = FeedStatus.CONFIRMED
    description: str = ""
    location: str = ""

    def __post_init__(self) -> None:
        if (
            not isinstance(self.uid, str)
            or not self.uid
            or any(c.isspace() or not c.isprintable() for c in self.uid)
        ):
            raise InvalidFeedEvent(f"a UID is non-empty text without spaces: {self.uid!r}")
        if isinstance(self.sequence, bool) or not isinstance(self.sequence, int):
            raise InvalidFeedEvent(f"SEQUENCE must be an integer: {self.sequence!r}")
        if self.sequence < 0:
            raise InvalidFeedEvent(f"SEQUENCE must not be negative: {self.sequence}")
        for name in ("summary", "description", "location"):
            if not isinstance(getattr(self, name), str):
                raise InvalidFeedEvent(f"{name} must be text")
        if not self.summary.strip():
            raise InvalidFeedEvent(f"event {self.uid} needs a summary")
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        require_aware(self.last_modified, "last_modified")
        if utc(self.end) <= utc(self.start):
            raise InvalidFeedEvent(f"event {self.uid} must end after it starts")
        try:
            object.__setattr__(self, "status", FeedStatus(self.status))
        except ValueError:
            raise InvalidFeedEvent(
                f"STATUS must be CONFIRMED or CANCELLED: {self.status!r}"
            ) from None


def build_feed(
    events: Iterable[FeedEvent],
    *,
    name: str,
    timezone: str = DEFAULT_TIMEZONE,
) -> bytes:
    """The feed as RFC 5545 bytes (UTF-8, CRLF, folded lines)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidFeedEvent("a calendar feed needs a name")
    try:
        zone(timezone)
    except LookupError as exc:
        raise InvalidFeedEvent(str(exc)) from None
    ordered = sorted(events, key=lambda e: (utc(e.start), e.uid))
    uids = [event.uid for event in ordered]
    if len(set(uids)) != len(uids):
        raise InvalidFeedEvent("two events in one feed share a UID")
    feed = icalendar.Calendar()
    feed.add("prodid", PRODID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", name)
    feed.add("x-wr-timezone", timezone)
    for event in ordered:
        feed.add_component(_vevent(event))
    data: bytes = feed.to_ical()
    return data


def _vevent(event: FeedEvent) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", _utc(event.last_modified))
    vevent.add("last-modified", _utc(event.last_modified))
    vevent.add("dtstart", _utc(event.start))
    vevent.add("dtend", _utc(event.end))
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("status", event.status.value)
    return vevent


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)
