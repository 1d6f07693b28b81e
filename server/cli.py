"""`yizhan`: serve the app, apply migrations."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from . import db, logs
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
    return parser


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
