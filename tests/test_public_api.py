"""The public API: a sorted, complete ``__all__``; no key in a repr."""

from __future__ import annotations

import subprocess
import sys
import types

import streambatch


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name in dir(streambatch)
        if name.isidentifier()
        and not name.startswith("_")
        and not isinstance(getattr(streambatch, name), types.ModuleType)
        and name not in ("annotations", "TYPE_CHECKING", "Any")
    }
    assert isinstance(streambatch.__all__, tuple)
    assert list(streambatch.__all__) == sorted(streambatch.__all__)
    assert set(streambatch.__all__) == public


def test_every_public_name_has_a_docstring() -> None:
    for name in streambatch.__all__:
        obj = getattr(streambatch, name)
        if name == "Status":
            continue  # a Literal alias
        assert (obj.__doc__ or "").strip(), name


def test_parsing_alone_does_not_import_the_http_client() -> None:
    code = "import sys, streambatch; streambatch.ResultParser; print('aiohttp' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
    code = (
        "import sys, streambatch; streambatch.Client; print('aiohttp' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"
