"""docker-compose.yml cannot run here (no Docker engine), so its consistency is checked."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from server.config import settings_from_env

ROOT = Path(__file__).resolve().parent.parent


def load() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_services_and_their_wiring() -> None:
    services = load()["services"]
    assert isinstance(services, dict)
    assert {"app", "db", "turn"} <= set(services)
    app, database, turn = services["app"], services["db"], services["turn"]
    env = app["environment"]
    # Every variable the app is given is one it reads.
    config_source = (ROOT / "server" / "config.py").read_text()
    for name in env:
        assert name.startswith("YIZHAN_"), name
        assert f'"{name}"' in config_source, f"{name} is not read by server/config.py"
    # The app talks to the db service with the credentials the db service is given.
    db_env = database["environment"]
    url = env["YIZHAN_DATABASE_URL"]
    match = re.fullmatch(r"postgresql\+asyncpg://(\w+):([^@]+)@db:5432/(\w+)", url)
    assert match, url
    user, password, name = match.groups()
    assert (db_env["POSTGRES_USER"], db_env["POSTGRES_DB"]) == (user, name)
    assert db_env["POSTGRES_PASSWORD"] == password
    assert "db" in app["depends_on"]
    # Secrets come from the environment (an .env file), never written in the file.
    assert env["YIZHAN_SECRET_KEY"].startswith("${")
    assert env["YIZHAN_TURN_SECRET"].startswith("${")
    # coturn uses the same shared secret for the TURN REST credentials.
    command = " ".join(turn["command"])
    assert "--use-auth-secret" in command
    assert "--static-auth-secret=${YIZHAN_TURN_SECRET" in command
    assert "turn:" in env["YIZHAN_TURN_URLS"]
    # The app port published matches the one it listens on.
    assert any(str(p).endswith(f":{env['YIZHAN_PORT']}") for p in app["ports"])
    # The settings parse with the compose values.
    parsed = settings_from_env({k: ("x" * 40 if v.startswith("${") else v)
                                for k, v in env.items()})
    assert parsed.database_url == url
    assert parsed.host == "0.0.0.0"


def test_dockerfile_serves_through_the_console_script() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert 'CMD ["yizhan", "serve"' in dockerfile
