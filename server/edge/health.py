"""Operations endpoints: liveness with the state of what we depend on, and metrics."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from server.accounts.access import allow, public, scrapable
from server.cluster import CLUSTER
from server.core.keys import ENGINE, METRICS, SCHEDULER, SETTINGS
from server.core.leadership import LEADERSHIP
from server.models import Role


@public
async def healthz(request: web.Request) -> web.Response:
    database: dict[str, object]
    try:
        async with request.app[ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))
        database = {"ok": True, "backend": request.app[ENGINE].dialect.name}
    except Exception as exc:
        database = {"ok": False, "error": type(exc).__name__}
    scheduler = request.app.get(SCHEDULER)
    if scheduler is None:
        sched: dict[str, object] = {
            "ok": not request.app[SETTINGS].run_scheduler, "state": "disabled"
        }
    else:
        running = bool(scheduler.running)
        leadership = request.app.get(LEADERSHIP)
        standby = running and leadership is not None and leadership.standby  # another runs them
        sched = {"ok": running, "state": "standby" if standby else
                 "running" if running else "stopped",
                 "jobs": len(scheduler.get_jobs()) if running else 0}
    ok = bool(database["ok"]) and bool(sched["ok"])
    body: dict[str, object] = {"status": "ok" if ok else "degraded", "database": database,
                               "scheduler": sched}
    node = request.app.get(CLUSTER)
    if node is not None:
        # A draining node answers 503, so a load balancer sends it nothing new; Redis away
        # is shown but fails no node: running rooms and pages carry on without it.
        body["cluster"] = {"ok": not node.draining, "node": node.node_id,
                           "redis": node.store.up, "draining": node.draining}
        ok = ok and not node.draining
        body["status"] = "ok" if ok else "degraded"
    return web.json_response(body, status=200 if ok else 503)


@scrapable
@allow(Role.ADMIN)
async def metrics(request: web.Request) -> web.Response:
    """Administrators in the browser; Prometheus with ``YIZHAN_METRICS_TOKEN`` as its bearer
    token. Room names, loads and refusals are not for everyone who can reach the server."""
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})
