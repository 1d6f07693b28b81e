"""The room WebSocket and the ICE servers a reconnecting page asks for.

The WebSocket edge authenticates the request, refuses cross-site connections,
asks :mod:`server.meetings.room_access` for the participant's identity and
role, and hands the socket to :func:`rooms.serve_participant` with the app's
registry (:mod:`server.meetings.registry`). Its pings find a meeting-room PC
whose network went away, so that the room holds the site's place
(``YIZHAN_RECONNECT_HOLD``) and shows it as reconnecting.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import WSCloseCode, hdrs, web

from rooms import MAX_MESSAGE_CHARS, serve_participant
from server.accounts.access import signed_in
from server.cluster import CLUSTER, participant_socket
from server.core.errors import DomainError, Forbidden
from server.core.keys import CLOCK, DATABASE, SETTINGS, VIA_BEARER, current_principal
from server.edge.responses import problem_of, websocket_close
from server.meetings.on_duty import ScheduleOnDuty
from server.meetings.registry import REGISTRY
from server.meetings.room_access import (
    OnDuty,
    participant_identity,
    participant_key,
    resolve_room,
)
from server.meetings.room_entry import check_entry
from server.meetings.turn import ice_servers

ON_DUTY = web.AppKey[OnDuty]("on_duty")  # the schedule replaces the default
HEARTBEAT = web.AppKey("room_heartbeat_s", float)

# Pings every 10 s (a pong is due within 5 s) find a meeting-room PC that lost its
# network within 15 s; its page reconnects on its own sooner when it can.
HEARTBEAT_S = 10.0


def setup(app: web.Application) -> None:
    """Defaults that others may replace before start-up (routes: server.edge.routes)."""
    app[ON_DUTY] = ScheduleOnDuty(lambda: app[DATABASE], window=app[SETTINGS].room_window)
    app[HEARTBEAT] = HEARTBEAT_S


def _same_origin(request: web.Request) -> bool:
    """A browser always sends ``Origin`` on a WebSocket; only bearer-token clients may omit it.

    Cookies ride along with any site's WebSocket, so without this check a
    page elsewhere could join a room as the signed-in user. The scheme counts
    too: ``http://host`` is another origin than ``https://host``, and a page
    served in clear must not speak for the secure one (nor the other way).
    """
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return bool(request.get(VIA_BEARER))
    parts = urlsplit(origin)
    return parts.scheme == _browser_scheme(request) and parts.netloc.lower() == request.host.lower()


def _browser_scheme(request: web.Request) -> str:
    """The scheme of the browser's page: ``https`` over TLS, or behind a TLS proxy.

    Behind the proxy (``docker-compose.yml``) aiohttp sees plain HTTP; the
    deployment says the browsers see HTTPS with ``YIZHAN_COOKIE_SECURE``.
    """
    return "https" if request.secure or request.app[SETTINGS].cookie_secure else "http"


@signed_in
async def room_ice_servers(request: web.Request) -> web.Response:
    """Fresh ICE servers for a page that reconnects hours after it was loaded.

    The TURN credentials rendered into the room page live ``YIZHAN_TURN_TTL``
    seconds; a page that has to build a new peer connection later asks here.
    """
    async with request.app[DATABASE]() as db:
        await resolve_room(db, request.match_info["room"])
    servers = ice_servers(request.app[SETTINGS].turn,
                          user=participant_key(current_principal(request)),
                          now=request.app[CLOCK]())
    return web.json_response({"iceServers": [server.to_json() for server in servers]},
                             headers={"Cache-Control": "no-store"})


@signed_in
async def room_socket(request: web.Request) -> web.StreamResponse:
    app = request.app
    async with app[DATABASE]() as db:
        room = await resolve_room(db, request.match_info["room"])
    ws = participant_socket(app[SETTINGS].media_address,
                            max_msg_size=4 * MAX_MESSAGE_CHARS, heartbeat=app[HEARTBEAT])
    if not ws.can_prepare(request).ok:
        raise DomainError("This address takes WebSocket connections only.")
    if not _same_origin(request):
        raise Forbidden("Connections from other sites are refused.")
    principal, now = current_principal(request), app[CLOCK]()
    async with app[DATABASE]() as db:
        await check_entry(db, principal, room, now=now, window=app[SETTINGS].room_window)
        identity = await participant_identity(
            db, principal, room, on_duty=app[ON_DUTY], at=now)
    await ws.prepare(request)
    try:
        cluster = app.get(CLUSTER)
        if cluster is None:
            await serve_participant(ws, app[REGISTRY], room.id, identity)
        else:  # here, or bridged to the room's node (server/cluster)
            await cluster.serve(ws, room.id, identity)
    except DomainError as exc:  # a domain refusal after the upgrade: said as a close code
        problem = problem_of(exc)
        if problem is not None and not ws.closed:
            code, reason = websocket_close(problem)
            await ws.close(code=code, message=reason.encode())
    finally:
        if ws.close_code == WSCloseCode.ABNORMAL_CLOSURE and request.transport is not None:
            # A PC that stopped answering pings takes no closing handshake; a plain close
            # would keep its socket (with the unsent ping) until TCP gives up, minutes on.
            request.transport.abort()
    return ws
