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
    paths = [*(ROOT / "_core").glob("*.py"), *(ROOT / "_providers").glob("*.py")]
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
