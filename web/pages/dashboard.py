"""The home page: what this user has to do, by role."""

from __future__ import annotations

from aiohttp import web

from server.accounts import directory
from server.accounts.access import signed_in
from server.core.keys import SESSIONS, current_principal

from ..render import render
from .admin import ROLES


@signed_in
async def dashboard(request: web.Request) -> web.StreamResponse:
    principal = current_principal(request)
    async with request.app[SESSIONS]() as db:
        street = await directory.the_street(db)
        sites = await directory.list_sites(db, active_only=True)
        departments = await directory.list_departments(db, active_only=True)
        deputies = await directory.list_deputies(db, active_only=True)
        own_site = next((s for s in sites if s.id == principal.site_id), None)
        own_department = next((d for d in departments if d.id == principal.department_id), None)
    return await render(request, "dashboard.html", {
        "street": street, "sites": sites, "departments": departments, "deputies": deputies,
        "own_site": own_site, "own_department": own_department,
        "role_label": ROLES[principal.role.value],
    })
