"""The audit log in sentences: who did what to which object, in the reader's language.

Each action has one msgid template with named parameters (`who`, `when`, `target` and,
where the change names one, `session`); an action without a template reads as a generic
sentence that still names the person and the object. A sentence comes back as parts
(text, optional link) so the page escapes every name and links the objects itself.
Changes read as "field: old → new" with translated field labels, ids resolved to names
and an empty value written as "(empty)".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.errors import N_
from server.models import (
    AuditEntry,
    Department,
    Deputy,
    OpinionCategory,
    Programme,
    ProgrammeSession,
    QuestionCategory,
    RotationChange,
    Site,
    User,
)

Gettext = Callable[[str], str]

SENTENCES: dict[str, str] = {
    "question.submit": N_("%(who)s submitted question %(target)s for %(session)s at %(when)s"),
    "question.category": N_("%(who)s changed the category of question %(target)s at %(when)s"),
    "question.merge": N_("%(who)s merged question %(target)s into another at %(when)s"),
    "question.reject": N_("%(who)s rejected question %(target)s at %(when)s"),
    "question.reorder": N_("%(who)s moved question %(target)s in the queue at %(when)s"),
    "question.now_answering": N_("%(who)s began answering question %(target)s at %(when)s"),
    "question.answer": N_("%(who)s marked question %(target)s answered at %(when)s"),
    "question.written_answer": N_(
        "%(who)s wrote an answer to question %(target)s at %(when)s"),
    "question.carry_over": N_(
        "%(who)s carried question %(target)s over to %(session)s at %(when)s"),
    "question.raise_live": N_("%(who)s raised question %(target)s live in %(session)s "
                              "at %(when)s"),
    "packet.compile": N_("%(who)s compiled the question packet %(target)s at %(when)s"),
    "follow_up.create": N_("%(who)s opened follow-up %(target)s at %(when)s"),
    "follow_up.update": N_("%(who)s updated follow-up %(target)s at %(when)s"),
    "programme.create": N_("%(who)s created the programme %(target)s at %(when)s"),
    "programme.update": N_("%(who)s changed the programme %(target)s at %(when)s"),
    "programme.rotation": N_("%(who)s changed the rotation of %(target)s at %(when)s"),
    "programme.replan": N_("%(who)s re-planned %(target)s at %(when)s"),
    "programme.retire": N_("%(who)s retired sessions of %(target)s at %(when)s"),
    "session.cancel": N_("%(who)s cancelled %(target)s at %(when)s"),
    "session.move": N_("%(who)s moved %(target)s at %(when)s"),
    "meeting.start": N_("%(who)s called the sites into meeting %(target)s at %(when)s"),
    "meeting.end": N_("%(who)s ended meeting %(target)s at %(when)s"),
    "rotation.swap.request": N_("%(who)s asked to swap the duty of %(session)s at %(when)s"),
    "rotation.swap.accept": N_("%(who)s accepted the swap of %(session)s at %(when)s"),
    "rotation.swap.reject": N_("%(who)s rejected the swap of %(session)s at %(when)s"),
    "rotation.swap.withdraw": N_("%(who)s withdrew the swap of %(session)s at %(when)s"),
    "rotation.override.request": N_(
        "%(who)s asked another unit to take %(session)s at %(when)s"),
    "rotation.override.accept": N_(
        "%(who)s accepted another unit taking %(session)s at %(when)s"),
    "rotation.override.reject": N_(
        "%(who)s rejected another unit taking %(session)s at %(when)s"),
    "rotation.override.withdraw": N_(
        "%(who)s withdrew the request for another unit to take %(session)s at %(when)s"),
    "calendar_day.create": N_("%(who)s entered %(target)s in the holiday calendar at %(when)s"),
    "calendar_day.update": N_("%(who)s changed %(target)s in the holiday calendar at %(when)s"),
    "calendar_day.delete": N_(
        "%(who)s removed %(target)s from the holiday calendar at %(when)s"),
    "calendar_year.complete": N_("%(who)s marked the holidays of %(target)s complete "
                                 "at %(when)s"),
    "calendar_year.reopen": N_("%(who)s reopened the holidays of %(target)s at %(when)s"),
    "feed_token.issue": N_("%(who)s issued a calendar feed link at %(when)s"),
    "feed_token.revoke": N_("%(who)s revoked a calendar feed link at %(when)s"),
    "opinion.create": N_("%(who)s recorded opinion %(target)s at %(when)s"),
    "opinion.escalate": N_("Opinion %(target)s was escalated as overdue at %(when)s"),
    "opinion.accept": N_("%(who)s accepted opinion %(target)s at %(when)s"),
    "opinion.reassign": N_("%(who)s reassigned opinion %(target)s at %(when)s"),
    "opinion.update": N_("%(who)s reported progress on opinion %(target)s at %(when)s"),
    "opinion.resolve": N_("%(who)s resolved opinion %(target)s at %(when)s"),
    "opinion.confirm": N_("%(who)s confirmed opinion %(target)s at %(when)s"),
    "opinion.reopen": N_("%(who)s reopened opinion %(target)s at %(when)s"),
    "opinion.reject": N_("%(who)s rejected opinion %(target)s at %(when)s"),
    "opinion.terminate": N_("%(who)s closed opinion %(target)s for good at %(when)s"),
    "opinion.auto_close": N_("Opinion %(target)s closed by itself at %(when)s"),
    "user.create": N_("%(who)s created the account %(target)s at %(when)s"),
    "user.update": N_("%(who)s changed the account %(target)s at %(when)s"),
    "user.activate": N_("%(who)s activated the account %(target)s at %(when)s"),
    "user.deactivate": N_("%(who)s deactivated the account %(target)s at %(when)s"),
    "device_token.issue": N_("%(who)s issued a device token at %(when)s"),
    "device_token.revoke": N_("%(who)s revoked a device token at %(when)s"),
    "site.create": N_("%(who)s added the site %(target)s at %(when)s"),
    "site.update": N_("%(who)s changed the site %(target)s at %(when)s"),
    "site.activate": N_("%(who)s activated the site %(target)s at %(when)s"),
    "site.deactivate": N_("%(who)s deactivated the site %(target)s at %(when)s"),
    "department.create": N_("%(who)s added the department %(target)s at %(when)s"),
    "department.update": N_("%(who)s changed the department %(target)s at %(when)s"),
    "department.activate": N_("%(who)s activated the department %(target)s at %(when)s"),
    "department.deactivate": N_("%(who)s deactivated the department %(target)s at %(when)s"),
    "deputy.create": N_("%(who)s added the deputy %(target)s at %(when)s"),
    "deputy.update": N_("%(who)s changed the deputy %(target)s at %(when)s"),
    "deputy.activate": N_("%(who)s activated the deputy %(target)s at %(when)s"),
    "deputy.deactivate": N_("%(who)s deactivated the deputy %(target)s at %(when)s"),
    "question_category.create": N_("%(who)s added the question category %(target)s "
                                   "at %(when)s"),
    "question_category.update": N_("%(who)s changed the question category %(target)s "
                                   "at %(when)s"),
    "question_category.activate": N_("%(who)s activated the question category %(target)s "
                                     "at %(when)s"),
    "question_category.deactivate": N_("%(who)s deactivated the question category "
                                       "%(target)s at %(when)s"),
    "opinion_category.create": N_("%(who)s added the opinion category %(target)s "
                                  "at %(when)s"),
    "opinion_category.update": N_("%(who)s changed the opinion category %(target)s "
                                  "at %(when)s"),
    "opinion_category.activate": N_("%(who)s activated the opinion category %(target)s "
                                    "at %(when)s"),
    "opinion_category.deactivate": N_("%(who)s deactivated the opinion category "
                                      "%(target)s at %(when)s"),
    "street.setup": N_("The street was set up at %(when)s"),
    "demo.seed": N_("The demo street was created at %(when)s"),
}
GENERIC = N_("%(who)s made a change to %(target)s at %(when)s")
SYSTEM = N_("the system")
EMPTY = N_("(empty)")
ACCOUNT = N_("%(name)s (account %(login)s)")
SESSION = N_("%(programme)s on %(date)s")

TARGETS: dict[str, str] = {  # target type -> how an object without a name is called
    "question": N_("#%(id)s"), "opinion": N_("#%(id)s"), "question_follow_up": N_("#%(id)s"),
    "question_packet": N_("#%(id)s"), "rotation_change": N_("duty change #%(id)s"),
    "feed_token": N_("#%(id)s"), "device_token": N_("#%(id)s"),
    "calendar_year": N_("%(id)s"), "calendar_day": N_("%(id)s"), "meeting": N_("#%(id)s"),
}
LINKS: dict[str, str] = {
    "question": "/legal/questions/{id}", "opinion": "/opinions/{id}",
    "programme": "/schedule/programmes/{id}", "programme_session": "/schedule/sessions/{id}",
    "rotation_change": "/schedule/changes", "site": "/admin/sites/{id}",
    "department": "/admin/departments/{id}", "deputy": "/admin/deputies/{id}",
    "user": "/admin/users/{id}", "question_category": "/legal/categories",
    "opinion_category": "/opinions/categories", "calendar_day": "/schedule/workdays",
    "calendar_year": "/schedule/workdays", "meeting": "/meetings/{id}",
}

FIELD_LABELS: dict[str, str] = {
    "status": N_("Status"), "session_id": N_("Session"), "session": N_("Session"),
    "site_id": N_("Site"), "department_id": N_("Department"), "deputy_id": N_("Deputy"),
    "category_id": N_("Category"), "position": N_("Position"), "reason": N_("Reason"),
    "name": N_("Name"), "display_name": N_("Display name"), "username": N_("User name"),
    "role": N_("Role"), "active": N_("Active"), "code": N_("Code"), "kind": N_("Kind"),
    "title": N_("Title"), "is_legal": N_("Takes part in the legal consultation day"),
    "room": N_("Video room"), "rrule": N_("Repeats"), "start_date": N_("First date"),
    "end_date": N_("Last date"), "start_time": N_("Start time"),
    "duration_minutes": N_("Duration in minutes"), "timezone": N_("Time zone"),
    "holiday_policy": N_("On a holiday or weekend"), "cutoff_minutes": N_("Cut-off minutes"),
    "unit_kind": N_("Who takes turns"), "weeks_ahead": N_("Weeks planned ahead"),
    "units": N_("Rotation"), "next_unit": N_("Next on duty"), "start": N_("Start"),
    "end": N_("End"), "source_notice": N_("Notice"), "version": N_("Version"),
    "user": N_("Account"), "label": N_("Label"), "scope": N_("Scope"),
    "target": N_("Target"), "question_id": N_("Question"), "carried_from_id": N_("Carried from"),
    "answering_at": N_("Answering since"), "escalated_at": N_("Escalated at"),
    "sites": N_("Sites"), "admin": N_("Administrator"), "lost": N_("Lost"),
    "created": N_("Created"), "sort_order": N_("Order"), "password_hash": N_("Password"),
}
VALUE_LABELS: dict[str, str] = {
    "planned": N_("planned"), "cancelled": N_("cancelled"), "skipped": N_("skipped"),
    "pending": N_("pending"), "accepted": N_("accepted"), "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"), "superseded": N_("superseded"), "queued": N_("queued"),
    "merged": N_("merged"), "answered": N_("answered"), "admin": N_("Administrator"),
    "host": N_("Meeting host"), "site": N_("Site"), "officer": N_("Legal officer"),
    "deputy": N_("Deputy"), "department": N_("Legal departments"),
}
_SESSION_FIELDS = frozenset({"session_id", "session"})
_ID_FIELDS = {"site_id": "site", "department_id": "department", "deputy_id": "deputy",
              "next_unit": "department", "units": "department"}
_PARAM = re.compile(r"%\((\w+)\)s")
_ZH_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Part:
    text: str
    href: str | None = None


@dataclass(frozen=True)
class ChangeLine:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditLine:
    id: int
    action: str
    parts: list[Part]
    changes: list[ChangeLine]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)


@dataclass
class Names:
    """Names of the objects the entries mention, loaded in one go."""

    users: dict[int, tuple[str, str]]  # id -> (display name, login)
    sites: dict[int, str]
    departments: dict[int, str]
    deputies: dict[int, str]
    programmes: dict[int, str]
    sessions: dict[int, tuple[str, date]]  # id -> (programme name, local date)
    question_categories: dict[int, str]
    opinion_categories: dict[int, str]
    change_sessions: dict[int, int]  # rotation change id -> its session id

    def of(self, kind: str, ident: int) -> str | None:
        table: Mapping[int, str] = {
            "site": self.sites, "department": self.departments, "deputy": self.deputies,
            "programme": self.programmes, "question_category": self.question_categories,
            "opinion_category": self.opinion_categories,
        }.get(kind, {})
        if kind == "user" and ident in self.users:
            return self.users[ident][0]
        return table.get(ident)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _wanted(entries: Sequence[AuditEntry]) -> dict[str, set[int]]:
    ids: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        if entry.actor_id is not None:
            ids["user"].add(entry.actor_id)
        target = _int(entry.target_id)
        if target is not None:
            ids[entry.target_type].add(target)
        for key, value in (entry.changes or {}).items():
            values = value if isinstance(value, list) else [value]
            flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
            kind = ("programme_session" if key in _SESSION_FIELDS else
                    _category_kind(entry) if key == "category_id" else _ID_FIELDS.get(key))
            if kind is not None:
                ids[kind].update(i for i in map(_int, flat) if i is not None)
    return ids


def _category_kind(entry: AuditEntry) -> str:
    return "opinion_category" if entry.target_type.startswith("opinion") \
        else "question_category"


async def load_names(db: AsyncSession, entries: Sequence[AuditEntry], *, tz: ZoneInfo
                     ) -> Names:
    ids = _wanted(entries)

    async def named(model: type[Site] | type[Department] | type[Deputy] | type[Programme]
                    | type[QuestionCategory] | type[OpinionCategory], kind: str
                    ) -> dict[int, str]:
        if not ids.get(kind):
            return {}
        rows = await db.execute(select(model.id, model.name).where(model.id.in_(ids[kind])))
        return dict(rows.all())

    change_sessions: dict[int, int] = {}
    if ids.get("rotation_change"):
        rows = await db.execute(select(RotationChange.id, RotationChange.session_id)
                                .where(RotationChange.id.in_(ids["rotation_change"])))
        change_sessions = dict(rows.all())
        ids["programme_session"].update(change_sessions.values())
    users: dict[int, tuple[str, str]] = {}
    if ids.get("user"):
        people = await db.execute(select(User.id, User.display_name, User.username)
                                  .where(User.id.in_(ids["user"])))
        users = {i: (d or u, u) for i, d, u in people.all()}
    sessions: dict[int, tuple[str, date]] = {}
    if ids.get("programme_session"):
        found = await db.execute(
            select(ProgrammeSession.id, Programme.name, ProgrammeSession.starts_at)
            .join(Programme, Programme.id == ProgrammeSession.programme_id)
            .where(ProgrammeSession.id.in_(ids["programme_session"])))
        sessions = {i: (n, s.astimezone(tz).date()) for i, n, s in found.all()}
    return Names(
        users=users, sites=await named(Site, "site"),
        departments=await named(Department, "department"),
        deputies=await named(Deputy, "deputy"), programmes=await named(Programme, "programme"),
        sessions=sessions,
        question_categories=await named(QuestionCategory, "question_category"),
        opinion_categories=await named(OpinionCategory, "opinion_category"),
        change_sessions=change_sessions)


def local_day(day: date, locale: str) -> str:
    """12月4日（周四）, Thu 4 Dec 2026."""
    if locale.startswith("zh"):
        return f"{day.month}月{day.day}日（周{_ZH_WEEKDAYS[day.weekday()]}）"
    return f"{day:%a} {day.day} {day:%b %Y}"


def local_time(at: datetime, tz: ZoneInfo, locale: str) -> str:
    """12月3日（周四）09:30, Thu 3 Dec 2026 09:30: the pages' one date style (web/render.py)."""
    local = at.astimezone(tz) if at.tzinfo else at.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    if locale.startswith("zh"):
        return f"{local_day(local.date(), locale)}{local:%H:%M}"
    return f"{local_day(local.date(), locale)} {local:%H:%M}"


