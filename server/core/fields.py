"""What every edge reads from a person: bounded ids, bounded days, normalised text.

Forms, query strings, path segments and JSON bodies all go through these, so a value
that the database cannot hold (an id past 2**31-1, the year 9999) or text that would
store garbage never gets past the edge.

The text rule (`clean_text`), applied to everything a person types:

1. Unicode NFC, so the same characters compare and count the same;
2. line breaks become ``\n`` (``\r\n`` and ``\r`` included);
3. ANSI escape sequences (``ESC [ ... letter``) are removed whole;
4. every other control character (C0 but tab and line feed, DEL, C1), lone surrogates and
   the bidirectional embedding, override and isolate marks (U+202A-U+202E,
   U+2066-U+2069) are removed; a NUL no longer cuts the text, it is dropped;
5. a single-line field turns tabs and line breaks into spaces; then both ends are stripped.

Length limits count characters after this normalisation.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TypeVar

from server.core.errors import N_, ValidationFailed

E = TypeVar("E", bound=enum.Enum)

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

# Ids are INTEGER columns: 32-bit in PostgreSQL (64-bit in SQLite, which never gets near).
# A bigger value reaching a query is an overflow on PostgreSQL, a 500, not "not found".
MAX_ID = 2**31 - 1
# Days anybody may schedule, look up or enter: well past any holiday table at both ends.
MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(2099, 12, 31)

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_DROPPED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_text(raw: str, *, multiline: bool = False) -> str:
    """``raw`` under the text rule of this module's docstring."""
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = _DROPPED.sub("", _ANSI.sub("", text))
    if not multiline:
        text = text.replace("\t", " ").replace("\n", " ")
    return text.strip()


def parse_id(raw: object) -> int | None:
    """A database id (1 .. 2**31-1) from a path, query, form or JSON value; else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() \
            and len(raw.strip()) <= 19:
        value = int(raw.strip())
    else:
        return None
    return value if 1 <= value <= MAX_ID else None


def parse_day(raw: object) -> date | None:
    """An ISO day (YYYY-MM-DD) between MIN_DAY and MAX_DAY; else None."""
    if not isinstance(raw, str):
        return None
    try:
        day = date.fromisoformat(raw.strip()[:10]) if len(raw.strip()) == 10 else None
    except ValueError:
        return None
    return day if day is not None and MIN_DAY <= day <= MAX_DAY else None


def parse_moment(raw: object) -> datetime | None:
    """An ISO date and time with a zone offset (``Z`` for UTC), its day between MIN_DAY and
    MAX_DAY both as written and in UTC, as an aware UTC datetime; else None.

    Bounded before any conversion: ``0001-01-01T00:00:00+05:00`` is before year 1 in UTC,
    and turning it into UTC would overflow.
    """
    if not isinstance(raw, str) or len(raw.strip()) > 40:
        return None
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if value.utcoffset() is None or not MIN_DAY <= value.date() <= MAX_DAY:
        return None
    moment = value.astimezone(UTC)  # within a day of the bounds: far from an overflow
    return moment if MIN_DAY <= moment.date() <= MAX_DAY else None


class FieldReader:
    """Reads fields from a submitted mapping, collecting every error before raising."""

    def __init__(self, data: Mapping[str, object]) -> None:
        self._data = data
        self.errors: dict[str, str] = {}

    def _raw(self, name: str) -> str:
        value = self._data.get(name, "")
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.errors.setdefault(name, N_("Not a valid value."))
            return ""
        return str(value)

    def text(self, name: str, *, max_len: int, required: bool = True,
             multiline: bool = True) -> str:
        value = clean_text(self._raw(name), multiline=multiline)
        if required and not value:
            self.errors.setdefault(name, N_("This field is required."))
        elif len(value) > max_len:
            self.errors.setdefault(name, N_("Too long."))
        return value

    def line(self, name: str, *, max_len: int, required: bool = True) -> str:
        """Single-line text: a name, a title, a phone number."""
        return self.text(name, max_len=max_len, required=required, multiline=False)

    def code(self, name: str) -> str:
        value = self.line(name, max_len=32)
        if value and not CODE_RE.match(value):
            self.errors.setdefault(
                name, N_("Use lower-case letters, digits, '-' and '_' (at most 32).")
            )
        return value

    def choice(self, name: str, enum_cls: type[E]) -> E | None:
        raw = self._raw(name).strip()
        try:
            return enum_cls(raw)
        except ValueError:
            self.errors[name] = N_("Choose one of the options.")
            return None

    def integer(self, name: str, *, minimum: int = 0, maximum: int = 10_000) -> int:
        raw = self._raw(name).strip()
        try:
            value = int(raw) if len(raw) <= 20 else minimum - 1
        except ValueError:
            self.errors[name] = N_("Enter a whole number.")
            return 0
        if not minimum <= value <= maximum:
            self.errors[name] = N_("Out of range.")
        return value

    def optional_id(self, name: str) -> int | None:
        value = self._data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        ident = parse_id(value)
        if ident is None:
            self.errors.setdefault(name, N_("Choose one of the options."))
        return ident

    def id(self, name: str) -> int:
        """A required id; 0 (never a row) with a field error when missing or out of range."""
        ident = self.optional_id(name)
        if ident is None:
            self.errors.setdefault(name, N_("Choose one of the options."))
            return 0
        return ident

    def optional_day(self, name: str) -> date | None:
        raw = self._raw(name).strip()
        if not raw:
            return None
        day = parse_day(raw)
        if day is None:
            self.errors.setdefault(name, N_("Enter a date between 1970-01-01 and 2099-12-31."))
        return day

    def day(self, name: str) -> date:
        """A required day; MIN_DAY with a field error when missing or out of range."""
        day = self.optional_day(name)
        if day is None:
            self.errors.setdefault(name, N_("This field is required."))
            return MIN_DAY
        return day

    def flag(self, name: str) -> bool:
        value = self._data.get(name, "")
        if isinstance(value, bool):
            return value
        return str(value).lower() in {"1", "on", "true", "yes"}

    def resident(self, *, max_name: int = 50, max_contact: int = 100) -> tuple[str | None, str]:
        """The resident's name (None when anonymous) and contact; one of name/anonymous."""
        anonymous = self.flag("anonymous")
        name = self.line("resident_name", max_len=max_name, required=False)
        contact = self.line("contact", max_len=max_contact, required=False)
        if not anonymous and not name:
            self.fail("resident_name", N_("Give the resident's name or tick 'anonymous'."))
        return (None if anonymous else name), contact

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed("Please correct the marked fields.", field_errors=self.errors)


def spreadsheet_cell(value: str) -> str:
    """Text someone typed, made safe for a CSV or XLSX cell: a spreadsheet program must
    not run it as a formula (OWASP "CSV injection"), so a leading ``= + - @``, tab or
    carriage return gets a quote in front."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

