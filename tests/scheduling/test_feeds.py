from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import icalendar
import pytest

from scheduling.errors import InvalidFeedEvent, NaiveDatetime
from scheduling.feeds import PRODID, FeedEvent, FeedStatus, build_feed, session_uid
from tests.scheduling.helpers import sh

LEGAL_DAY = FeedEvent(
    uid=session_uid(17),
    sequence=2,
    summary="线上法律咨询服务日：区法院",
    description="本周值班部门：区法院。问题请于前一日15:00前提交。",
    location="街道会议室",
    start=sh(2026, 10, 8, 15),
    end=sh(2026, 10, 8, 16),
    status=FeedStatus.CONFIRMED,
    last_modified=sh(2026, 9, 14, 8, 12),
)
CANCELLED = FeedEvent(
    uid=session_uid(16),
    sequence=1,
    summary="线上法律咨询服务日：区检察院",
    start=sh(2026, 10, 1, 15),
    end=sh(2026, 10, 1, 16),
    status=FeedStatus.CANCELLED,
    last_modified=sh(2026, 9, 14, 8, 12),
)


def parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def test_feed_round_trips_through_icalendar() -> None:
    feed = parse(build_feed([LEGAL_DAY, CANCELLED], name="驿站 · 法律咨询"))
    assert str(feed["version"]) == "2.0"
    assert str(feed["prodid"]) == PRODID
    assert str(feed["x-wr-calname"]) == "驿站 · 法律咨询"
    assert str(feed["x-wr-timezone"]) == "Asia/Shanghai"
    events = feed.walk("VEVENT")
    assert [
        (
            str(e["uid"]),
            int(str(e["sequence"])),
            str(e["status"]),
            str(e["summary"]),
            e.decoded("dtstart"),
            e.decoded("dtend"),
            e.decoded("dtstamp"),
            e.decoded("last-modified"),
            str(e.get("location", "")),
            str(e.get("description", "")),
        )
        for e in events
    ] == [
        (
            "session-16@yizhan",
            1,
            "CANCELLED",
            "线上法律咨询服务日：区检察院",
            datetime(2026, 10, 1, 7, tzinfo=UTC),
            datetime(2026, 10, 1, 8, tzinfo=UTC),
            datetime(2026, 9, 14, 0, 12, tzinfo=UTC),
            datetime(2026, 9, 14, 0, 12, tzinfo=UTC),
            "",
            "",
        ),
        (
            "session-17@yizhan",
            2,
            "CONFIRMED",
            "线上法律咨询服务日：区法院",
            datetime(2026, 10, 8, 7, tzinfo=UTC),
            datetime(2026, 10, 8, 8, tzinfo=UTC),
            datetime(2026, 9, 14, 0, 12, tzinfo=UTC),
            datetime(2026, 9, 14, 0, 12, tzinfo=UTC),
            "街道会议室",
            "本周值班部门：区法院。问题请于前一日15:00前提交。",
        ),
    ]


def test_times_are_written_in_utc() -> None:
    data = build_feed([LEGAL_DAY], name="x")
    assert b"DTSTART:20261008T070000Z\r\n" in data
    assert b"DTSTAMP:20260914T001200Z\r\n" in data
    assert b"VTIMEZONE" not in data


def test_same_events_give_the_same_bytes_in_any_order() -> None:
    assert build_feed([LEGAL_DAY, CANCELLED], name="x") == build_feed(
        [CANCELLED, LEGAL_DAY], name="x"
    )


def test_lines_are_crlf_and_folded() -> None:
    long = replace(LEGAL_DAY, description="很长的说明" * 40)
    data = build_feed([long], name="x")
    lines = data.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert str(parse(data).walk("VEVENT")[0]["description"]) == "很长的说明" * 40


def test_an_empty_feed_is_a_valid_calendar() -> None:
    feed = parse(build_feed([], name="空"))
    assert feed.walk("VEVENT") == []


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"uid": ""}, InvalidFeedEvent, "UID"),
        ({"uid": "session 17@yizhan"}, InvalidFeedEvent, "UID"),
        ({"uid": "session-17@yizhan\r\nX-EVIL:1"}, InvalidFeedEvent, "UID"),
        ({"sequence": -1}, InvalidFeedEvent, "negative"),
        ({"sequence": True}, InvalidFeedEvent, "integer"),
        ({"summary": "  "}, InvalidFeedEvent, "summary"),
        ({"location": None}, InvalidFeedEvent, "text"),
        ({"end": sh(2026, 10, 8, 15)}, InvalidFeedEvent, "end after it starts"),
        ({"status": "TENTATIVE"}, InvalidFeedEvent, "CONFIRMED or CANCELLED"),
        ({"start": datetime(2026, 10, 8, 15)}, NaiveDatetime, "time zone"),
        ({"last_modified": datetime(2026, 9, 14)}, NaiveDatetime, "time zone"),
    ],
)
def test_bad_events(changes: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        replace(LEGAL_DAY, **changes)  # type: ignore[arg-type]


def test_bad_feeds() -> None:
    with pytest.raises(InvalidFeedEvent, match="share a UID"):
        build_feed(
            [LEGAL_DAY, replace(LEGAL_DAY, start=sh(2026, 10, 15, 15), end=sh(2026, 10, 15, 16))],
            name="x",
        )
    with pytest.raises(InvalidFeedEvent, match="needs a name"):
        build_feed([LEGAL_DAY], name=" ")
    with pytest.raises(InvalidFeedEvent, match="time zone"):
        build_feed([LEGAL_DAY], name="x", timezone="Nowhere/Else")


def test_status_may_be_given_as_text() -> None:
    assert replace(LEGAL_DAY, status="CANCELLED").status is FeedStatus.CANCELLED  # type: ignore[arg-type]
