"""ICE servers for browsers and for the server's own peers.

TURN uses coturn's REST API scheme (``use-auth-secret``): the username is
``<expiry as unix time>:<user key>`` and the password is
base64(HMAC-SHA1(shared secret, username)). Whoever holds these may relay
through TURN until the expiry; the shared secret itself never leaves the
server.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.core.config import TurnSettings


@dataclass(frozen=True, kw_only=True, slots=True)
class TurnCredential:
    username: str
    credential: str


@dataclass(frozen=True, kw_only=True, slots=True)
class IceServer:
    """One entry of ``RTCConfiguration.iceServers``."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            data["username"] = self.username
            data["credential"] = self.credential
        return data


def turn_credential(secret: str, user: str, *, expires_at: datetime) -> TurnCredential:
    """Short-lived TURN credentials for ``user``, valid until ``expires_at``."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone")
    username = f"{int(expires_at.timestamp())}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), "sha1").digest()
    return TurnCredential(username=username, credential=base64.b64encode(digest).decode("ascii"))


def ice_servers(
    turn: TurnSettings, *, user: str, now: datetime, ttl_s: int | None = None
) -> list[IceServer]:
    """STUN servers as they are; TURN servers with credentials for ``user``.

    TURN URLs without a shared secret are left out: coturn would refuse
    every allocation, and a browser waits for that before giving up.
    """
    servers: list[IceServer] = []
    if turn.stun_urls:
        servers.append(IceServer(urls=turn.stun_urls))
    if turn.urls and turn.shared_secret:
        lifetime = turn.credential_ttl_s if ttl_s is None else ttl_s
        cred = turn_credential(
            turn.shared_secret, user, expires_at=now + timedelta(seconds=lifetime)
        )
        servers.append(
            IceServer(urls=turn.urls, username=cred.username, credential=cred.credential)
        )
    return servers
