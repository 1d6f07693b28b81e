"""Video room pages: the list of rooms, the room itself (the wall), and its attendance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from server.accounts import directory
from server.accounts.access import allow, signed_in
from server.core.errors import N_, ValidationFailed
from server.core.fields import parse_day
from server.core.keys import CLOCK, CSRF_TOKEN, DATABASE, SETTINGS, current_principal
from server.legal.commands import MAX_SUMMARY
from server.legal.views import FOLLOW_UP_KIND_LABELS, OUTCOME_LABELS
from server.meetings.adhoc import MAX_TITLE, recent_meetings
from server.meetings.attendance import attendees, stays_on
from server.meetings.documents import MAX_DOCUMENT_BYTES
from server.meetings.registry import REGISTRY, live_counts
from server.meetings.room_access import (
    KNOWN_ROOMS,
    SITE_TAG,
    KnownRoom,
    participant_key,
    programme_rooms,
    resolve_room,
)
from server.meetings.room_entry import check_entry
from server.meetings.turn import ice_servers
from server.models import FollowUpKind, Outcome, Role
from web.pages.room_chat import chat_config
from web.render import render, translate

ATTENDANCE_ROLES = (Role.ADMIN, Role.HOST)
ROOM_ROLES = {"host": N_("Host"), "speaker": N_("Speaker"), "site": N_("Site"),
              "observer": N_("Observer")}

# Every text room.js shows, translated into the page: the script holds none of its own.
ROOM_TEXTS: dict[str, str] = {
    "connecting": N_("Connecting…"),
    "waiting": N_("Waiting for the host to let you in."),
    "reconnecting": N_("The connection was lost. Reconnecting…"),
    "media_connecting": N_("Starting the video…"),
    "no_devices": N_("The camera or microphone could not be started; "
                     "you can still watch and listen."),
    "removed": N_("The host removed you from the room."),
    "replaced": N_("This room was opened in another window; this one has stopped."),
    "room_closed": N_("The room was closed. Reconnecting…"),
    "cluster_unavailable": N_("The meeting service is unavailable right now. Trying again…"),
    "mute": N_("Mute microphone"),
    "unmute": N_("Unmute microphone"),
    "camera_off": N_("Turn camera off"),
    "camera_on": N_("Turn camera on"),
    "raise_hand": N_("Raise hand"),
    "lower_hand": N_("Lower hand"),
    "sound_on": N_("Turn on sound"),
    "speaking": N_("Speaking"),
    "hand_raised": N_("Hand raised"),
    "muted": N_("Muted"),
    "muted_by_host": N_("Muted by the host"),
    "camera_is_off": N_("Camera off"),
    "give_floor": N_("Give the floor"),
    "spotlight": N_("Spotlight"),
    "clear_spotlight": N_("Back to the grid"),
    "remove": N_("Remove"),
    "remove_confirm": N_("Remove %(name)s from the room?"),
    "admit": N_("Admit"),
    "admit_next": N_("Admit next"),
    "lock": N_("Lock the room"),
    "unlock": N_("Unlock the room"),
    "waiting_room_on": N_("Turn the waiting room on"),
    "waiting_room_off": N_("Turn the waiting room off"),
    "start_recording": N_("Start recording"),
    "stop_recording": N_("Stop recording"),
    "locked": N_("Locked"),
    "recording": N_("Recording"),
    "waiting_room": N_("Waiting room"),
    "no_hands": N_("No raised hands."),
    "nobody_waiting": N_("Nobody is waiting."),
    "you": N_("(you)"),
    "role_host": N_("Host"),
    "role_speaker": N_("Speaker"),
    "role_site": N_("Site"),
    "role_observer": N_("Observer"),
    "error": N_("Something went wrong (%(code)s)."),
    # The status line under the wall: what this role does here.
    "note_host": N_("You host this room."),
    "note_speaker": N_("You are on duty and may speak."),
    "note_site": N_("Your site is in the room; raise your hand to ask to speak."),
    "note_observer": N_("Listening in: you can watch and listen."),
    "note_off_duty": N_("Listening in; you may speak during your duty hours."),
    "your_turn": N_("It is your turn to speak."),
    "empty_wall": N_("Nobody is on the wall yet: the video starts when a host, "
                     "speaker or site comes in."),
    "dismiss": N_("Dismiss"),
}
# Error codes of the room protocol (docs/protocol.md), as people should read them.
ROOM_ERRORS: dict[str, str] = {
    "protocol-error": N_("The page and the server do not understand each other; please reload."),
    "not-joined": N_("Not in the room yet."),
    "waiting": N_("Please wait until the host lets you in."),
    "out-of-order": N_("The page and the server do not understand each other; please reload."),
    "not-authorised": N_("Your role in this room does not allow that."),
    "muted-by-moderator": N_("The host muted you; raise your hand to ask for the floor."),
    "room-locked": N_("The room is locked."),
    "room-full": N_("The room is full."),
    "too-many-rooms": N_("Too many rooms are open on the server."),
    "room-closed": N_("The room is closing; try again in a moment."),
    "shutting-down": N_("The server is restarting; try again in a moment."),
    "room-unavailable": N_("The room could not be started; trying again shortly."),
    "unknown-participant": N_("That participant is no longer in the room."),
    "not-a-publisher": N_("That participant has no camera in this room."),
    "no-raised-hands": N_("No raised hands."),
    "nobody-waiting": N_("Nobody is waiting."),
    "not-waiting": N_("That participant is no longer waiting."),
    "cannot-remove-self": N_("You cannot remove yourself."),
    "already-negotiated": N_("The video is already connected."),
    "vp8-required": N_("This browser cannot play the wall video (VP8 is needed)."),
    "recording-disabled": N_("Recording is not enabled on this server."),
    "already-recording": N_("The room is already being recorded."),
    "not-recording": N_("The room is not being recorded."),
    "already-joined": N_("You are already in this room."),
    "rate-limited": N_("Too many actions at once; please wait a moment and try again."),
    "internal-error": N_("Internal error."),
    "media-failed": N_("The video connection failed; reconnecting the video…"),
}

# The texts of js/room_documents.js (documents and screens on the wall).
DOCUMENT_TEXTS: dict[str, str] = {
    "document_line": N_("%(title)s: page %(page)s of %(pages)s (shown by %(name)s)"),
    "screen_line": N_("%(name)s is sharing a screen"),
    "untitled": N_("Document"),
    "choose_file": N_("Choose a PDF, PNG or JPEG file to show."),
    "too_large": N_("A document may be at most 20 MB."),
    "uploading": N_("Preparing the document…"),
    "failed": N_("The document could not be shown."),
    "screen_share": N_("Share my screen"),
    "screen_stop": N_("Stop sharing my screen"),
    "screen_refused": N_("The screen could not be shared."),
    "recent_option": N_("%(title)s (%(pages)s pages)"),
}
ROOM_ERRORS.update({
    "no-document": N_("No document is on the wall."),
    "bad-page": N_("The document has no such page."),
    "not-presenting": N_("Nothing is being presented."),
    "not-in-room": N_("Join the room before sharing your screen."),
    "screen-only": N_("The page and the server do not understand each other; please reload."),
})


# Who gets the queue's answer controls in the legal room's side panel (the server still
# checks each action: an officer must be of the department on duty).
QUEUE_RUNNERS = (Role.ADMIN, Role.HOST, Role.OFFICER)
LEGAL_ROOM = "legal"
# The texts of js/room_panel.js: the queue's own labels come with its JSON.
PANEL_TEXTS: dict[str, str] = {
    "now_answering": N_("Now answering"),
    "answer": N_("Answer"),
    "answer_title": N_("Mark as answered"),
    "summary": N_("Public answer: short summary (the resident and the public board see it)"),
    "outcome": N_("Outcome"),
    "follow_up": N_("For a follow-up"),
    "kind": N_("Kind"),
    "department": N_("Department"),
    "on_duty": N_("The department on duty"),
    "date": N_("Date"),
    "save": N_("Save the answer"),
    "cancel": N_("Cancel"),
    "hand": N_("Hand up"),
    "answer_next": N_("Answer this site's question next"),
    "saved": N_("The answer was saved."),
    "failed": N_("Something went wrong (%(code)s)."),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class RoomRow:
    room: KnownRoom
    live: bool
    count: int


@signed_in
async def rooms_page(request: web.Request) -> web.StreamResponse:
    return await render_rooms_list(request)


async def render_rooms_list(request: web.Request, *, errors: dict[str, str] | None = None,
                            values: dict[str, Any] | None = None,
                            status: int = 200) -> web.Response:
    """The rooms; for the host, the running meetings and the form that calls the sites."""
    principal = current_principal(request)
    counts = live_counts(request.app[REGISTRY])
    organiser = principal.role in ATTENDANCE_ROLES
    async with request.app[DATABASE]() as db:
        rooms = [*KNOWN_ROOMS, *await programme_rooms(db)]
        meetings = await recent_meetings(db) if organiser else []
        sites = await directory.list_sites(db, active_only=True) if organiser else []
    rows = [RoomRow(room=room, live=room.id in counts, count=counts.get(room.id, 0))
            for room in rooms]
    return await render(request, "rooms/list.html", {
        "rooms": rows, "may_see_attendance": organiser, "may_call": organiser,
        "meetings": meetings, "sites": sites, "errors": errors or {},
        "values": values or {"scope": "all", "site_ids": []}, "max_title": MAX_TITLE,
        "counts": counts}, status=status)


@signed_in
async def room_page(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    settings = request.app[SETTINGS]
    async with request.app[DATABASE]() as db:
        room = await resolve_room(db, request.match_info["room"])
        await check_entry(db, principal, room, now=request.app[CLOCK](),
                          window=settings.room_window)
    servers = ice_servers(settings.turn, user=participant_key(principal),
                          now=request.app[CLOCK]())
    config: dict[str, Any] = {
        "room": room.id,
        "socket": str(request.app.router["room_socket"].url_for(room=room.id)),
        "iceServers": [server.to_json() for server in servers],
        "texts": {key: translate(request, text) for key, text in ROOM_TEXTS.items()},
        "errors": {code: translate(request, text) for code, text in ROOM_ERRORS.items()},
        # Whether the account speaks here while on duty: as an observer it is off duty.
        "dutyRoom": room.speakers is not None and room.speakers is principal.role,
    }
    if room.id == LEGAL_ROOM and principal.role in QUEUE_RUNNERS:
        config["queuePanel"] = await _queue_panel(request)
    documents = {
        "uploadUrl": str(request.app.router["room_documents"].url_for(room=room.id)),
        "csrf": request.get(CSRF_TOKEN, ""),
        "maxBytes": MAX_DOCUMENT_BYTES,
        "texts": {key: translate(request, text) for key, text in DOCUMENT_TEXTS.items()},
    }
    return await render(request, "rooms/room.html", {
        "room": room, "config": config, "chat": await chat_config(request, room),
        "documents": documents,
        "may_see_attendance": principal.role in ATTENDANCE_ROLES})


async def _queue_panel(request: web.Request) -> dict[str, Any]:
    """What the side panel's answer form offers: outcomes, follow-up kinds, departments."""
    async with request.app[DATABASE]() as db:
        departments = await directory.list_departments(db, active_only=True)
    zone_ = ZoneInfo(request.app[SETTINGS].timezone)
    return {
        "texts": {key: translate(request, text) for key, text in PANEL_TEXTS.items()},
        "outcomes": [[o.value, translate(request, OUTCOME_LABELS[o])] for o in Outcome],
        "followUpKinds": [[k.value, translate(request, FOLLOW_UP_KIND_LABELS[k])]
                          for k in FollowUpKind],
        "departments": [[d.id, d.name] for d in departments],
        "today": request.app[CLOCK]().astimezone(zone_).date().isoformat(),
        "sitePrefix": SITE_TAG,
        "maxSummary": MAX_SUMMARY,
    }


