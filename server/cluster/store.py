"""What the cluster keeps in Redis, and every call to it bounded in time.

Keys (all under ``yizhan:``):

* ``node:<id>``: a node's :class:`~server.cluster.placement.NodeLoad` as JSON, written
  by its heartbeat with a TTL of ``dead_after_s``: a node that stops heartbeating is
  gone from Redis, and so dead, after at most that long. ``nodes`` is the set of ids.
* ``room:<id>``: the node that runs the room, claimed atomically (:data:`CLAIM`) and kept
  alive by that node's heartbeat with the same TTL. A claim whose node is dead is taken
  over at once.
* ``limit:<bucket>``: a rate limit's token bucket shared by every node
  (:data:`TAKE_FROM_BUCKET`; the residents' filings and look-ups), gone once it has refilled.
* ``state:<id>``: the room's state (:class:`rooms.RoomState` as JSON), written by its
  node on each change (and only while the claim is that node's, :data:`SAVE_STATE`),
  read by the node that takes the room over.

Any Redis failure or a call that takes longer than ``redis_timeout_s`` raises
:class:`~server.cluster.errors.ClusterUnavailable`: callers refuse or retry, never hang.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from rooms import RoomState
from server.cluster.errors import ClusterUnavailable
from server.cluster.placement import NodeLoad

T = TypeVar("T")
PREFIX = "yizhan:"
NODES = PREFIX + "nodes"
STATE_TTL_S = 24 * 3600  # a room nobody came back to is forgotten after a day

# KEYS[1] room key; ARGV: candidate node, TTL (ms), node key prefix. Returns the owner.
CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner and redis.call('EXISTS', ARGV[3] .. owner) == 1 then
  return owner
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
"""
# KEYS: room keys; ARGV: this node, TTL (ms). Keeps (or takes back, after a Redis outage)
# this node's rooms; returns the 1-based indexes of the rooms another node holds now.
REFRESH = """
local lost = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if not owner then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  elseif owner == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  else
    table.insert(lost, i)
  end
end
return lost
"""
# KEYS: room key, state key; ARGV: this node, the state, its TTL (s). Writes the room's
# state only while the room is this node's: a write that lands after the node let the
# room go (it ended, or moved) cannot bring a forgotten state back. Returns 1 if written.
SAVE_STATE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
"""
# KEYS[1] a token bucket; ARGV: capacity, refill rate (tokens/s), now (s), TTL (ms). Takes
# one token if there is one: returns {1 or 0, the tokens left} (the count as text: Lua
# numbers come back as integers). A bucket left alone refills, so it expires once full.
TAKE_FROM_BUCKET = """
local capacity, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kept = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(kept[1]) or capacity
local at = tonumber(kept[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {taken, tostring(tokens)}
"""
# KEYS[1] room key; ARGV[1] this node: let go of the room only if it is still ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def node_key(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}"


def room_key(room_id: str) -> str:
    return f"{PREFIX}room:{room_id}"


def limit_key(bucket: str) -> str:
    return f"{PREFIX}limit:{bucket}"


def state_key(room_id: str) -> str:
    return f"{PREFIX}state:{room_id}"


class ClusterStore:
    def __init__(self, url: str, *, timeout_s: float, dead_after_s: float) -> None:
        self.timeout_s = timeout_s
        self._ttl_ms = int(dead_after_s * 1000)
        self.redis: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0), health_check_interval=0)
        self.up = False  # the outcome of the latest call, for metrics and health

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                result = await call
        except (RedisError, OSError, TimeoutError) as exc:
            self.up = False
            raise ClusterUnavailable() from exc
        self.up = True
        return result

    async def close(self) -> None:
        await self.redis.aclose()

    # -- nodes --------------------------------------------------------------------------

    async def heartbeat(self, load: NodeLoad) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(node_key(load.node_id), load.to_json(), px=self._ttl_ms)
            pipe.sadd(NODES, load.node_id)
            await self._call(pipe.execute())

    async def leave(self, node_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(node_key(node_id))
            pipe.srem(NODES, node_id)
            await self._call(pipe.execute())

    async def nodes(self) -> list[NodeLoad]:
        """The live nodes (those whose heartbeat has not run out); the dead are forgotten."""
        ids = sorted(_text(m) for m in await self._call(self.redis.smembers(NODES)))
        if not ids:
            return []
        values = await self._call(self.redis.mget([node_key(i) for i in ids]))
        dead = [i for i, v in zip(ids, values, strict=True) if v is None]
        if dead:
            await self._call(self.redis.srem(NODES, *dead))
        return [NodeLoad.from_json(v) for v in values if v is not None]

    async def node(self, node_id: str) -> NodeLoad | None:
        value = await self._call(self.redis.get(node_key(node_id)))
        return None if value is None else NodeLoad.from_json(value)

    # -- rooms --------------------------------------------------------------------------

    async def owner(self, room_id: str) -> str | None:
        value = await self._call(self.redis.get(room_key(room_id)))
        return None if value is None else _text(value)

    async def claim(self, room_id: str, candidate: str) -> str:
        """The room's live owner, or ``candidate`` if it had none: one atomic step."""
        owner = await self._call(self.redis.eval(
            CLAIM, 1, room_key(room_id), candidate, self._ttl_ms, PREFIX + "node:"))
        return owner.decode() if isinstance(owner, bytes) else str(owner)

    async def refresh(self, node_id: str, room_ids: Sequence[str]) -> list[str]:
        """Keep ``room_ids`` this node's; returns those another node holds now."""
        if not room_ids:
            return []
        lost = await self._call(self.redis.eval(
            REFRESH, len(room_ids), *[room_key(r) for r in room_ids], node_id, self._ttl_ms))
        return [room_ids[int(i) - 1] for i in lost]

    async def release(self, node_id: str, room_id: str) -> None:
        await self._call(self.redis.eval(
            RELEASE, 1, room_key(room_id), node_id))

    # -- room state ---------------------------------------------------------------------

    async def save_state(self, node_id: str, room_id: str, state: RoomState) -> bool:
        """Write the room's state if the room is ``node_id``'s; False if it is not."""
        text = json.dumps(state.to_json(), separators=(",", ":"), ensure_ascii=False)
        written = await self._call(self.redis.eval(
            SAVE_STATE, 2, room_key(room_id), state_key(room_id), node_id, text, STATE_TTL_S))
        return bool(written)

    async def load_state(self, room_id: str) -> RoomState | None:
        value: Any = await self._call(self.redis.get(state_key(room_id)))
        if value is None:
            return None
        return RoomState.from_json(json.loads(value))

    async def forget_state(self, room_id: str) -> None:
        await self._call(self.redis.delete(state_key(room_id)))

    # -- rate limits shared by the nodes -----------------------------------------------

    async def take_token(self, bucket: str, *, capacity: int, per_s: float,
                         now: float) -> tuple[bool, float]:
        """Take one token from the cluster's ``bucket`` (``capacity`` tokens, refilled over
        ``per_s`` seconds); whether one was there, and the tokens left."""
        taken, left = await self._call(self.redis.eval(
            TAKE_FROM_BUCKET, 1, limit_key(bucket), capacity, capacity / per_s, repr(now),
            int(per_s * 1000) + 1000))
        return bool(int(taken)), float(_text(left))

