"""The receipt code a resident keeps: short, unguessable, easy to read aloud and type.

31 symbols (digits 2-9 and the letters without I, L, O: no 0/O or 1/I/L to confuse), 10 of
them: 31**10 ≈ 8.2e14 codes, about 49.5 bits, drawn with `secrets`. Shown in two groups of
five ("ABCDE-FGH23"); typed in any case, with or without spaces and dashes.
"""

from __future__ import annotations

import math
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10
BITS = LENGTH * math.log2(len(ALPHABET))


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(raw: str) -> str | None:
    """The code as stored, or None when it cannot be one (so nothing is looked up)."""
    code = "".join(raw.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"
