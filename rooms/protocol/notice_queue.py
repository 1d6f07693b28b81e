"""One connection's notices on their way out, with repeated state coalesced.

A burst of room changes (a hundred hands raised and lowered) makes a
hundred ``hands`` and ``layout`` notices for every member; all but the last
of each are stale before they are sent. The queue keeps one pending state
notice per :meth:`~rooms.protocol.notices.Notice.state_key`: a newer one replaces it
and moves to the back, so it never overtakes an event queued before it,
and the client always ends up with the newest state. Events are kept, in
order. So the queue only grows with events, and fills only when its
reader (the socket's writer) is stuck.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Hashable

from rooms.protocol import notices as nt


class QueueFull(Exception):
    """The queue holds ``capacity`` notices and the new one replaces none of them."""


class NoticeQueue:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._pending: OrderedDict[Hashable, nt.Notice] = OrderedDict()
        self._numbers = itertools.count()  # keys for events, which never replace anything
        self._ready = asyncio.Event()
        self.closed = False
        self.coalesced = 0  # state notices dropped for a newer one, for tests and metrics

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, notice: nt.Notice) -> None:
        """Queue ``notice``; raises :class:`QueueFull` rather than grow past ``capacity``."""
        state = notice.state_key()
        if state is not None and self._pending.pop(("state", state), None) is not None:
            self.coalesced += 1
        elif len(self._pending) >= self.capacity:
            raise QueueFull
        key = ("state", state) if state is not None else ("event", next(self._numbers))
        self._pending[key] = notice
        self._ready.set()

    def close(self) -> None:
        """No more notices: :meth:`get` returns what is queued, then ``None``."""
        self.closed = True
        self._ready.set()

    def clear(self) -> None:
        self._pending.clear()

    def get_nowait(self) -> nt.Notice | None:
        """The oldest notice, or ``None`` if none waits."""
        if not self._pending:
            return None
        return self._pending.popitem(last=False)[1]

    async def get(self) -> nt.Notice | None:
        """The oldest notice, waiting for one; ``None`` once closed and empty."""
        while not self._pending:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._pending.popitem(last=False)[1]
