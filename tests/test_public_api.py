"""The public API: a sorted, complete ``__all__``; no key in a repr."""

from __future__ import annotations

import types

import streambatch


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(streambatch).items()
        if name.isidentifier()
        and not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
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
