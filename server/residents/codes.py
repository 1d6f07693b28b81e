"""Each site's QR code token: the code on the poster leads to ``/r/<token>``.

A site has at most one current token; rotating it retires the old one, which then leads to
a page saying the code has moved (and where, for staff). Admins and hosts manage every
site's code, a site's own account its own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.users import Principal
from server.core import audit
from server.core.clock import Clock
from server.core.errors import Forbidden, NotFound
from server.models import Role, Site, SiteCode, Street

MANAGERS = frozenset({Role.ADMIN, Role.HOST, Role.SITE})


def new_token() -> str:
    """128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def may_manage(viewer: Principal, site_id: int) -> bool:
    return viewer.role in (Role.ADMIN, Role.HOST) or (
        viewer.role is Role.SITE and viewer.site_id == site_id)


@dataclass(frozen=True)
class Poster:
    site_id: int
    site_name: str
    street_name: str
    token: str
    retired_tokens: int


async def _site(db: AsyncSession, viewer: Principal, site_id: int) -> Site:
    if not may_manage(viewer, site_id):
        raise Forbidden("You may not do this for this site.")
    site = await db.get(Site, site_id)
    if site is None:
        raise NotFound("Not found.")
    return site


async def current(db: AsyncSession, site_id: int) -> SiteCode | None:
    return await db.scalar(select(SiteCode).where(SiteCode.site_id == site_id,
                                                  SiteCode.retired_at.is_(None))
                           .order_by(SiteCode.id.desc()).limit(1))


async def poster(db: AsyncSession, viewer: Principal, site_id: int, *, clock: Clock) -> Poster:
    """The site's current code (made on first use) and what the poster prints."""
    site = await _site(db, viewer, site_id)
    code = await current(db, site.id)
    if code is None:
        code = SiteCode(site_id=site.id, token=new_token(), created_at=clock())
        db.add(code)
        await db.flush()
    street = await db.get(Street, site.street_id)
    retired = len(list(await db.scalars(select(SiteCode.id).where(
        SiteCode.site_id == site.id, SiteCode.retired_at.is_not(None)))))
    return Poster(site.id, site.name, street.name if street else "", code.token, retired)


async def rotate(db: AsyncSession, viewer: Principal, site_id: int, *, clock: Clock) -> str:
    """Retire the site's code and issue a new one; the new token."""
    site = await _site(db, viewer, site_id)
    now = clock()
    old = await current(db, site.id)
    new = SiteCode(site_id=site.id, token=new_token(), created_at=now)
    db.add(new)
    await db.flush()
    if old is not None:
        old.retired_at = now
        old.replaced_by_id = new.id
    audit.record(db, at=now, actor_id=viewer.user_id, action="site_code.rotate",
                 target_type="site", target_id=site.id,
                 changes={"code": [old.id if old else None, new.id]})
    return new.token


@dataclass(frozen=True)
class Entry:
    """What a scanned token leads to: a site that takes residents' items, or `moved`."""

    site_id: int
    site_name: str
    street_name: str
    moved: bool


async def resolve(db: AsyncSession, token: str) -> Entry:
    code = await db.scalar(select(SiteCode).where(SiteCode.token == token))
    site = await db.get(Site, code.site_id) if code is not None else None
    if code is None or site is None or not site.active:
        raise NotFound("Not found.")
    street = await db.get(Street, site.street_id)
    return Entry(site.id, site.name, street.name if street else "",
                 moved=code.retired_at is not None)
