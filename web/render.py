"""Jinja2 set-up: one environment, translations chosen per render from the context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server.accounts.users import Principal
from server.core.errors import N_
from server.core.keys import CLOCK, CSRF_TOKEN, DEMO_STREET, LOCALE, PRINCIPAL, SETTINGS
from server.models import Role

from .i18n import HTML_LANG, LANGUAGE_NAMES, LOCALES, Catalogs, load_catalogs

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
CATALOGS = web.AppKey("catalogs", Catalogs)


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str


@dataclass(frozen=True)
class NavGroup:
    """A menu of related pages; a group of one is shown as its single link."""

    label: str
    items: tuple[NavItem, ...]

    def current(self, path: str) -> bool:
        return any(i.href == path for i in self.items)


NavEntry = NavItem | NavGroup


def _entry(label: str, items: list[NavItem]) -> list[NavEntry]:
    if not items:
        return []
    return [items[0]] if len(items) == 1 else [NavGroup(label, tuple(items))]


def nav_for(principal: Principal | None) -> list[NavEntry]:
    """The top menu, grouped by concept so that even the administrator's fits one line."""
    if principal is None:
        return []
    role = principal.role
    schedule = [NavItem("/schedule", N_("Schedule"))]
    if role in (Role.ADMIN, Role.HOST, Role.OFFICER, Role.DEPUTY):
        schedule.append(NavItem("/schedule/changes", N_("Duty changes")))
    if role in (Role.ADMIN, Role.HOST):
        schedule.append(NavItem("/schedule/programmes", N_("Programmes")))
    if role is Role.ADMIN:
        schedule += [NavItem("/schedule/workdays", N_("Working-day calendar")),
                     NavItem("/schedule/feeds", N_("Calendar feeds"))]
    legal = [] if role is Role.DEPUTY else [NavItem("/legal", N_("Legal consultation"))]
    admin = [
        NavItem("/admin/sites", N_("Sites")),
        NavItem("/admin/departments", N_("Departments")),
        NavItem("/admin/deputies", N_("Deputies")),
        NavItem("/admin/users", N_("Users")),
        NavItem("/admin/devices", N_("Device sign-in")),
        NavItem("/admin/audit", N_("Audit log")),
        NavItem("/admin/notices", N_("Notices")),
        NavItem("/admin/recordings", N_("Recording retention")),
    ] if role is Role.ADMIN else []
    return [
        NavItem("/", N_("Dashboard")),
        *_entry(N_("Schedule"), schedule),
        *_entry(N_("Legal consultation"), legal),
        *_entry(N_("Opinions"), opinion_nav(role)),
        NavItem("/rooms", N_("Video rooms")),
        *_entry(N_("Administration"), admin),
    ]


def opinion_nav(role: Role) -> list[NavItem]:
    items = [NavItem("/opinions", N_("Opinions"))]
    if role in (Role.ADMIN, Role.HOST, Role.DEPUTY):
        items.append(NavItem("/opinions/stats", N_("Opinion statistics")))
    if role is Role.ADMIN:
        items.append(NavItem("/opinions/categories", N_("Opinion categories")))
    return items


@jinja2.pass_context
def _gettext(ctx: jinja2.runtime.Context, message: str) -> str:
    translations = ctx.get("_translations")
    return str(translations.gettext(message)) if translations is not None else message


@jinja2.pass_context
def _ngettext(ctx: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
    translations = ctx.get("_translations")
    if translations is None:
        return singular if n == 1 else plural
    return str(translations.ngettext(singular, plural, n))


_ZH_WEEKDAYS = "一二三四五六日"
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_day(value: date, *, locale: str, today: date | None) -> str:
    """12月3日（周四）, 2027年1月5日（周二） / Thu 3 Dec, Tue 5 Jan 2027.

    The year is shown only when it is not the current one (``today``'s); without
    a ``today`` it is always shown, which is never wrong.
    """
    other_year = today is None or value.year != today.year
    if locale == "zh_CN":
        year = f"{value.year}年" if other_year else ""
        return f"{year}{value.month}月{value.day}日（周{_ZH_WEEKDAYS[value.weekday()]}）"
    year = f" {value.year}" if other_year else ""
    return f"{_EN_WEEKDAYS[value.weekday()]} {value.day} {_EN_MONTHS[value.month - 1]}{year}"


def format_when(value: datetime, *, locale: str, today: date | None, tz: ZoneInfo) -> str:
    """12月3日（周四）09:30 / Thu 3 Dec 09:30, in the street's time zone."""
    local = value.astimezone(tz)
    day = format_day(local.date(), locale=locale, today=today)
    return f"{day}{local:%H:%M}" if locale == "zh_CN" else f"{day} {local:%H:%M}"


def _zone(ctx: jinja2.runtime.Context) -> ZoneInfo:
    return ZoneInfo(ctx.get("_timezone") or "Asia/Shanghai")


@jinja2.pass_context
def _format_datetime(ctx: jinja2.runtime.Context, value: datetime | None) -> str:
    """The one date-and-time form of every page (ISO only in exports and inputs)."""
    if value is None:
        return ""
    return format_when(value, locale=ctx.get("locale") or "zh_CN", today=ctx.get("_today"),
                       tz=_zone(ctx))


@jinja2.pass_context
def _format_day(ctx: jinja2.runtime.Context, value: date | None) -> str:
    """A date alone; a datetime gives its local day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone(ctx)).date()
    return format_day(value, locale=ctx.get("locale") or "zh_CN", today=ctx.get("_today"))


@jinja2.pass_context
def _format_time(ctx: jinja2.runtime.Context, value: datetime | time | None) -> str:
    """09:30, the local time of a datetime."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone(ctx)).time()
    return f"{value:%H:%M}"


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.filters["datetime"] = _format_datetime
    env.filters["day"] = _format_day
    env.filters["time"] = _format_time
    app[CATALOGS] = load_catalogs()


async def base_context(request: web.Request) -> dict[str, Any]:
    locale = request.get(LOCALE, "zh_CN")
    principal: Principal | None = request.get(PRINCIPAL)
    return {
        "_translations": request.app[CATALOGS].get(locale),
        "_timezone": request.app[SETTINGS].timezone,
        "_today": request.app[CLOCK]().astimezone(ZoneInfo(request.app[SETTINGS].timezone)).date(),
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "locales": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        "principal": principal,
        "path": request.path,
        "nav": nav_for(principal),
        "csrf_token": request.get(CSRF_TOKEN, ""),
        "demo": request.app.get(DEMO_STREET, False),
        "static": lambda path: str(request.app.router["static"].url_for(filename=path)),
    }


def translate(request: web.Request, message: str, **params: object) -> str:
    text = request.app[CATALOGS].get(request.get(LOCALE, "zh_CN")).gettext(message)
    return text % params if params else text


async def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """Render with the base context computed here, so error pages work at any stage."""
    full = await base_context(request)
    full["request"] = request
    full.update(context)
    return aiohttp_jinja2.render_template(template, request, full, status=status)
