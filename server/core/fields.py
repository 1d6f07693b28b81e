"""Small helpers that turn submitted form fields into clean values or field errors."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import TypeVar

from server.core.errors import N_, ValidationFailed

E = TypeVar("E", bound=enum.Enum)

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class FieldReader:
    """Reads fields from a submitted mapping, collecting every error before raising."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self._data = data
        self.errors: dict[str, str] = {}

    def text(self, name: str, *, max_len: int, required: bool = True) -> str:
        value = str(self._data.get(name, "")).strip()
        if required and not value:
            self.errors[name] = N_("This field is required.")
        elif len(value) > max_len:
            self.errors[name] = N_("Too long.")
        return value

    def code(self, name: str) -> str:
        value = self.text(name, max_len=32)
        if value and not CODE_RE.match(value):
            self.errors.setdefault(
                name, N_("Use lower-case letters, digits, '-' and '_' (at most 32).")
            )
        return value

    def choice(self, name: str, enum_cls: type[E]) -> E | None:
        raw = str(self._data.get(name, "")).strip()
        try:
            return enum_cls(raw)
        except ValueError:
            self.errors[name] = N_("Choose one of the options.")
            return None

    def integer(self, name: str, *, minimum: int = 0, maximum: int = 10_000) -> int:
        raw = str(self._data.get(name, "")).strip()
        try:
            value = int(raw)
        except ValueError:
            self.errors[name] = N_("Enter a whole number.")
            return 0
        if not minimum <= value <= maximum:
            self.errors[name] = N_("Out of range.")
        return value

    def optional_id(self, name: str) -> int | None:
        raw = str(self._data.get(name, "")).strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            self.errors[name] = N_("Choose one of the options.")
            return None

    def flag(self, name: str) -> bool:
        return str(self._data.get(name, "")).lower() in {"1", "on", "true", "yes"}

    def resident(self, *, max_name: int = 50, max_contact: int = 100) -> tuple[str | None, str]:
        """The resident's name (None when anonymous) and contact; one of name/anonymous."""
        anonymous = self.flag("anonymous")
        name = self.text("resident_name", max_len=max_name, required=False)
        contact = self.text("contact", max_len=max_contact, required=False)
        if not anonymous and not name:
            self.fail("resident_name", N_("Give the resident's name or tick 'anonymous'."))
        return (None if anonymous else name), contact

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed("Please correct the marked fields.", field_errors=self.errors)
