"""Chinese first, English second: gettext catalogs loaded from the .po files we ship."""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
LOCALE_COOKIE = "yizhan_lang"


@dataclass(frozen=True)
class Catalogs:
    by_locale: dict[str, gettext.NullTranslations]

    def get(self, locale: str) -> gettext.NullTranslations:
        return self.by_locale.get(locale) or self.by_locale[DEFAULT_LOCALE]


def _load(locale: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def load_catalogs() -> Catalogs:
    """Compile the shipped .po files in memory: no build step between a checkout and a run."""
    return Catalogs({locale: _load(locale) for locale in LOCALES})


def negotiate(*choices: str | None) -> str:
    """The first valid explicit choice (cookie, then the user's saved one), else Chinese.

    The browser's Accept-Language is deliberately ignored: the meeting-room PCs of a
    street office often run an English Windows, and the street works in Chinese.
    """
    for choice in choices:
        if choice in LOCALES:
            return choice
    return DEFAULT_LOCALE
