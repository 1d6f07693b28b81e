"""Keep the catalogs in step with the code.

    python tools/i18n.py update            extract msgids, update both catalogs, fill English
    python tools/i18n.py fill zh_CN F.json merge translations {msgid: msgstr} from a file
    python tools/i18n.py check             exit 1 when a msgid lacks a translation

Messages are English msgids; domain errors are extracted from their constructors, so
`raise NotFound("Not found.")` needs no marker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "web" / "locale"
LOCALES = ("zh_CN", "en")
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "N_": None,
    "DomainError": None, "ValidationFailed": None, "NotFound": None, "Forbidden": None,
    "Conflict": None, "PayloadTooLarge": None, "NotAuthenticated": None,
    "DomainErrorResponse": (3,),
    "fail": (2,),  # FieldReader.fail(field, message)
}
METHODS = [
    ("server/**.py", "python"), ("web/**.py", "python"), ("scheduling/**.py", "python"),
    ("web/templates/**.html", "jinja2"),
]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extract() -> Catalog:
    catalog = Catalog(project="yizhan")
    found: Iterable[tuple[str, int, str | tuple[str, ...], list[str], str | None]] = (
        extract_from_dir(str(ROOT), METHODS, OPTIONS, KEYWORDS))
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments,
                    context=context)
    return catalog


def _path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    with _path(locale).open("rb") as fh:
        return read_po(fh, locale=locale)


def save(locale: str, catalog: Catalog) -> None:
    _path(locale).parent.mkdir(parents=True, exist_ok=True)
    with _path(locale).open("wb") as fh:
        write_po(fh, catalog, width=100, no_location=True, omit_header=False)


def update() -> None:
    template = extract()
    for locale in LOCALES:
        catalog = load(locale) if _path(locale).exists() else Catalog(locale=locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if locale == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id
        save(locale, catalog)


def missing(locale: str) -> list[str]:
    catalog = load(locale)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    have = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    return sorted(k for k in wanted if k not in have or not have[k].string
                  or "fuzzy" in have[k].flags)


def fill(locale: str, translations: dict[str, str]) -> None:
    catalog = load(locale)
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            message.string = translations[key]
            message.flags.discard("fuzzy")
    save(locale, catalog)


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update()
    elif argv[:1] == ["fill"] and len(argv) == 3:
        fill(argv[1], json.loads(Path(argv[2]).read_text()))
    elif argv[:1] != ["check"]:
        print(__doc__)
        return 2
    problems = {locale: missing(locale) for locale in LOCALES}
    for locale, keys in problems.items():
        for key in keys:
            print(f"{locale}: untranslated: {key}")
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
