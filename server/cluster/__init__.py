"""Several ``yizhan serve`` nodes on one Redis: placement, bridges, failover and drain.

The front door: the app factory appends :func:`cluster_ctx` (it does nothing without
``YIZHAN_REDIS_URL``), the room socket asks :data:`CLUSTER` to serve a participant,
and the bridge endpoint hands the far end of a bridge to it. docs/architecture.md,
"A cluster of nodes", says why it works this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Collection

from aiohttp import web

from server.cluster.bridge import verify as verify_bridge
from server.cluster.errors import ClusterUnavailable
from server.cluster.media import gather_on, participant_socket
from server.cluster.node import ClusterNode
from server.cluster.placement import NodeLoad, choose_node
from server.core.keys import CLOCK, DATABASE, METRICS, SETTINGS
from server.meetings.attendance import end_stays_cut_short
from server.meetings.registry import REGISTRY, ROOM_CHANGES
from server.residents.limits import RESIDENT_LIMITS

__all__ = [
    "CLUSTER",
    "DRAIN_ON_SIGTERM",
    "ClusterNode",
    "ClusterUnavailable",
    "NodeLoad",
    "choose_node",
    "cluster_ctx",
    "gather_on",
    "participant_socket",
    "release_before_shutdown",
    "verify_bridge",
]

log = logging.getLogger("yizhan.cluster")

CLUSTER = web.AppKey("cluster_node", ClusterNode)
# Set by `yizhan serve`: the process is the server's own, so SIGTERM is the node's to take.
DRAIN_ON_SIGTERM = web.AppKey("drain_on_sigterm", bool)


async def cluster_ctx(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx`` (after the room registry's): this process's node, when clustered."""
    settings = app[SETTINGS].cluster
    if settings is None:
        yield
        return
    async def ended_elsewhere(room_id: str, keys: Collection[str]) -> None:
        await end_stays_cut_short(app[DATABASE], room_id, keys, app[CLOCK]())

    node = ClusterNode(settings, app[REGISTRY], on_takeover=ended_elsewhere)
    app[CLUSTER] = node
    app[ROOM_CHANGES].append(node.room_changed)
    app[METRICS].add_gauges(node.gauges)
    await node.start()
    limits = app.get(RESIDENT_LIMITS)
    if limits is not None:  # the residents' rate limits count for the whole cluster
        limits.shared = node.store
    if app.get(DRAIN_ON_SIGTERM):
        _drain_on_sigterm(node)
    log.info("node %s in the cluster at %s", settings.node_id, settings.node_url)
    yield
    if limits is not None:
        limits.shared = None
    await node.stop()


async def release_before_shutdown(app: web.Application) -> None:
    """``on_shutdown``, before the rooms close: their state stays, their claims go."""
    node = app.get(CLUSTER)
    if node is not None:
        node.draining = True
        await node.release_rooms()


def _drain_on_sigterm(node: ClusterNode) -> None:
    """SIGTERM drains the node, then stops the server as SIGINT would (exit status 0)."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        raise web.GracefulExit()

    async def drain_then_stop() -> None:
        try:
            await node.drain()
        finally:
            loop.call_soon(stop)

    tasks: set[asyncio.Task[None]] = set()

    def on_sigterm() -> None:
        if not tasks:
            tasks.add(loop.create_task(drain_then_stop(), name="cluster-drain"))

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)  # only where the process serves
