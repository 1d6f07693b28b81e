"""``rooms/__init__.py`` is the engine's whole public API: server/ and web/ use nothing else."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import rooms
from rooms.config import RoomConfig
from rooms.errors import UserError
from rooms.registry import RoomRegistry
from tests.support.loopback import TEST_WALL

ROOT = Path(__file__).resolve().parents[2]
USERS = ("server", "web")  # the packages that must come in by the front door


def rooms_imports(tree: ast.AST) -> list[tuple[int, str, tuple[str, ...]]]:
    """Every import of the engine in ``tree``: (line, module, names)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names
                      if alias.name == "rooms" or alias.name.startswith("rooms.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (
                node.module == "rooms" or (node.module or "").startswith("rooms.")):
            found.append((node.lineno, node.module or "",
                          tuple(alias.name for alias in node.names)))
    return found


def front_door_breaches(tree: ast.AST) -> list[str]:
    breaches = []
    for line, module, names in rooms_imports(tree):
        if module != "rooms":
            breaches.append(f"{line}: {module}")
        else:
            breaches += [f"{line}: rooms.{name}" for name in names if name not in rooms.__all__]
    return breaches


def test_server_and_web_import_the_engine_only_by_its_front_door() -> None:
    breaches: dict[str, list[str]] = {}
    seen = 0
    for package in USERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            seen += bool(rooms_imports(tree))
            if found := front_door_breaches(tree):
                breaches[str(path.relative_to(ROOT))] = found
    assert breaches == {}
    assert seen >= 4  # the walk does find the front-door imports (registry, socket, ...)


@pytest.mark.parametrize(("source", "expected"), [
    ("from rooms.registry import RoomRegistry", ["1: rooms.registry"]),
    ("import rooms.media.wall", ["1: rooms.media.wall"]),
    ("def f():\n    from rooms.errors import UserError", ["2: rooms.errors"]),
    ("from rooms import Conference", ["1: rooms.Conference"]),  # not in __all__
    ("from rooms import RoomRegistry, UnknownRoom", []),
    ("import rooms", []),
    ("from .rooms import x\nfrom server.edge.room_socket import HEARTBEAT", []),
])
def test_the_check_sees_a_deliberate_breach(source: str, expected: list[str]) -> None:
    assert front_door_breaches(ast.parse(source)) == expected


def test_all_names_only_what_exists() -> None:
    assert len(rooms.__all__) == len(set(rooms.__all__))
    missing = [name for name in rooms.__all__ if not hasattr(rooms, name)]
    assert missing == []
    namespace: dict[str, object] = {}
    exec("from rooms import *", namespace)  # a missing name in __all__ fails here
    assert set(namespace) - {"__builtins__"} == set(rooms.__all__)


def test_front_door_names_are_the_engine_s_own() -> None:
    assert rooms.RoomRegistry is RoomRegistry
    assert issubclass(rooms.UnknownRoom, UserError)
    assert rooms.UnknownRoom("no live room 'x'").code == "unknown-room"


async def test_registry_stats_are_a_frozen_dataclass() -> None:
    registry = RoomRegistry(RoomConfig(wall=TEST_WALL))
    try:
        stats = registry.stats()
        assert stats == rooms.RegistryStats(rooms=0, participants=0, hook_calls_dropped=0,
                                            cpu_load=0.0, refused={}, per_room=())
        assert dataclasses.asdict(stats) == {
            "rooms": 0, "participants": 0, "hook_calls_dropped": 0, "cpu_load": 0.0,
            "refused": {}, "per_room": (), "workers": 0, "worker_restarts": 0,
            "workers_hung": 0}
        with pytest.raises(dataclasses.FrozenInstanceError):
            stats.rooms = 1  # type: ignore[misc]
        with pytest.raises(rooms.UnknownRoom):
            registry.add_marker("r1", "nobody is here")
    finally:
        await registry.close()
