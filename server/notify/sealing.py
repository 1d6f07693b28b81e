"""Channel secrets at rest: Fernet with a key derived from YIZHAN_SECRET_KEY (HKDF)."""

from __future__ import annotations

import base64
import json
import logging

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("yizhan.notices")


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"yizhan notice channel secrets").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, secrets: dict[str, str]) -> str | None:
    if not secrets:
        return None
    return _fernet(secret_key).encrypt(json.dumps(secrets).encode()).decode()


def unseal(secret_key: str, sealed: str | None) -> dict[str, str]:
    """The secrets, or {} when they were sealed under another key (then re-enter them)."""
    if not sealed:
        return {}
    try:
        data = json.loads(_fernet(secret_key).decrypt(sealed.encode()))
    except (InvalidToken, ValueError):
        log.warning("channel secrets cannot be unsealed: YIZHAN_SECRET_KEY changed?")
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def hint(value: str) -> str:
    """What a page may show of a secret: its last 4 characters, never the whole of it."""
    if not value:
        return ""
    return "••••" + (value[-4:] if len(value) > 8 else "")
