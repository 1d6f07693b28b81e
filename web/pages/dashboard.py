"""The home page: what this user has to do now, by role (see server/today)."""

from __future__ import annotations

from aiohttp import web

from scheduling.clock import zone
from server.accounts import directory
from server.accounts.access import signed_in
from server.core.keys import CLOCK, DATABASE, SETTINGS, current_principal
from server.models import Department, Role, Site
from server.today import today_for
from web.pages.admin.directory import ROLES
from web.render import render


@signed_in
async def dashboard(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    office = principal.role in (Role.ADMIN, Role.HOST)
    async with request.app[DATABASE]() as db:
        street = await directory.the_street(db)
        today = await today_for(db, principal, clock=request.app[CLOCK],
                                tz=zone(request.app[SETTINGS].timezone))
        sites = await directory.list_sites(db, active_only=True) if office else []
        own_site = await db.get(Site, principal.site_id) \
            if principal.site_id is not None else None
        own_department = await db.get(Department, principal.department_id) \
            if principal.department_id is not None else None
    return await render(request, "dashboard.html", {
        "street": street, "today": today, "sites": sites, "office": office,
        "own_site": own_site, "own_department": own_department,
        "role": principal.role.value, "role_label": ROLES[principal.role.value],
    })
