"""A process per room: each live room's engine runs in a worker process of its own.

The web process keeps the WebSockets and bridges each participant's frames to
the room's worker (:mod:`rooms.workers.registry`, :mod:`rooms.workers.link`);
the worker (:mod:`rooms.workers.main`) runs a one-room :class:`~rooms.RoomRegistry`
and sends the room's hook calls back. :mod:`rooms.workers.wire` is what the
two say to each other, :mod:`rooms.workers.ports` keeps media in a UDP range.
"""
