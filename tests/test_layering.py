"""The pure packages do no I/O; the emulator does not reuse our internals."""

from __future__ import annotations

import ast
import pathlib

import streambatch

ROOT = pathlib.Path(streambatch.__file__).parent
IO_LIBS = {"asyncio", "aiohttp", "aiofiles", "backoff", "socket", "ssl", "time"}


def imported(path: pathlib.Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def called_names(path: pathlib.Path) -> set[str]:
    """Names of the plain functions a module calls (``open(...)``, not ``x.open()``)."""
    return {
        node.func.id
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def test_pure_packages_do_no_io() -> None:
    paths = [*(ROOT / "_core").glob("*.py"), *(ROOT / "_providers").rglob("*.py")]
    assert paths
    for path in paths:
        roots = {
            name.split(".")[0] for name in imported(path) if not name.startswith(".")
        }
        assert not roots & IO_LIBS, path.name
        assert "open" not in called_names(path), path.name


def test_the_emulator_stands_alone() -> None:
    for path in (ROOT / "testing").glob("*.py"):
        for name in imported(path):
            assert not name.startswith(".."), f"{path.name} imports {name}"
            assert not name.startswith("streambatch.") or name.startswith(
                "streambatch.testing"
            ), f"{path.name} imports {name}"


# Which packages of streambatch each may import (relative imports resolved).
# Leaves import nothing of the package; _core only leaves; _providers _core and
# leaves; _io _core and leaves (it runs flows without knowing who made them).
LEAVES = {"_errors", "_models"}
ALLOWED = {
    "_errors": set(),
    "_models": set(),
    "_core": LEAVES,
    "_providers": {"_core", *LEAVES},
    "_io": {"_core", *LEAVES},
}


def package_of(path: pathlib.Path) -> str:
    relative = path.relative_to(ROOT)
    return relative.parts[0].removesuffix(".py")


def imported_packages(path: pathlib.Path) -> set[str]:
    """The top-level parts of streambatch that ``path`` imports."""
    inside = path.relative_to(ROOT).parent.parts  # () for a top-level module
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(inside)[: len(inside) - (node.level - 1)]
            parts = [*base, *(node.module or "").split(".")]
            parts = [p for p in parts if p]
            if parts:
                found.add(parts[0])
            else:  # "from . import x" at the top level
                found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "streambatch."
        ):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
    return found - {path.relative_to(ROOT).parts[0].removesuffix(".py")}


def test_every_import_between_packages_goes_the_right_way() -> None:
    checked = 0
    for path in ROOT.rglob("*.py"):
        package = package_of(path)
        if package not in ALLOWED:
            continue
        wrong = imported_packages(path) - ALLOWED[package]
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
        checked += 1
    assert checked > 30


def test_nothing_imports_the_command_line_or_a_job() -> None:
    """cli is the outermost layer; the steps take a store, not a Job."""
    for path in ROOT.rglob("*.py"):
        name = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if name in ("cli", "__main__", "testing"):
            continue
        packages = imported_packages(path)
        assert "cli" not in packages, path
        if name not in ("_job", "_client", "_commands", "_sync", "__init__"):
            assert "_job" not in packages, f"{path.name} takes a Job"
