"""The room page's chat panel: its texts, and "make this a question" for the legal queue.

The chat itself travels over the room's socket (docs/protocol.md); this module gives the
page what it shows (translated texts, limits, whether this room's messages can become
live questions) and the one HTTP action, which answers in JSON for js/room_chat.js.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rooms import CHAT_BURST, CHAT_WINDOW_S, MAX_CHAT_CHARS
from server.accounts.access import allow
from server.core.errors import N_
from server.core.keys import CLOCK, DATABASE, current_principal
from server.legal.chat_questions import (
    CHAT_QUESTION_ROLES,
    question_from_chat,
    room_takes_questions,
)
from server.meetings.room_access import KnownRoom, known_room
from web.pages.legal.support import apply_cue
from web.render import translate

CHAT_TEXTS: dict[str, str] = {
    "title": N_("Chat"),
    "placeholder": N_("Type a message"),
    "send": N_("Send"),
    "to_all": N_("To everyone"),
    "to_hosts": N_("To the host only"),
    "hosts_only": N_("Host only"),
    "delete": N_("Delete"),
    "delete_confirm": N_("Delete this message for everyone?"),
    "empty": N_("No messages yet."),
    "make_question": N_("Make it a question"),
    "question_made": N_("Question #%(id)s is in the queue."),
    "question_exists": N_("Already in the queue as question #%(id)s."),
    "question_failed": N_("Could not make it a question: %(reason)s"),
    "you": N_("(you)"),
}
CHAT_ERRORS: dict[str, str] = {
    "chat-empty": N_("Type a message first."),
    "chat-too-long": N_("A message can have at most %(max)s characters."),
    "chat-rate-limited": N_("Too many messages: at most %(burst)s in %(window)s seconds. "
                            "Please wait a moment."),
    "unknown-message": N_("That message is no longer there."),
}


async def chat_config(request: web.Request, room: KnownRoom) -> dict[str, Any]:
    """What js/room_chat.js needs: texts, limits, and where to make questions."""
    principal = current_principal(request)
    async with request.app[DATABASE]() as db:
        questions = (principal.role in CHAT_QUESTION_ROLES
                     and await room_takes_questions(db, room.id))
    limits = {"max": MAX_CHAT_CHARS, "burst": CHAT_BURST, "window": f"{CHAT_WINDOW_S:g}"}
    errors = {code: translate(request, text) for code, text in CHAT_ERRORS.items()}
    for code, text in errors.items():
        for name, value in limits.items():
            text = text.replace(f"%({name})s", str(value))
        errors[code] = text
    return {
        "texts": {key: translate(request, text) for key, text in CHAT_TEXTS.items()},
        "errors": errors,
        "maxChars": MAX_CHAT_CHARS,
        "overlayMs": 8000,
        # "Make it a question": offered on sites' messages in a legal consultation room.
        "questionUrl": (f"/rooms/{room.id}/chat/{{id}}/question" if questions else None),
    }


@allow(*sorted(CHAT_QUESTION_ROLES))
async def chat_question_action(request: web.Request) -> web.StreamResponse:
    """Make a stored chat message a live question (or say which one it already is)."""
    room = known_room(request.match_info["room"])
    key = request.match_info["message"]
    async with request.app[DATABASE]() as db, db.begin():
        made, cue = await question_from_chat(db, room.id, key,
                                             viewer=current_principal(request),
                                             clock=request.app[CLOCK])
    apply_cue(request, cue)
    return web.json_response(
        {"question": made.question_id, "session": made.session_id, "created": made.created},
        status=201 if made.created else 200, headers={"Cache-Control": "no-store"})
