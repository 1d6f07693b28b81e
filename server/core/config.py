"""Settings read from the environment, with defaults that run a street office on one PC."""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from scheduling.jobs import RoomWindow

DEFAULT_VAR_DIR = Path("var")


class ConfigError(ValueError):
    """A setting in the environment cannot be used."""


@dataclass(frozen=True, kw_only=True)
class TurnSettings:
    """ICE servers handed to browsers; for coturn the secret stays on the server."""

    urls: tuple[str, ...] = ()
    shared_secret: str | None = None
    credential_ttl_s: int = 3600
    stun_urls: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class NoticeSettings:
    """Notices beyond the inbox (docs/notices.md): links, e-mail, SMS and the sender."""

    public_url: str = "http://127.0.0.1:8080"  # absolute links in robots, e-mail and SMS
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "yizhan@localhost"
    smtp_tls: str = "starttls"  # starttls | tls | none (a local relay)
    sms_access_key_id: str | None = None
    sms_access_key_secret: str | None = None
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    quiet_hours: tuple[int, int] = (21 * 60, 8 * 60)  # minutes of the street's day: no SMS
    run_sender: bool = True
    poll_s: float = 5.0
    timeout_s: float = 10.0  # one provider call, at most
    max_attempts: int = 8  # then the row is dead-lettered


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
    """Several nodes on one Redis (docs/architecture.md, "A cluster of nodes")."""

    redis_url: str
    secret: str  # HMAC key of the node-to-node bridges; the same on every node
    node_id: str  # unique in the cluster; the host name by default
    node_url: str  # where the other nodes reach this one's bridge endpoint
    heartbeat_s: float = 2.0
    dead_after_s: float = 6.0  # a node silent this long is dead and its rooms move
    redis_timeout_s: float = 1.0  # every Redis call, at most
    drain_timeout_s: float = 30.0  # SIGTERM: rooms may finish this long, then move
    takes_rooms: bool = True  # False: an edge-only node (pages and bridges, no rooms)


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str
    var_dir: Path = DEFAULT_VAR_DIR
    turn: TurnSettings = field(default_factory=TurnSettings)
    timezone: str = "Asia/Shanghai"
    max_upload_bytes: int = 10 * 1024 * 1024
    cookie_secure: bool = False
    run_scheduler: bool = True
    webhook_url: str | None = None
    max_rooms: int = 8  # live video rooms at once
    max_participants: int = 24  # per room: 14 sites, the host, speakers and observers
    reconnect_hold_s: float = 60.0  # a dropped participant keeps its place this long
    cpu_budget: float = 0.8  # share of the cores; above it new participants are refused
    frame_budget: float = 0.7  # share of a frame interval a room's wall may take
    # A process per room (rooms.ProcessRoomRegistry); False runs every room in this one.
    room_workers: bool = True
    media_ports: tuple[int, int] | None = (40000, 40999)  # UDP ports of the room workers
    media_addresses: tuple[str, ...] = ()  # ICE host candidates on these only; () all
    tls_cert: Path | None = None  # serve HTTPS with this certificate chain (PEM) ...
    tls_key: Path | None = None  # ... and this private key
    # /metrics answers signed-in administrators, and scrapers that send this bearer token.
    metrics_token: str | None = None
    # Reverse proxies in front that append the client's address to X-Forwarded-For (the
    # Caddy of docker-compose.yml: 1). 0 trusts the socket's address and ignores the header.
    proxy_hops: int = 0
    notices: NoticeSettings = field(default_factory=lambda: NoticeSettings())
    # How often a site's standby screen asks whether it is called (it backs off when the
    # server does not answer).
    standby_poll_s: float = 5.0
    # A session's room opens this many minutes before its start and closes this many
    # after its end (the scheduler's room-open and room-close jobs).
    room_open_before_min: int = 15
    room_close_grace_min: int = 15

    @property
    def room_window(self) -> RoomWindow:
        return RoomWindow(open_before=timedelta(minutes=self.room_open_before_min),
                          close_grace=timedelta(minutes=self.room_close_grace_min))
    # The address this node's ICE candidates carry (its public or LAN media address).
    media_address: str | None = None
    cluster: ClusterSettings | None = None  # None: one node, no Redis

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

    @property
    def recordings_dir(self) -> Path:
        return self.var_dir / "recordings"

    @property
    def uploads_dir(self) -> Path:
        return self.var_dir / "uploads"


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _positive(env: dict[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _minutes(env: dict[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if not 0 <= value <= 24 * 60:
        raise ConfigError(f"{name} must be 0 to 1440 minutes, got {value}")
    return value


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _share(env: dict[str, str], name: str, default: float) -> float:
    """A share such as ``0.8`` (a percentage such as ``80%`` is accepted too)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a share such as 0.8 or 80%, got {raw!r}") from exc
    if not 0 < value <= 1:
        raise ConfigError(f"{name} must be above 0 and at most 1 (100%), got {raw!r}")
    return value


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _poll(env: dict[str, str], name: str, default: float) -> float:
    value = _seconds(env, name, default)
    if not 0.1 <= value <= 300:
        raise ConfigError(f"{name} must be between 0.1 and 300 seconds, got {value!r}")
    return value


def _port_range(
    env: dict[str, str], name: str, default: tuple[int, int]
) -> tuple[int, int] | None:
    """``40000-40999``; ``any`` lets the system choose (ephemeral ports)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw.lower() == "any":
        return None
    first, _, last = raw.partition("-")
    try:
        low, high = int(first), int(last)
    except ValueError:
        raise ConfigError(f"{name} must be FIRST-LAST (e.g. 40000-40999) or any, "
                          f"got {raw!r}") from None
    if not 1024 <= low <= high <= 65535:
        raise ConfigError(f"{name} must be a range within 1024-65535, got {raw!r}")
    return low, high


def _tls_files(env: dict[str, str]) -> tuple[Path | None, Path | None]:
    cert = (env.get("YIZHAN_TLS_CERT") or "").strip()
    key = (env.get("YIZHAN_TLS_KEY") or "").strip()
    if bool(cert) != bool(key):
        raise ConfigError("set both YIZHAN_TLS_CERT and YIZHAN_TLS_KEY, or neither")
    if not cert:
        return None, None
    for name, value in (("YIZHAN_TLS_CERT", cert), ("YIZHAN_TLS_KEY", key)):
        if not Path(value).is_file():
            raise ConfigError(f"{name}: no such file {value!r}")
    return Path(cert), Path(key)


def _url(env: dict[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw!r}")
    return raw


def _quiet_hours(env: dict[str, str]) -> tuple[int, int]:
    raw = (env.get("YIZHAN_QUIET_HOURS") or "21:00-08:00").strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", raw)
    if raw.lower() == "none":
        return (0, 0)
    if match is None:
        raise ConfigError(f"YIZHAN_QUIET_HOURS must look like 21:00-08:00, got {raw!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ConfigError(f"YIZHAN_QUIET_HOURS out of range: {raw!r}")
    return (h1 * 60 + m1, h2 * 60 + m2)


def notice_settings_from_env(env: dict[str, str]) -> NoticeSettings:
    tls = (env.get("YIZHAN_SMTP_TLS") or "starttls").strip().lower()
    if tls not in {"starttls", "tls", "none"}:
        raise ConfigError(f"YIZHAN_SMTP_TLS must be starttls, tls or none, got {tls!r}")
    port = _int(env, "YIZHAN_SMTP_PORT", 465 if tls == "tls" else 587)
    if not 0 < port < 65536:
        raise ConfigError(f"YIZHAN_SMTP_PORT out of range: {port}")
    return NoticeSettings(
        public_url=(_url(env, "YIZHAN_PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/"),
        smtp_host=env.get("YIZHAN_SMTP_HOST") or None,
        smtp_port=port,
        smtp_user=env.get("YIZHAN_SMTP_USER") or None,
        smtp_password=env.get("YIZHAN_SMTP_PASSWORD") or None,
        smtp_from=env.get("YIZHAN_SMTP_FROM") or "yizhan@localhost",
        smtp_tls=tls,
        sms_access_key_id=env.get("YIZHAN_SMS_ACCESS_KEY_ID") or None,
        sms_access_key_secret=env.get("YIZHAN_SMS_ACCESS_KEY_SECRET") or None,
        sms_endpoint=_url(env, "YIZHAN_SMS_ENDPOINT") or "https://dysmsapi.aliyuncs.com/",
        quiet_hours=_quiet_hours(env),
        run_sender=_bool(env, "YIZHAN_NOTICE_SENDER", True),
        poll_s=_seconds(env, "YIZHAN_NOTICE_POLL", 5.0),
        timeout_s=_seconds(env, "YIZHAN_NOTICE_TIMEOUT", 10.0),
        max_attempts=_positive(env, "YIZHAN_NOTICE_MAX_ATTEMPTS", 8),
    )


def load_secret_key(var_dir: Path) -> str:
    """Generate the key on first run and keep it, so sessions survive a restart."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("YIZHAN_VAR_DIR") or DEFAULT_VAR_DIR)
    database_url = env.get("YIZHAN_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{(var_dir / 'yizhan.db').as_posix()}"
    )
    secret_key = env.get("YIZHAN_SECRET_KEY") or load_secret_key(var_dir)
    if len(secret_key) < 32:
        raise ConfigError("YIZHAN_SECRET_KEY must be at least 32 characters")
    port = _int(env, "YIZHAN_PORT", 8080)
    if not 0 < port < 65536:
        raise ConfigError(f"YIZHAN_PORT out of range: {port}")
    turn = TurnSettings(
        urls=_split(env.get("YIZHAN_TURN_URLS")),
        shared_secret=env.get("YIZHAN_TURN_SECRET") or None,
        credential_ttl_s=_int(env, "YIZHAN_TURN_TTL", 3600),
        stun_urls=_split(env.get("YIZHAN_STUN_URLS")),
    )
    tls_cert, tls_key = _tls_files(env)
    metrics_token = env.get("YIZHAN_METRICS_TOKEN") or None
    if metrics_token is not None and len(metrics_token) < 32:
        raise ConfigError("YIZHAN_METRICS_TOKEN must be at least 32 characters")
    return Settings(
        database_url=database_url,
        host=env.get("YIZHAN_HOST") or "127.0.0.1",
        port=port,
        secret_key=secret_key,
        var_dir=var_dir,
        turn=turn,
        timezone=env.get("YIZHAN_TIMEZONE") or "Asia/Shanghai",
        max_upload_bytes=_int(env, "YIZHAN_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        # Behind HTTPS the cookies must say so; a TLS proxy in front sets this itself.
        cookie_secure=_bool(env, "YIZHAN_COOKIE_SECURE", tls_cert is not None),
        proxy_hops=_int(env, "YIZHAN_PROXY_HOPS", 0),
        run_scheduler=_bool(env, "YIZHAN_RUN_SCHEDULER", True),
        webhook_url=_url(env, "YIZHAN_WEBHOOK_URL"),
        max_rooms=_positive(env, "YIZHAN_MAX_ROOMS", 8),
        max_participants=_positive(env, "YIZHAN_MAX_PARTICIPANTS", 24),
        reconnect_hold_s=_seconds(env, "YIZHAN_RECONNECT_HOLD", 60.0),
        cpu_budget=_share(env, "YIZHAN_CPU_BUDGET", 0.8),
        frame_budget=_share(env, "YIZHAN_FRAME_BUDGET", 0.7),
        room_workers=_bool(env, "YIZHAN_ROOM_WORKERS", True),
        media_ports=_port_range(env, "YIZHAN_MEDIA_PORTS", (40000, 40999)),
        media_addresses=_split(env.get("YIZHAN_MEDIA_ADDRESSES")),
        tls_cert=tls_cert,
        tls_key=tls_key,
        metrics_token=metrics_token,
        notices=notice_settings_from_env(env),
        standby_poll_s=_poll(env, "YIZHAN_STANDBY_POLL", 5.0),
        room_open_before_min=_minutes(env, "YIZHAN_ROOM_OPEN_BEFORE", 15),
        room_close_grace_min=_minutes(env, "YIZHAN_ROOM_CLOSE_GRACE", 15),
        media_address=(env.get("YIZHAN_MEDIA_ADDRESS") or "").strip() or None,
        cluster=cluster_settings_from_env(env, port=port),
    )


def cluster_settings_from_env(env: dict[str, str], *, port: int) -> ClusterSettings | None:
    redis_url = (env.get("YIZHAN_REDIS_URL") or "").strip()
    if not redis_url:
        return None
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"YIZHAN_REDIS_URL must be a redis:// URL, got {redis_url!r}")
    database_url = env.get("YIZHAN_DATABASE_URL") or ""
    if not database_url.startswith("postgresql"):
        raise ConfigError("a cluster (YIZHAN_REDIS_URL) needs PostgreSQL as YIZHAN_DATABASE_URL")
    secret = env.get("YIZHAN_CLUSTER_SECRET") or ""
    if len(secret) < 32:
        raise ConfigError("YIZHAN_CLUSTER_SECRET must be at least 32 characters")
    node_id = (env.get("YIZHAN_NODE_ID") or socket.gethostname()).strip()
    if not re.fullmatch(r"[\w.-]{1,64}", node_id):
        raise ConfigError(f"YIZHAN_NODE_ID must be 1-64 letters, digits, . _ or -, got {node_id!r}")
    node_url = _url(env, "YIZHAN_NODE_URL") or f"http://{socket.gethostname()}:{port}"
    heartbeat = _seconds(env, "YIZHAN_CLUSTER_HEARTBEAT", 2.0)
    dead_after = _seconds(env, "YIZHAN_CLUSTER_DEAD_AFTER", 6.0)
    if not 0 < heartbeat < dead_after:
        raise ConfigError("YIZHAN_CLUSTER_HEARTBEAT must be above 0 and below "
                          "YIZHAN_CLUSTER_DEAD_AFTER")
    return ClusterSettings(
        redis_url=redis_url, secret=secret, node_id=node_id, node_url=node_url.rstrip("/"),
        heartbeat_s=heartbeat, dead_after_s=dead_after,
        redis_timeout_s=_seconds(env, "YIZHAN_REDIS_TIMEOUT", 1.0) or 1.0,
        drain_timeout_s=_seconds(env, "YIZHAN_DRAIN_TIMEOUT", 30.0),
        takes_rooms=_bool(env, "YIZHAN_NODE_TAKES_ROOMS", True),
    )