def duration(seconds: int | None) -> str:
    """``1:02:03`` or ``2:03``: reads the same in Chinese and English."""
    if seconds is None:
        return "—"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _day(request: web.Request, zone: ZoneInfo) -> date:
    """The day asked for (today when none); one outside 1970..2099 is refused."""
    raw = request.query.get("day", "").strip()
    if not raw:
        return request.app[CLOCK]().astimezone(zone).date()
    day = parse_day(raw)
    if day is None:
        raise ValidationFailed("Enter a date between 1970-01-01 and 2099-12-31.")
    return day


@allow(*ATTENDANCE_ROLES)
async def attendance_page(request: web.Request) -> web.StreamResponse:
    zone = ZoneInfo(request.app[SETTINGS].timezone)
    day = _day(request, zone)
    async with request.app[DATABASE]() as db:
        room = await resolve_room(db, request.match_info["room"])
        stays = await stays_on(db, room.id, day, zone)
        sites = await directory.list_sites(db, active_only=True)
    people = attendees(stays)
    present = {a.site_id for a in people if a.site_id is not None}
    return await render(request, "rooms/attendance.html", {
        "room": room, "rooms": KNOWN_ROOMS, "day": day, "stays": stays, "attendees": people,
        "previous_day": day - timedelta(days=1), "next_day": day + timedelta(days=1),
        "sites_present": [s for s in sites if s.id in present],
        "sites_absent": [s for s in sites if s.id not in present],
        "roles": ROOM_ROLES, "duration": duration,
    })
