"""Documents and shared screens on the wall: who may present, the messages, their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rooms.errors import NotAuthorisedError, UnknownRoom, UserError
from rooms.protocol import messages as msg

from .client import RoomClient
from .conftest import RoomServer, poll
from .documents import pages

RED, GREEN, BLUE = (200, 30, 30), (30, 200, 30), (30, 30, 200)


def _presentation_events(server: RoomServer) -> int:
    return sum(call == ("event", "r1", "presentation") for call in server.hooks.calls)


def _presentation(client: RoomClient) -> Any:
    state = client.last("room_state")
    assert state is not None
    return state["presentation"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"type": "document_page"}', "document_page: missing field page"),
        ('{"type": "document_page", "page": "2"}', "document_page: field page must be an integer"),
        ('{"type": "document_page", "page": true}', "document_page: field page must be an integer"),
        ('{"type": "document_page", "page": 2.0}', "document_page: field page must be an integer"),
        ('{"type": "document_page", "page": 2, "of": 3}', "document_page: unexpected field(s) of"),
        ('{"type": "stop_presentation", "now": true}',
         "stop_presentation: unexpected field(s) now"),
        ('{"type": "share_screen", "audio": false}', "share_screen: unexpected field(s) audio"),
    ],
)
def test_malformed_presentation_messages_are_refused(text: str, error: str) -> None:
    with pytest.raises(Exception) as info:
        msg.parse_client_message(text)
    assert getattr(info.value, "code", None) == "protocol-error"
    assert str(info.value) == error


def test_presentation_messages_parse() -> None:
    assert msg.parse_client_message('{"type": "document_page", "page": 3}') == msg.DocumentPage(
        page=3)
    assert isinstance(msg.parse_client_message('{"type": "stop_presentation"}'),
                      msg.StopPresentation)
    assert isinstance(msg.parse_client_message('{"type": "share_screen"}'), msg.ShareScreen)


async def test_a_document_turns_pages_for_the_presenters_and_everyone_sees_where_it_is(
    room_server: RoomServer, tmp_path: Path
) -> None:
    host = await room_server.client("host", role="host")
    speaker = await room_server.client("spk", role="speaker")
    site = await room_server.client("site", role="site")
    files = pages(tmp_path / "doc", [RED, GREEN, BLUE])
    room_server.registry.present_document("r1", "host", "Civil Code art. 1254", files)
    for client in (host, speaker, site):
        state = await client.expect("room_state", lambda n: n["presentation"] is not None)
        assert state["presentation"] == {
            "kind": "document", "presenter_id": "host", "presenter_name": "HOST",
            "title": "Civil Code art. 1254", "page": 1, "pages": 3,
        }
        layout = await client.expect("layout", lambda n: n["mode"] == "presentation")
        assert layout["presentation"]["x"] == 0.0 and layout["presentation"]["h"] == 1.0
    assert room_server.registry.presentation("r1") == {
        **_presentation(site), "files": files}

    # A site may not turn pages: an error, and nothing changes.
    mark = await site.request("document_page", page=2)
    error = await site.expect("error", after=mark)
    assert (error["code"], error["request"]) == ("not-authorised", "document_page")
    mark = await site.request("stop_presentation")
    assert (await site.expect("error", after=mark))["code"] == "not-authorised"
    assert room_server.registry.presentation("r1")["page"] == 1  # type: ignore[index]

    # The speaker turns to page 3; pages outside the document are refused.
    await speaker.send("document_page", page=3)
    await site.expect("room_state", lambda n: (n["presentation"] or {}).get("page") == 3)
    for page in (0, 4, -1):
        mark = await speaker.request("document_page", page=page)
        error = await speaker.expect("error", after=mark)
        assert error["code"] == "bad-page", error
    assert _presentation(site)["page"] == 3

    # Stopping takes it off; then there is nothing to turn or stop.
    mark = len(site.notices)
    await host.send("stop_presentation")
    await site.expect("room_state", lambda n: n["presentation"] is None, after=mark)
    await site.expect("layout", lambda n: n["mode"] == "grid", after=mark)
    mark = await host.request("document_page", page=1)
    assert (await host.expect("error", after=mark))["code"] == "no-document"
    mark = await host.request("stop_presentation")
    assert (await host.expect("error", after=mark))["code"] == "not-presenting"
    assert room_server.registry.presentation("r1") is None
    # Shown, turned once, stopped: three events for the hooks (and a recording's index).
    await poll(lambda: _presentation_events(room_server) == 3)


async def test_present_document_refuses_and_changes_nothing(
    room_server: RoomServer, tmp_path: Path
) -> None:
    host = await room_server.client("host", role="host")
    await room_server.client("site", role="site")
    registry = room_server.registry
    files = pages(tmp_path / "doc", [RED, GREEN])
    not_png = tmp_path / "page.png"
    not_png.write_bytes(b"%PDF-1.4 not a picture")
    with pytest.raises(UnknownRoom):
        registry.present_document("nowhere", "host", "T", files)
    with pytest.raises(NotAuthorisedError):
        registry.present_document("r1", "site", "T", files)
    refusals: list[tuple[str, str, list[str], int, str]] = [
        ("ghost", "T", files, 1, "unknown-participant"),
        ("host", "T", [], 1, "bad-document"),
        ("host", "T", [str(not_png)], 1, "bad-document"),
        ("host", "T", [str(tmp_path / "missing.png")], 1, "bad-document"),
        ("host", "T", files, 3, "bad-page"),
        ("host", "x" * 201, files, 1, "bad-document"),
    ]
    for presenter, title, paths, page, code in refusals:
        with pytest.raises(UserError) as info:
            registry.present_document("r1", presenter, title, paths, page)
        assert info.value.code == code
    assert registry.presentation("r1") is None
    assert _presentation(host) is None
    assert _presentation_events(room_server) == 0


async def _screen_socket(server: RoomServer, key: str, role: str) -> RoomClient:
    return await server.client(key, role=role, join=False)


async def test_share_screen_is_a_second_connection_of_a_presenter_in_the_room(
    room_server: RoomServer, tmp_path: Path
) -> None:
    # Before its main connection is in the room, a screen connection is refused.
    early = await _screen_socket(room_server, "spk", "speaker")
    await early.send("join")  # opens the room for the test's host below
    host = await room_server.client("host", role="host")
    other = await _screen_socket(room_server, "nobody", "speaker")
    mark = await other.request("share_screen")
    assert (await other.expect("error", after=mark))["code"] == "not-in-room"

    site = await room_server.client("site", role="site")
    site_screen = await _screen_socket(room_server, "site", "site")
    mark = await site_screen.request("share_screen")
    assert (await site_screen.expect("error", after=mark))["code"] == "not-authorised"
    mark = await site.request("share_screen")  # on the main connection
    assert (await site.expect("error", after=mark))["code"] == "out-of-order"
    assert _presentation(host) is None

    screen = await _screen_socket(room_server, "host", "host")
    mark = await screen.request("share_screen")
    state = await site.expect("room_state", lambda n: n["presentation"] is not None)
    assert state["presentation"] == {"kind": "screen", "presenter_id": "host",
                                     "presenter_name": "HOST", "title": "", "page": None,
                                     "pages": None}
    assert not screen.of_type("welcome")  # a screen connection is no participant
    mark = await screen.request("raise_hand")
    assert (await screen.expect("error", after=mark))["code"] == "screen-only"
    mark = await site.request("document_page", page=1)
    assert (await site.expect("error", after=mark))["code"] == "not-authorised"
    mark = await host.request("document_page", page=1)
    assert (await host.expect("error", after=mark))["code"] == "no-document"

    # A document in its place ends the share: its connection is told and closed.
    room_server.registry.present_document("r1", "spk", "Notice", pages(tmp_path / "d", [RED]))
    removed = await screen.expect("removed")
    assert removed["reason"] == "presentation-ended"
    await screen.until(screen.closed_by_server.is_set)
    await site.expect("room_state", lambda n: (n["presentation"] or {}).get("kind") == "document")

    # A new share replaces the document; closing its connection takes it off the wall.
    screen2 = await _screen_socket(room_server, "host", "host")
    await screen2.send("share_screen")
    await site.expect("room_state", lambda n: (n["presentation"] or {}).get("kind") == "screen")
    await screen2.close()
    await site.expect("room_state", lambda n: n["presentation"] is None)


async def test_a_presenter_who_leaves_takes_the_screen_but_not_the_document(
    room_server: RoomServer, tmp_path: Path
) -> None:
    host = await room_server.client("host", role="host")
    speaker = await room_server.client("spk", role="speaker")
    screen = await _screen_socket(room_server, "spk", "speaker")
    await screen.send("share_screen")
    await host.expect("room_state", lambda n: (n["presentation"] or {}).get("kind") == "screen")
    await speaker.close()
    await host.expect("room_state", lambda n: n["presentation"] is None)
    await screen.until(screen.closed_by_server.is_set)

    speaker = await room_server.client("spk2", role="speaker")
    room_server.registry.present_document("r1", "spk2", "T", pages(tmp_path / "d", [RED]))
    await host.expect("room_state", lambda n: n["presentation"] is not None)
    await speaker.close()
    await host.expect("participants", lambda n: len(n["participants"]) == 1)
    assert _presentation(host)["kind"] == "document"
    assert json.loads(json.dumps(room_server.registry.presentation("r1")))["presenter_id"] == "spk2"
