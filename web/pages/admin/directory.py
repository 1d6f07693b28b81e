"""Administration: sites, departments, deputies, users, device tokens and the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.clock import zone
from server.accounts import directory
from server.accounts import users as accounts
from server.accounts.access import allow
from server.accounts.directory import Actor
from server.accounts.sign_in import MAX_PASSWORD, hash_new_password
from server.accounts.users import SaveUser, missing_link
from server.core import audit, audit_text
from server.core.clock import Clock
from server.core.errors import N_, NotFound, ValidationFailed
from server.core.fields import FieldReader, clean_text, parse_id
from server.core.keys import (
    CLOCK,
    DATABASE,
    LOCALE,
    PASSWORDS,
    SETTINGS,
    current_principal,
)
from server.core.security import MIN_PASSWORD_LENGTH
from server.meetings.room_access import KNOWN_ROOMS
from server.models import Base, Department, Deputy, DeputyKind, Role, Site, SiteKind, User
from web.render import CATALOGS, render

Saver = Callable[..., Awaitable[Base]]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | number | select | checkbox | password
    options: Sequence[tuple[str, str]] = ()
    help: str = ""


@dataclass(frozen=True)
class Column:
    label: str
    attr: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entity:
    slug: str
    title: str
    model: type[Base]
    columns: Sequence[Column]
    fields: Callable[[AsyncSession], Awaitable[list[Field]]]
    load: Callable[[AsyncSession], Awaitable[Sequence[Base]]]
    # None: the entity has its own save handler (users: the password is hashed first).
    save: Callable[[AsyncSession, Mapping[str, str], Actor, Clock, int | None],
                   Awaitable[Base]] | None
    set_active: Callable[[AsyncSession, int, bool, Actor, Clock], Awaitable[None]]


SITE_KINDS = {SiteKind.VILLAGE.value: N_("Village"), SiteKind.COMMUNITY.value: N_("Community")}
DEPUTY_KINDS = {DeputyKind.PEOPLES_CONGRESS.value: N_("People's congress deputy"),
                DeputyKind.CPPCC.value: N_("CPPCC member")}
ROLES = {Role.ADMIN.value: N_("Administrator"), Role.HOST.value: N_("Meeting host"),
         Role.SITE.value: N_("Site"), Role.OFFICER.value: N_("Legal officer"),
         Role.DEPUTY.value: N_("Deputy")}


async def _site_fields(_db: AsyncSession) -> list[Field]:
    return [Field("code", N_("Code")), Field("name", N_("Name")),
            Field("display_name", N_("Name on the wall")),
            Field("kind", N_("Kind"), "select", list(SITE_KINDS.items())),
            Field("position", N_("Order on the wall"), "number")]


async def _department_fields(_db: AsyncSession) -> list[Field]:
    return [Field("code", N_("Code")), Field("name", N_("Name")),
            Field("is_legal", N_("Takes part in the legal consultation day"), "checkbox")]


async def _deputy_fields(_db: AsyncSession) -> list[Field]:
    return [Field("name", N_("Name")),
            Field("kind", N_("Kind"), "select", list(DEPUTY_KINDS.items())),
            Field("title", N_("Title"))]


async def _user_fields(db: AsyncSession) -> list[Field]:
    none = [("", "—")]
    sites = none + [(str(s.id), s.name) for s in await directory.list_sites(db)]
    depts = none + [(str(d.id), d.name) for d in await directory.list_departments(db)]
    deps = none + [(str(d.id), d.name) for d in await directory.list_deputies(db)]
    return [Field("username", N_("User name")), Field("display_name", N_("Display name")),
            Field("role", N_("Role"), "select", list(ROLES.items())),
            Field("site_id", N_("Site"), "select", sites, N_("Only for site accounts.")),
            Field("department_id", N_("Department"), "select", depts,
                  N_("Only for legal officers.")),
            Field("deputy_id", N_("Deputy"), "select", deps, N_("Only for deputy accounts.")),
            Field("password", N_("Password"), "password",
                  help=N_("At least 8 characters. Leave empty to keep the current one."))]


def _saver(fn: Saver, id_name: str,
           parse: Callable[[Mapping[str, str]], object] | None = None) -> Callable[
        [AsyncSession, Mapping[str, str], Actor, Clock, int | None], Awaitable[Base]]:
    """The entity's save: the form parsed into the use case's command (`parse`), if any."""
    async def save(db: AsyncSession, data: Mapping[str, str], actor: Actor, clock: Clock,
                   ident: int | None) -> Base:
        command = data if parse is None else parse(data)
        return await fn(db, command, actor=actor, clock=clock, **{id_name: ident})
    return save


def _activator(model: type[Site] | type[Department] | type[Deputy]) -> Callable[
        [AsyncSession, int, bool, Actor, Clock], Awaitable[None]]:
    async def set_active(db: AsyncSession, ident: int, active: bool, actor: Actor,
                         clock: Clock) -> None:
        await directory.set_active(db, model, ident, active, actor=actor, clock=clock)
    return set_active


async def _set_user_active(db: AsyncSession, ident: int, active: bool, actor: Actor,
                           clock: Clock) -> None:
    await accounts.set_user_active(db, ident, active, actor=actor, clock=clock)


ENTITIES = {e.slug: e for e in (
    Entity("sites", N_("Sites"), Site,
           [Column("Order on the wall", "position"), Column("Code", "code"),
            Column("Name", "name"), Column("Kind", "kind", SITE_KINDS)],
           _site_fields, directory.list_sites,
           _saver(directory.save_site, "site_id", directory.SiteCommand.from_fields),
           _activator(Site)),
    Entity("departments", N_("Departments"), Department,
           [Column("Code", "code"), Column("Name", "name")],
           _department_fields, directory.list_departments,
           _saver(directory.save_department, "department_id",
                  directory.DepartmentCommand.from_fields), _activator(Department)),
    Entity("deputies", N_("Deputies"), Deputy,
           [Column("Name", "name"), Column("Kind", "kind", DEPUTY_KINDS),
            Column("Title", "title")],
           _deputy_fields, directory.list_deputies,
           _saver(directory.save_deputy, "deputy_id", directory.DeputyCommand.from_fields),
           _activator(Deputy)),
    Entity("users", N_("Users"), User,
           [Column("User name", "username"), Column("Display name", "display_name"),
            Column("Role", "role", ROLES)],
           _user_fields, accounts.list_users, None, _set_user_active),
)}


def _entity(request: web.Request) -> Entity:
    entity = ENTITIES.get(request.match_info["entity"])
    if entity is None:
        raise NotFound("Page not found.")
    return entity


def _ident(request: web.Request) -> int | None:
    raw = request.match_info.get("ident")
    if raw is None or raw == "new":
        return None
    ident = parse_id(raw)
    if ident is None:  # not a number, or past any id the database holds
        raise NotFound("Not found.")
    return ident


def _actor(request: web.Request) -> Actor:
    principal = current_principal(request)
    return Actor(principal.user_id)


def _values(obj: Base | None, fields: Sequence[Field]) -> dict[str, str]:
    if obj is None:
        return {"position": "0", "is_legal": "on"}
    out: dict[str, str] = {}
    for f in fields:
        if f.kind == "password":
            continue
        value: Any = getattr(obj, f.name, None)
        if f.kind == "checkbox":
            out[f.name] = "on" if value else ""
        else:
            out[f.name] = "" if value is None else str(value.value if hasattr(value, "value")
                                                      else value)
    return out


@allow(Role.ADMIN)
async def list_page(request: web.Request) -> web.StreamResponse:
    entity = _entity(request)
    async with request.app[DATABASE]() as db:
        rows = await entity.load(db)
    return await render(request, "admin/list.html", {"entity": entity, "rows": rows})


@allow(Role.ADMIN)
async def form_page(request: web.Request) -> web.StreamResponse:
    entity, ident = _entity(request), _ident(request)
    async with request.app[DATABASE]() as db:
        obj = await directory.get(db, entity.model, ident) if ident else None
        fields = await entity.fields(db)
    return await render(request, "admin/form.html", {
        "entity": entity, "ident": ident, "fields": fields, "values": _values(obj, fields),
        "errors": {}, "message": None})


async def _invalid(request: web.Request, entity: Entity, ident: int | None,
                   data: Mapping[str, str], exc: ValidationFailed) -> web.Response:
    """The form again with what was typed (never the password) and the field errors."""
    async with request.app[DATABASE]() as db:
        fields = await entity.fields(db)
    return await render(request, "admin/form.html", {
        "entity": entity, "ident": ident, "fields": fields,
        "values": {k: v for k, v in data.items() if k != "password"},
        "errors": exc.field_errors, "message": exc.message}, status=422)


@allow(Role.ADMIN)
async def save(request: web.Request) -> web.StreamResponse:
    entity, ident = _entity(request), _ident(request)
    if entity.save is None:
        raise NotFound("Page not found.")
    form = await request.post()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        async with request.app[DATABASE]() as db, db.begin():
            if ident is not None:
                await directory.get(db, entity.model, ident)
            await entity.save(db, data, _actor(request), request.app[CLOCK], ident)
    except ValidationFailed as exc:
        return await _invalid(request, entity, ident, data, exc)
    raise web.HTTPSeeOther(f"/admin/{entity.slug}")


def read_user_form(data: Mapping[str, str], *, new: bool) -> tuple[SaveUser, str]:
    """The user form as a command (its password hash still to come) and the new password
    ("" keeps the current one). Field errors for everything that needs no database."""
    form = FieldReader(data)
    username = form.line("username", max_len=64)
    if username and not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        form.fail("username", N_("Use letters, digits, '.', '-' and '_'."))
    display_name = form.line("display_name", max_len=100)
    role = form.choice("role", Role)
    links = {name: form.optional_id(name) for name in ("site_id", "department_id", "deputy_id")}
    password = data.get("password", "")
    password = password if isinstance(password, str) else ""
    if (new or password) and len(password) < MIN_PASSWORD_LENGTH:
        form.fail("password", N_("At least 8 characters."))
    elif len(password) > MAX_PASSWORD:  # sign-in reads no more than this
        form.fail("password", N_("Too long."))
    missing = missing_link(role, links) if role is not None else None
    if missing is not None:
        form.fail(missing, N_("This role needs this field."))
    form.check()
    if role is None:  # form.check() raised already; this narrows the type
        raise ValidationFailed("Please correct the marked fields.")
    return SaveUser(username=username, display_name=display_name, role=role,
                    site_id=links["site_id"], department_id=links["department_id"],
                    deputy_id=links["deputy_id"]), password


@allow(Role.ADMIN)
async def save_user(request: web.Request) -> web.StreamResponse:
    """Create or edit a user; a new password is hashed off the event loop before the
    transaction opens."""
    entity, ident = ENTITIES["users"], _ident(request)
    form = await request.post()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    if ident is not None:
        async with request.app[DATABASE]() as db:
            await directory.get(db, User, ident)
    try:
        command, password = read_user_form(data, new=ident is None)
        if password:
            command = replace(command, password_hash=await hash_new_password(
                request.app[PASSWORDS], password))
        async with request.app[DATABASE]() as db, db.begin():
            await accounts.save_user(db, command, actor=_actor(request),
                                     clock=request.app[CLOCK], user_id=ident)
    except ValidationFailed as exc:
        return await _invalid(request, entity, ident, data, exc)
    raise web.HTTPSeeOther(f"/admin/{entity.slug}")


@allow(Role.ADMIN)
async def toggle_active(request: web.Request) -> web.StreamResponse:
    entity, ident = _entity(request), _ident(request)
    if ident is None:
        raise NotFound("Not found.")
    active = request.match_info["action"] == "activate"
    async with request.app[DATABASE]() as db, db.begin():
        await entity.set_active(db, ident, active, _actor(request), request.app[CLOCK])
    raise web.HTTPSeeOther(f"/admin/{entity.slug}")


@allow(Role.ADMIN)
async def devices_page(request: web.Request) -> web.StreamResponse:
    return await _devices(request)


async def _devices(request: web.Request, *, new_token: str | None = None,
                   errors: dict[str, str] | None = None, status: int = 200) -> web.Response:
    async with request.app[DATABASE]() as db:
        tokens = await accounts.list_device_tokens(db)
        site_users = [u for u in await accounts.list_users(db) if u.role is Role.SITE]
    return await render(request, "admin/devices.html", {
        "tokens": tokens, "site_users": site_users, "new_token": new_token,
        "errors": errors or {}}, status=status)


@allow(Role.ADMIN)
async def issue_device(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    user_id = parse_id(form.get("user_id"))
    if user_id is None:
        return await _devices(request, errors={"user_id": N_("Choose one of the options.")},
                              status=422)
    label = form.get("label")
    try:
        async with request.app[DATABASE]() as db, db.begin():
            _row, token = await accounts.issue_device_token(
                db, user_id, clean_text(label) if isinstance(label, str) else "",
                actor=_actor(request), clock=request.app[CLOCK])
    except ValidationFailed as exc:
        return await _devices(request, errors=exc.field_errors or {"user_id": exc.message},
                              status=422)
    return await _devices(request, new_token=token)


@allow(Role.ADMIN)
async def revoke_device(request: web.Request) -> web.StreamResponse:
    ident = _ident(request)
    if ident is None:
        raise NotFound("Not found.")
    async with request.app[DATABASE]() as db, db.begin():
        await accounts.revoke_device_token(db, ident, actor=_actor(request),
                                           clock=request.app[CLOCK])
    raise web.HTTPSeeOther("/admin/devices")


@allow(Role.ADMIN)
async def audit_page(request: web.Request) -> web.StreamResponse:
    """The audit log as sentences in the reader's language, linking the objects."""
    locale = request.get(LOCALE, "zh_CN")
    tz = zone(request.app[SETTINGS].timezone)
    async with request.app[DATABASE]() as db:
        entries = await audit.recent(db, 200)
        names = await audit_text.load_names(db, entries, tz=tz)
    gettext = request.app[CATALOGS].get(locale).gettext
    writer = audit_text.AuditWriter(names, gettext, locale=locale, tz=tz,
                                    rooms={room.id: room.title for room in KNOWN_ROOMS})
    return await render(request, "admin/audit.html", {"lines": writer.lines(entries)})
