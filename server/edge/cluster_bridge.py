"""The far end of a node-to-node bridge (server/cluster/bridge.py): a room's own node.

Not for browsers: only a node of the cluster can sign the identity it vouches for.
Without a cluster the endpoint does not exist (404); a handshake without a valid,
fresh signature is refused before the upgrade (401 or 403) and changes nothing.
"""

from __future__ import annotations

import time

from aiohttp import web

from rooms import MAX_MESSAGE_CHARS
from server.accounts.access import public
from server.cluster import CLUSTER, participant_socket, verify_bridge
from server.core.errors import DomainError, NotFound
from server.core.keys import SETTINGS
from server.edge.room_socket import HEARTBEAT


@public  # authenticated by the cluster's HMAC, not by a session
async def bridge_socket(request: web.Request) -> web.StreamResponse:
    node = request.app.get(CLUSTER)
    if node is None:
        raise NotFound("There is no cluster here.")
    # The edge node resolved the room and its role; the signature covers the room's id.
    room_id = request.match_info["room"]
    identity = verify_bridge(node.settings.secret, room_id, request.headers, time.time())
    ws = participant_socket(request.app[SETTINGS].media_address,
                            max_msg_size=4 * MAX_MESSAGE_CHARS, heartbeat=request.app[HEARTBEAT])
    if not ws.can_prepare(request).ok:
        raise DomainError("This address takes WebSocket connections only.")
    await ws.prepare(request)
    await node.serve_bridge(ws, room_id, identity)
    return ws
