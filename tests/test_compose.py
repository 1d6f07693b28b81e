"""docker-compose.yml cannot run here (no Docker engine), so its consistency is checked."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from server.core.config import settings_from_env

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
    config_source = (ROOT / "server" / "core" / "config.py").read_text()
    for name in env:
        assert name.startswith("YIZHAN_"), name
        assert f'"{name}"' in config_source, f"{name} is not read by server/core/config.py"
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


def _port_range(text: str) -> tuple[int, int]:
    low, high = (int(p) for p in re.split(r"[\s-]+", text.strip()))
    return low, high


def test_a_tls_proxy_fronts_the_app_and_passes_the_room_socket_through() -> None:
    services = load()["services"]
    assert isinstance(services, dict)
    proxy, app = services["proxy"], services["app"]
    env = app["environment"]
    # An official image from Docker Hub, pinned to its major version.
    assert re.fullmatch(r"caddy:\d+(\.\d+)*", proxy["image"]), proxy["image"]
    assert "app" in proxy["depends_on"]
    assert {"80:80", "443:443"} <= {str(p) for p in proxy["ports"]}
    # The Caddyfile it mounts is in the repository and forwards to the app's port.
    (mount,) = [v for v in proxy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro")]
    caddyfile = (ROOT / mount.split(":")[0]).read_text()
    assert "{$YIZHAN_SITE_ADDRESS" in caddyfile
    assert proxy["environment"]["YIZHAN_SITE_ADDRESS"].startswith("${YIZHAN_SITE_ADDRESS")
    # Every node of the scalable app service is an upstream, looked up by its DNS name.
    upstreams = re.findall(r"dynamic a \{\s*name ([\w.-]+)\s+port (\d+)", caddyfile)
    assert upstreams and set(upstreams) == {("app", env["YIZHAN_PORT"])}
    assert "lb_policy round_robin" in caddyfile  # no sticky sessions: any node will do
    assert caddyfile.count("import app_nodes") == 2
    # The nodes' internal bridge endpoint is not reachable through the proxy.
    assert re.search(r"handle /internal/\* \{\s*respond 404", caddyfile)
    # The room WebSocket (/rooms/<room>/ws) has its own matcher, kept open for a session.
    (pattern,) = re.findall(r"@room_socket path_regexp \w+ (\S+)", caddyfile)
    assert re.fullmatch(pattern, "/rooms/street/ws") and not re.fullmatch(pattern, "/rooms/street")
    assert "handle @room_socket" in caddyfile and "stream_timeout" in caddyfile
    # Behind HTTPS the cookies are secure; plain HTTP is published on this host only.
    assert env["YIZHAN_COOKIE_SECURE"] == "true"
    settings = settings_from_env({k: ("x" * 40 if v.startswith("${") else v)
                                  for k, v in env.items()})
    assert settings.cookie_secure is True
    # Sign-ins are throttled per client: the address is the one Caddy appended.
    assert settings.proxy_hops == 1
    tcp = [str(p) for p in app["ports"] if not str(p).endswith("/udp")]
    assert tcp and all(p.startswith("127.0.0.1:") for p in tcp)


def test_the_media_port_range_is_each_node_s_own() -> None:
    """Replicas on one host share no host port: their media goes through coturn's relay.

    A node on a machine of its own publishes its range (the Dockerfile's EXPOSE) and
    announces its address (README.md, "A cluster of nodes").
    """
    services = load()["services"]
    assert isinstance(services, dict)
    app = services["app"]
    low, high = _port_range(app["sysctls"]["net.ipv4.ip_local_port_range"])
    assert not [p for p in app["ports"] if str(p).endswith("/udp")]
    assert app["environment"]["YIZHAN_TURN_SECRET"].startswith("${")  # nodes get TURN too
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"{low}-{high}/udp" in dockerfile
    # The README tells the administrator which ports to open.
    readme = (ROOT / "README.md").read_text()
    assert f"{low}-{high}/udp" in readme and "443/tcp" in readme
    turn = " ".join(services["turn"]["command"])
    relay = re.search(r"--min-port=(\d+) --max-port=(\d+)", turn)
    assert relay is not None and f"{relay[1]}-{relay[2]}/udp" in readme
    assert "YIZHAN_MEDIA_ADDRESS" in readme


def test_the_app_scales_as_a_cluster_on_redis() -> None:
    services = load()["services"]
    assert isinstance(services, dict)
    app, redis = services["app"], services["redis"]
    env = app["environment"]
    assert re.fullmatch(r"redis:\d+(\.\d+)*", redis["image"]), redis["image"]
    assert "redis" in app["depends_on"] and "db" in app["depends_on"]
    assert env["YIZHAN_REDIS_URL"] == "redis://redis:6379/0"
    assert env["YIZHAN_CLUSTER_SECRET"].startswith("${")
    # `--scale app=3`: no fixed container name, one host port per replica.
    assert "container_name" not in app
    (tcp,) = [str(p) for p in app["ports"] if not str(p).endswith("/udp")]
    host_range = tcp.split(":")[1]
    low, high = _port_range(host_range)
    assert high - low + 1 >= 3
    # SIGTERM drains; compose waits for the drain before it kills.
    assert app["stop_signal"] == "SIGTERM"
    grace = int(str(app["stop_grace_period"]).removesuffix("s"))
    parsed = settings_from_env({k: ("x" * 40 if v.startswith("${") else v)
                                for k, v in env.items()})
    assert parsed.cluster is not None
    assert grace > parsed.cluster.drain_timeout_s
    # One volume on every node: recordings and uploads are the same files everywhere.
    (volume,) = app["volumes"]
    assert volume.endswith(":" + env["YIZHAN_VAR_DIR"])
