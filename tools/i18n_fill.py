"""Merge translations into the catalogs: `python tools/i18n_fill.py zh_CN file.json`.

Extract and update first (`make messages`), then fill the new msgids from a JSON object
{msgid: msgstr}. The English catalog is filled with the msgids themselves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "web" / "locale"


def fill(locale: str, translations: dict[str, str]) -> list[str]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if locale == "en":
            message.string = message.id if isinstance(message.id, str) else tuple(message.id)
        elif key in translations:
            message.string = translations[key]
        if not message.string:
            missing.append(key)
        message.flags.discard("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, no_location=True)
    return missing


if __name__ == "__main__":
    locale = sys.argv[1]
    data = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else {}
    left = fill(locale, data)
    if left:
        print("untranslated:", *left, sep="\n  ")
        raise SystemExit(1)
