"""`yizhan`: serve the app, apply migrations."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from . import bootstrap, db, logs
from .clock import system_clock
from .config import ConfigError, settings_from_env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yizhan", description="Yizhan 驿站")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations and serve the app")
    serve.add_argument("--host", help="address to bind (YIZHAN_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (YIZHAN_PORT, default 8080)")
    serve.add_argument("--no-demo", action="store_true",
                       help="do not seed the demo street into an empty database")
    sub.add_parser("migrate", help="apply database migrations and exit")
    setup = sub.add_parser(
        "setup", help="create the street and its first administrator in an empty database")
    setup.add_argument("--street", required=True, help="the street office's name")
    setup.add_argument("--admin", default="admin", help="the administrator's user name")
    return parser


async def _setup(url: str, street: str, username: str, password: str) -> str | None:
    """Returns an error message, or None when the street and admin were created."""
    engine = db.create_engine(url)
    try:
        await db.migrate(engine)
        async with db.session_factory(engine)() as session, session.begin():
            return await bootstrap.create_street_and_admin(
                session, street=street, username=username, password=password,
                clock=system_clock)
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.migrate(engine)
    finally:
        await engine.dispose()


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
    from .app import init_app

    app = init_app(settings, seed_demo=not args.no_demo)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"Yizhan serving on http://{host}:{port}", flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