class AuditWriter:
    """Turns entries into sentences for one reader (language and time zone)."""

    def __init__(self, names: Names, gettext: Gettext, *, locale: str, tz: ZoneInfo,
                 rooms: Mapping[str, str] | None = None) -> None:
        self.names, self._, self.locale, self.tz = names, gettext, locale, tz
        self.rooms = rooms or {}  # room code -> msgid of its name

    def who(self, actor_id: int | None) -> Part:
        if actor_id is None:
            return Part(self._(SYSTEM))
        name, login = self.names.users.get(actor_id, ("", ""))
        if not name:
            return Part(f"#{actor_id}")
        text = name if name == login else self._(ACCOUNT) % {"name": name, "login": login}
        return Part(text, f"/admin/users/{actor_id}")

    def session(self, session_id: int | None) -> Part:
        if session_id is None or session_id not in self.names.sessions:
            return Part(self._(EMPTY) if session_id is None else f"#{session_id}")
        programme, day = self.names.sessions[session_id]
        return Part(self._(SESSION) % {"programme": programme,
                                       "date": local_day(day, self.locale)},
                    f"/schedule/sessions/{session_id}")

    def target(self, entry: AuditEntry) -> Part:
        ident = _int(entry.target_id)
        href = LINKS.get(entry.target_type, "").format(id=entry.target_id) or None
        if entry.target_type == "programme_session" and ident is not None:
            return self.session(ident)
        name = self.names.of(entry.target_type, ident) if ident is not None else None
        if name is None:
            name = self._(TARGETS.get(entry.target_type, "#%(id)s")) % {"id": entry.target_id}
        return Part(name, href)

    def value(self, key: str, value: object, entry: AuditEntry) -> str:
        if value is None or value == "" or value == []:
            return self._(EMPTY)
        if isinstance(value, bool):
            return self._(N_("yes")) if value else self._(N_("no"))
        if isinstance(value, list):
            return "、".join(self.value(key, v, entry) for v in value) \
                if self.locale.startswith("zh") \
                else ", ".join(self.value(key, v, entry) for v in value)
        ident = _int(value) if not isinstance(value, str) or key != "name" else None
        if ident is not None and key in _SESSION_FIELDS:
            return self.session(ident).text
        if ident is not None and key == "category_id":
            return self.names.of(_category_kind(entry), ident) or f"#{ident}"
        if ident is not None and key in _ID_FIELDS:
            return self.names.of(_ID_FIELDS[key], ident) or f"#{ident}"
        if key == "room" and isinstance(value, str) and value in self.rooms:
            return self._(self.rooms[value])
        if isinstance(value, str) and value in VALUE_LABELS:
            return self._(VALUE_LABELS[value])
        return str(value)

    def changes(self, entry: AuditEntry) -> list[ChangeLine]:
        out = []
        for key, pair in sorted((entry.changes or {}).items()):
            old, new = (pair if isinstance(pair, list) and len(pair) == 2 else (None, pair))
            label = self._(FIELD_LABELS[key]) if key in FIELD_LABELS \
                else key.replace("_", " ")
            out.append(ChangeLine(label, self.value(key, old, entry),
                                  self.value(key, new, entry)))
        return out

    def line(self, entry: AuditEntry) -> AuditLine:
        template = self._(SENTENCES.get(entry.action, GENERIC))
        changes = entry.changes or {}
        session_value = changes.get("session_id", changes.get("session"))
        session_id = _int(session_value[-1]) if isinstance(session_value, list) \
            and session_value else None
        if entry.target_type == "rotation_change" and session_id is None:
            session_id = self.names.change_sessions.get(_int(entry.target_id) or 0)
        params = {"who": self.who(entry.actor_id),
                  "when": Part(local_time(entry.at, self.tz, self.locale)),
                  "target": self.target(entry), "session": self.session(session_id)}
        parts: list[Part] = []
        last = 0
        for match in _PARAM.finditer(template):
            if match.start() > last:
                parts.append(Part(template[last:match.start()]))
            parts.append(params.get(match.group(1), Part(match.group(0))))
            last = match.end()
        if last < len(template):
            parts.append(Part(template[last:]))
        return AuditLine(entry.id, entry.action, parts, self.changes(entry))

    def lines(self, entries: Iterable[AuditEntry]) -> list[AuditLine]:
        return [self.line(e) for e in entries]
