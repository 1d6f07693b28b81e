"""`yizhan`: serve the app (over HTTPS when told), apply migrations, make a LAN certificate."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import ipaddress
import os
import sys
from collections.abc import Sequence
from dataclasses import replace

from aiohttp import web

from server.accounts import bootstrap
from server.core import db as database
from server.core import logs
from server.core.clock import system_clock
from server.core.config import ConfigError, Settings, settings_from_env
from server.edge import tls


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yizhan", description="Yizhan 驿站")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations and serve the app")
    serve.add_argument("--host", help="address to bind (YIZHAN_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (YIZHAN_PORT, default 8080)")
    serve.add_argument("--no-demo", action="store_true",
                       help="do not seed the demo street into an empty database")
    serve.add_argument("--self-signed", action="store_true",
                       help="serve HTTPS with a self-signed certificate under var/tls/ (made "
                            "if needed) unless YIZHAN_TLS_CERT/YIZHAN_TLS_KEY name one")
    serve.add_argument("--cert-host", action="append", default=[], metavar="HOST",
                       help="with --self-signed: an address or name the certificate must "
                            "cover (default: this machine's addresses and host name)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    cert = sub.add_parser(
        "make-cert", help="write a self-signed certificate for a LAN trial under var/tls/")
    cert.add_argument("--host", action="append", default=[], metavar="HOST",
                      help="an address or name the PCs use to reach this server "
                           "(repeatable; default: this machine's addresses and host name)")
    cert.add_argument("--force", action="store_true",
                      help="make a new certificate even if the one there still fits")
    setup = sub.add_parser(
        "setup", help="create the street and its first administrator in an empty database")
    setup.add_argument("--street", required=True, help="the street office's name")
    setup.add_argument("--admin", default="admin", help="the administrator's user name")
    return parser


async def _setup(url: str, street: str, username: str, password: str) -> str | None:
    """Returns an error message, or None when the street and admin were created."""
    engine = database.create_engine(url)
    try:
        await database.migrate(engine)
        async with database.session_factory(engine)() as db, db.begin():
            return await bootstrap.create_street_and_admin(
                db, street=street, username=username, password=password,
                clock=system_clock)
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = database.create_engine(url)
    try:
        await database.migrate(engine)
    finally:
        await engine.dispose()


def _certificate(settings: Settings, hosts: Sequence[str], *, force: bool) -> tls.CertFiles:
    return tls.make_self_signed(tls.tls_dir(settings.var_dir), list(hosts) or tls.local_names(),
                                now=system_clock(), force=force)


def _print_certificate(files: tls.CertFiles) -> None:
    print(f"certificate: {files.cert}\nprivate key: {files.key} (mode 600)")
    print(f"valid for: {', '.join(files.hosts)} until {files.not_after:%Y-%m-%d}")
    print(f"SHA-256 fingerprint: {files.sha256_fingerprint}")
    print(f"SHA-1 thumbprint (as Windows shows it): {files.sha1_thumbprint}")
    print("Trust it once on each PC (README.md, HTTPS); then serve with "
          f"YIZHAN_TLS_CERT={files.cert} YIZHAN_TLS_KEY={files.key}", flush=True)


def _any_address(host: str) -> bool:
    """``0.0.0.0`` and ``::`` bind every interface: no name for a certificate."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _with_self_signed(settings: Settings, hosts: Sequence[str]) -> Settings:
    files = _certificate(settings, hosts, force=False)
    _print_certificate(files)
    cookie_secure = settings.cookie_secure if os.environ.get("YIZHAN_COOKIE_SECURE") else True
    return replace(settings, tls_cert=files.cert, tls_key=files.key, cookie_secure=cookie_secure)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.configure(os.environ.get("YIZHAN_LOG_LEVEL", "INFO"))
    try:
        settings = settings_from_env()
    except ConfigError as exc:
        print(f"yizhan: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "setup":
        password = os.environ.get("YIZHAN_ADMIN_PASSWORD") or getpass.getpass(
            f"Password for {args.admin}: ")
        error = asyncio.run(_setup(settings.database_url, args.street, args.admin, password))
        if error:
            print(f"yizhan: {error}", file=sys.stderr)
            return 1
        print(f"created the street {args.street!r} and the administrator {args.admin!r}")
        return 0
    if args.command == "migrate":
        asyncio.run(_migrate(settings.database_url))
        print("migrations applied")
        return 0
    if args.command == "make-cert":
        _print_certificate(_certificate(settings, args.host, force=args.force))
        return 0
    from server.app import init_app

    host = args.host or settings.host
    if args.self_signed and not settings.tls:
        names = args.cert_host or [*tls.local_names(), *([] if _any_address(host) else [host])]
        settings = _with_self_signed(settings, names)
    from server.cluster import DRAIN_ON_SIGTERM, gather_on

    gather_on(settings.media_address)  # the ICE candidates carry this node's media address
    app = init_app(settings, seed_demo=not args.no_demo)
    app[DRAIN_ON_SIGTERM] = True  # a cluster node drains on SIGTERM (server/cluster)
    port = args.port or settings.port
    context = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        context = tls.server_context(settings.tls_cert, settings.tls_key)
    scheme = "https" if context is not None else "http"
    print(f"Yizhan serving on {scheme}://{host}:{port}", flush=True)
    web.run_app(app, host=host, port=port, ssl_context=context, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
