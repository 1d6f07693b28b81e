"""Who may call a handler: every route declares it, and a middleware enforces it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from server.models import Role

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])

_ATTR = "_yizhan_access"
ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Access:
    """`roles` is empty for public handlers. `scrape`: a request that brings the metrics
    token (``Authorization: Bearer``, settings.metrics_token) is let in without a principal."""

    public: bool
    roles: frozenset[Role]
    scrape: bool = False

    def admits(self, role: Role | None) -> bool:
        return self.public or (role is not None and role in self.roles)


def allow(*roles: Role) -> Callable[[H], H]:
    if not roles:
        raise ValueError("allow() needs at least one role; use public for open handlers")

    def mark(handler: H) -> H:
        setattr(handler, _ATTR, Access(public=False, roles=frozenset(roles)))
        return handler

    return mark


def signed_in(handler: H) -> H:
    setattr(handler, _ATTR, Access(public=False, roles=ALL_ROLES))
    return handler


def public(handler: H) -> H:
    setattr(handler, _ATTR, Access(public=True, roles=frozenset()))
    return handler


def scrapable(handler: H) -> H:
    """Also admit monitoring scrapers with the metrics token (on top of ``allow``)."""
    access = access_of(handler)
    if access is None or access.public:
        raise ValueError("scrapable goes on top of allow(...)")
    setattr(handler, _ATTR, Access(public=False, roles=access.roles, scrape=True))
    return handler


def access_of(handler: Any) -> Access | None:
    return getattr(handler, _ATTR, None)


def check_route_table(app: web.Application) -> None:
    """Refuse to start when any route lacks an access declaration."""
    missing = []
    for route in app.router.routes():
        if isinstance(route.resource, web.StaticResource):
            continue
        if access_of(route.handler) is None:
            missing.append(f"{route.method} {route.resource.canonical if route.resource else '?'}")
    if missing:
        raise RuntimeError("routes without an access declaration: " + ", ".join(missing))
