"""Rules of the house that a machine can check (the import arrows are in `make lint`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULES_PER_FOLDER = 16
CODE = [p for top in ("server", "web", "rooms", "scheduling")
        for p in sorted((ROOT / top).rglob("*.py")) if "migrations" not in p.parts]


def _annotation(node: ast.arg) -> str:
    return ast.unparse(node.annotation) if node.annotation is not None else ""


def test_the_database_session_is_called_db_everywhere() -> None:
    """'session' also means a consultation session and the cookie session: never the database."""
    offenders = []
    for path in CODE:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in [*node.args.args, *node.args.kwonlyargs]:
                    if _annotation(arg) == "AsyncSession" and arg.arg not in {"db", "_db"}:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {arg.arg}")
            if isinstance(node, ast.AsyncWith):
                for item in node.items:
                    call = item.context_expr
                    # `async with <sessionmaker>() as x` (app[DATABASE](), factory(), ...)
                    if isinstance(call, ast.Call) and not call.args and not call.keywords \
                            and isinstance(item.optional_vars, ast.Name) \
                            and item.optional_vars.id == "session":
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} session")
    assert offenders == []


def test_every_domain_package_is_under_the_import_contract() -> None:
    """A new package under server/ is domain unless it is the edge: lint must watch it."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}
    watched = set(contracts["domain-below-edge"]["source_modules"])
    packages = {f"server.{p.name}" for p in (ROOT / "server").iterdir()
                if (p / "__init__.py").exists() and p.name not in {"edge", "migrations"}}
    assert packages - watched == set()
@pytest.mark.parametrize("top", ["server", "rooms", "scheduling", "web"])
def test_no_folder_holds_more_than_about_fifteen_modules(top: str) -> None:
    """Folders by concept: a folder that outgrows this holds more than one concept."""
    crowded = {}
    for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
        if "__pycache__" in folder.parts or "migrations" in folder.parts:
            continue
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        if len(modules) > MAX_MODULES_PER_FOLDER:
            crowded[str(folder.relative_to(ROOT))] = len(modules)
    assert crowded == {}
