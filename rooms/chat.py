"""Text chat in a room: the recent messages, who may read each, and the chat's own limits.

A message goes to everyone (``all``) or to the hosts only (``hosts``): a host-only
message is read by the hosts and by its sender. Text is normalised (NFC, line breaks to
``\\n``, control, escape and bidirectional-override characters dropped, ends stripped)
and counted after that: :data:`MAX_CHAT_CHARS` at most, and an empty one is refused.
Each participant may send :data:`CHAT_BURST` messages in any :data:`CHAT_WINDOW_S`
seconds, on top of the socket's general token bucket (a person typing fast never
meets it; a pasted loop does).

The log keeps the last :data:`KEEP` messages in memory for late joiners (each gets the
last :data:`HISTORY` it may read); the server stores every message through its hooks.
A deleted message leaves the log and every page; the store keeps it, marked deleted.
"""

from __future__ import annotations

import re
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rooms.errors import UserError
from rooms.identity import ParticipantIdentity, Role

MAX_CHAT_CHARS = 500  # after normalisation

CHAT_BURST = 5  # messages ...
CHAT_WINDOW_S = 10.0  # ... in any this many seconds, per participant
HISTORY = 50  # messages a late joiner gets
KEEP = 200  # messages the room remembers

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_DROPPED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class Audience(StrEnum):
    ALL = "all"
    HOSTS = "hosts"


def clean_chat_text(raw: str) -> str:
    """The text rule of ``server.core.fields.clean_text`` (multi-line), kept here because
    the engine imports nothing of the server's."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    return _DROPPED.sub("", _ANSI.sub("", text)).strip()


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatMessage:
    id: str
    sender: ParticipantIdentity
    audience: Audience
    text: str
    sent_at: datetime

    def readable_by(self, reader: ParticipantIdentity) -> bool:
        return (self.audience is Audience.ALL or reader.role is Role.HOST
                or reader.key == self.sender.key)


class ChatLog:
    def __init__(self, *, clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._messages: deque[ChatMessage] = deque(maxlen=KEEP)
        self._sent: dict[str, deque[float]] = {}  # each sender's recent send times

    def __iter__(self) -> Iterator[ChatMessage]:
        return iter(self._messages)

    def post(self, sender: ParticipantIdentity, text: str, audience: Audience) -> ChatMessage:
        """A new message, or :class:`UserError` (empty, too long, too fast): nothing kept."""
        text = clean_chat_text(text)
        if not text:
            raise UserError("the message is empty", code="chat-empty")
        if len(text) > MAX_CHAT_CHARS:
            raise UserError(f"a message has at most {MAX_CHAT_CHARS} characters",
                            code="chat-too-long")
        now = self._monotonic()
        recent = self._sent.setdefault(sender.key, deque())
        while recent and recent[0] <= now - CHAT_WINDOW_S:
            recent.popleft()
        if len(recent) >= CHAT_BURST:
            wait = round(max(recent[0] + CHAT_WINDOW_S - now, 0.001), 3)
            raise UserError(
                f"at most {CHAT_BURST} messages in {CHAT_WINDOW_S:g} s; "
                f"try again in {wait:g} s", code="chat-rate-limited", retry_after=wait)
        recent.append(now)
        message = ChatMessage(id=uuid.uuid4().hex, sender=sender, audience=audience,
                              text=text, sent_at=self._clock())
        self._messages.append(message)
        return message

    def delete(self, message_id: str) -> ChatMessage:
        for message in self._messages:
            if message.id == message_id:
                self._messages.remove(message)
                return message
        raise UserError("no such message in this room (it may be deleted already)",
                        code="unknown-message")

    def history(self, reader: ParticipantIdentity) -> list[ChatMessage]:
        """The last :data:`HISTORY` messages ``reader`` may read, oldest first."""
        readable = [m for m in self._messages if m.readable_by(reader)]
        return readable[-HISTORY:]

