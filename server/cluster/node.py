"""This process as a node of the cluster: heartbeat, placement, bridges, state, drain.

One :class:`ClusterNode` lives as long as the app (``cluster_ctx``). It

* heartbeats its load every ``heartbeat_s`` and keeps its rooms' claims alive with it;
* serves a participant's socket: finds (or places) the room's node, then runs the room
  here or bridges the socket there (:mod:`server.cluster.bridge`);
* writes the state of its rooms to Redis on each change (only while it holds their
  claims: a late write cannot bring back the state of a room that ended or moved), and
  restores a room's state when it takes the room over from a node that died or drained;
* drains on SIGTERM: no new rooms; its rooms may finish for ``drain_timeout_s``, then
  they are closed with ``room-closed`` (the pages reconnect and land on another node),
  and the process exits.

Redis going away does not stop a room that runs: its sockets, bridges and media are
direct. What needs Redis (finding or placing a room, a claim, a state write) is bounded
by ``redis_timeout_s`` and refused with :class:`ClusterUnavailable`, or retried later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable

import aiohttp
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from rooms import MAX_MESSAGE_CHARS, LiveRooms, ParticipantIdentity, UnknownRoom, UserError
from server.cluster import bridge
from server.cluster.errors import ClusterUnavailable, NoNodeForRoom
from server.cluster.placement import NodeLoad, choose_node
from server.cluster.store import ClusterStore
from server.core.config import ClusterSettings

log = logging.getLogger("yizhan.cluster")

CLAIM_GRACE_S = 15.0  # a room placed here but not open yet keeps its claim this long
UNAVAILABLE_CLOSE = 4503  # 4000 + 503, as server/edge/responses.py says domain errors
UNAVAILABLE_REASON = "cluster_unavailable"
STATE_RETRY_S = 1.0
# Told the room and its participants' keys when this node takes over a room that was
# running elsewhere (the app ends the stays the old node left open).
Takeover = Callable[[str, Collection[str]], Awaitable[None]]


class ClusterNode:
    def __init__(
        self, settings: ClusterSettings, registry: LiveRooms, *,
        store: ClusterStore | None = None, on_takeover: Takeover | None = None,
    ) -> None:
        self.settings = settings
        self.node_id = settings.node_id
        self.registry = registry
        self.takes_rooms = settings.takes_rooms
        self._on_takeover = on_takeover
        self.store = store or ClusterStore(settings.redis_url, timeout_s=settings.redis_timeout_s,
                                           dead_after_s=settings.dead_after_s)
        self.draining = False
        self.live_nodes = 0
        self.bridges_out = 0  # participants here whose room runs elsewhere
        self.bridges_in = 0  # participants elsewhere whose room runs here
        self.placed: Counter[str] = Counter()  # rooms this node placed, by where: here/elsewhere
        self.refused = 0  # joins refused because the cluster was unavailable
        self._claimed: dict[str, float] = {}  # rooms this node holds, with when it took them
        self._frozen: set[str] = set()  # rooms being closed here: their state is left as it is
        self._dirty: set[str] = set()
        self._wake_writer = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None
        self._drained = asyncio.Event()

    # -- life ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=self.settings.redis_timeout_s * 2))
        with contextlib.suppress(ClusterUnavailable):
            await self._beat()
        if not self.store.up:
            log.warning("Redis is unreachable at start-up; the node keeps trying")
        self._tasks = [asyncio.create_task(self._heartbeat(), name="cluster-heartbeat"),
                       asyncio.create_task(self._write_states(), name="cluster-state")]

    async def stop(self) -> None:
        """Let go of this node's rooms and its place in the cluster, as far as Redis lets."""
        self.draining = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.release_rooms()
        with contextlib.suppress(ClusterUnavailable):
            await self.store.leave(self.node_id)
        if self._http is not None:
            await self._http.close()
        await self.store.close()

    async def release_rooms(self) -> None:
        """Freeze the rooms' state as it is and give up their claims, before closing them.

        Their participants, told ``room-closed`` next, reconnect and find them free.
        """
        for room_id in list(self._claimed):
            self._frozen.add(room_id)
            with contextlib.suppress(ClusterUnavailable, UnknownRoom):
                if self.registry.is_live(room_id):
                    state = await self.registry.room_state(room_id)
                    await self.store.save_state(self.node_id, room_id, state)
                await self.store.release(self.node_id, room_id)
            self._claimed.pop(room_id, None)

    # -- load and heartbeat -------------------------------------------------------------

    def load(self) -> NodeLoad:
        stats = self.registry.stats()
        config = self.registry.config
        return NodeLoad(
            node_id=self.node_id, url=self.settings.node_url, cpu=stats.cpu_load,
            cpu_budget=config.load.cpu_budget, rooms=max(stats.rooms, len(self._claimed)),
            max_rooms=config.max_rooms, participants=stats.participants,
            frame_load=max((r.frame_load for r in stats.per_room), default=0.0),
            draining=self.draining, takes_rooms=self.takes_rooms,
        )

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self._beat()
            except ClusterUnavailable:
                log.debug("heartbeat: Redis unavailable")
            except Exception:
                log.exception("heartbeat failed")
            await asyncio.sleep(self.settings.heartbeat_s)

    async def _beat(self) -> None:
        was_up = self.store.up
        await self.store.heartbeat(self.load())
        if not was_up:  # Redis is back (perhaps empty): write every room's state again
            for room_id in self.registry.room_ids():
                self.room_changed(room_id)
        now = time.monotonic()
        live = set(self.registry.room_ids())
        for room_id in [r for r, at in self._claimed.items()
                        if r not in live and now - at > CLAIM_GRACE_S]:
            await self._ended(room_id)
        for room_id in live - set(self._claimed):  # opened while Redis was away
            self._claimed[room_id] = now
        for room_id in await self.store.refresh(self.node_id, sorted(self._claimed)):
            log.warning("room %s runs on another node now; closing it here", room_id)
            self._frozen.add(room_id)
            self._claimed.pop(room_id, None)
            await self.registry.close_room(room_id)
        self.live_nodes = len(await self.store.nodes())

    async def _ended(self, room_id: str) -> None:
        """The room ended here (everyone left): its claim and its state go."""
        self._claimed.pop(room_id, None)  # first: the state writer stops writing it
        await self.store.release(self.node_id, room_id)
        if room_id not in self._frozen:
            await self.store.forget_state(room_id)
        self._frozen.discard(room_id)

    # -- room state -----------------------------------------------------------------------

    def room_changed(self, room_id: str) -> None:
        """A hook event of ``room_id`` (a mute, a hand, a join ...): write its state soon."""
        if room_id not in self._frozen:
            self._dirty.add(room_id)
            self._wake_writer.set()

    async def _write_states(self) -> None:
        while True:
            await self._wake_writer.wait()
            self._wake_writer.clear()
            rooms, self._dirty = self._dirty, set()
            for room_id in sorted(rooms):
                if room_id in self._frozen or not self.registry.is_live(room_id):
                    continue
                try:
                    state = await self.registry.room_state(room_id)  # a worker's: awaited
                    if room_id not in self._claimed or room_id in self._frozen:
                        continue  # it ended or moved meanwhile: its state was let go
                    if (not await self.store.save_state(self.node_id, room_id, state)
                            and room_id in self._claimed and room_id not in self._frozen):
                        self._dirty.add(room_id)  # Redis came back empty: claimed again soon
                except UnknownRoom:  # it ended meanwhile
                    continue
                except ClusterUnavailable:
                    self._dirty.add(room_id)
            if self._dirty:
                await asyncio.sleep(STATE_RETRY_S)
                self._wake_writer.set()

    # -- serving a participant -------------------------------------------------------------

    async def serve(self, ws: web.WebSocketResponse, room_id: str,
                    identity: ParticipantIdentity) -> None:
        """Run the participant's room here, or bridge its socket to the room's node."""
        deadline = time.monotonic() + self.settings.dead_after_s + 4 * self.settings.heartbeat_s
        while True:
            try:
                owner = await self._place(room_id)
            except ClusterUnavailable as exc:
                if self.registry.is_live(room_id):  # running here: Redis not needed
                    await self.serve_here(ws, room_id, identity, restore=False)
                    return
                self.refused += 1
                reason = exc.code if isinstance(exc, NoNodeForRoom) else UNAVAILABLE_REASON
                await ws.close(code=UNAVAILABLE_CLOSE, message=reason.encode())
                return
            if owner.node_id == self.node_id:
                await self.serve_here(ws, room_id, identity, restore=True)
                return
            if await self._bridge(ws, owner, room_id, identity):
                return
            if time.monotonic() > deadline or ws.closed:
                await ws.close(code=bridge.ROOM_MOVING, message=b"room moving")
                return
            # The room's node does not answer: its claim runs out when its heartbeat does.
            await asyncio.sleep(self.settings.heartbeat_s / 2)

    async def _place(self, room_id: str) -> NodeLoad:
        """The node that runs ``room_id``: its live owner, or the emptiest that can take it."""
        owner_id = await self.store.owner(room_id)
        if owner_id is not None:
            owner = await self.store.node(owner_id)
            if owner is not None:
                return owner
        nodes = await self.store.nodes()
        if self.draining:
            nodes = [n for n in nodes if n.node_id != self.node_id]
        candidate = choose_node(nodes)
        if candidate is None:
            raise NoNodeForRoom()
        owner_id = await self.store.claim(room_id, candidate.node_id)
        owner = candidate if owner_id == candidate.node_id else await self.store.node(owner_id)
        if owner is None:
            raise NoNodeForRoom()
        if owner_id == candidate.node_id:
            self.placed["here" if owner_id == self.node_id else "elsewhere"] += 1
            log.info("room %s placed on node %s", room_id, owner_id)
        return owner

    async def serve_here(self, ws: web.WebSocketResponse, room_id: str,
                         identity: ParticipantIdentity, *, restore: bool) -> None:
        """The room runs on this node: bring its state back if it opens here now."""
        if room_id not in self._claimed:
            self._claimed[room_id] = time.monotonic()
        self._frozen.discard(room_id)
        if restore and not self.registry.is_live(room_id):
            await self._restore(room_id)
        await self.registry.serve(ws, room_id, identity)

    async def _restore(self, room_id: str) -> None:
        try:
            state = await self.store.load_state(room_id)
        except ClusterUnavailable:
            log.warning("room %s opens without its state: Redis unavailable", room_id)
            return
        except ValueError:
            log.exception("room %s: its kept state does not parse; it opens afresh", room_id)
            return
        if state is not None and not self.registry.is_live(room_id):
            try:
                self.registry.restore(room_id, state)
            except UserError:  # another arrival opened it meanwhile: its state is its own
                return
            log.info("room %s opens here with its state restored", room_id)
            if self._on_takeover is not None:
                try:
                    await self._on_takeover(room_id, list(state.participants))
                except Exception:
                    log.exception("room %s: the takeover's clean-up failed", room_id)

    async def _bridge(self, ws: web.WebSocketResponse, owner: NodeLoad, room_id: str,
                      identity: ParticipantIdentity) -> bool:
        """Relay ``ws`` to the room's node; False if that node could not be reached."""
        assert self._http is not None
        headers = bridge.sign(self.settings.secret, room_id, identity, time.time())
        try:
            upstream = await self._http.ws_connect(
                owner.url + bridge.bridge_path(room_id), headers=headers,
                heartbeat=10.0, max_msg_size=4 * MAX_MESSAGE_CHARS)
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("room %s: node %s unreachable (%r)", room_id, owner.node_id, exc)
            return False
        self.bridges_out += 1
        try:
            await bridge.relay(ws, upstream)
        finally:
            self.bridges_out -= 1
        return True

    async def serve_bridge(self, ws: web.WebSocketResponse, room_id: str,
                           identity: ParticipantIdentity) -> None:
        """The far end of a bridge: the edge node placed the room here."""
        if self.draining and not self.registry.is_live(room_id):
            await ws.close(code=bridge.ROOM_MOVING, message=b"draining")
            return
        self.bridges_in += 1
        try:
            await self.serve_here(ws, room_id, identity, restore=True)
        finally:
            self.bridges_in -= 1

    # -- drain ------------------------------------------------------------------------------

    async def drain(self) -> None:
        """No new rooms; the rooms here finish or, after the drain timeout, move."""
        if self.draining:
            return
        self.draining = True
        log.info("draining: no new rooms; %d running", len(self.registry.room_ids()))
        with contextlib.suppress(ClusterUnavailable):
            await self.store.heartbeat(self.load())
        deadline = time.monotonic() + self.settings.drain_timeout_s
        while self.registry.room_ids() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # the engine has no "room ended" event to wait on
        rooms = self.registry.room_ids()
        if rooms:
            log.info("drain timeout: moving %s", ", ".join(rooms))
            await self.release_rooms()
            for room_id in rooms:
                await self.registry.close_room(room_id)
        self._drained.set()

    # -- metrics ---------------------------------------------------------------------------

    def gauges(self) -> Iterable[Metric]:
        def gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, text, labels=["node"])
            family.add_metric([self.node_id], value)
            return family

        placed = CounterMetricFamily("yizhan_cluster_rooms_placed",
                                     "Rooms this node placed, by where they went",
                                     labels=["node", "where"])
        for where in ("here", "elsewhere"):
            placed.add_metric([self.node_id, where], self.placed[where])
        refused = CounterMetricFamily("yizhan_cluster_refused",
                                      "Joins refused: the cluster was unavailable",
                                      labels=["node"])
        refused.add_metric([self.node_id], self.refused)
        return [
            gauge("yizhan_cluster_nodes", "Live nodes this node saw at its last heartbeat",
                  self.live_nodes),
            gauge("yizhan_cluster_rooms_held", "Rooms this node runs or has claimed",
                  len(self._claimed)),
            gauge("yizhan_cluster_bridges_out", "Participants here bridged to another node",
                  self.bridges_out),
            gauge("yizhan_cluster_bridges_in", "Participants bridged here from another node",
                  self.bridges_in),
            gauge("yizhan_cluster_redis_up", "1 when the latest Redis call succeeded",
                  1.0 if self.store.up else 0.0),
            gauge("yizhan_cluster_draining", "1 while this node drains", float(self.draining)),
            placed, refused,
        ]
