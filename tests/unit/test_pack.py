"""Packer, Chunker and limits: parts respect limits, keep order and are greedy."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, strategies as st

from streambatch import ConfigError, InputError
from streambatch._core.pack import Chunker, ChunkLimits, Packer, limits_for
from streambatch._providers import provider


@given(st.integers(1, 500), st.integers(1, 20), st.integers(0, 30), st.data())
def test_parts_respect_limits_keep_order_and_are_greedy(
    max_bytes: int, max_requests: int, frame: int, data: st.DataObject
) -> None:
    budget = max_bytes + frame
    sizes = data.draw(st.lists(st.integers(1, max_bytes)))
    packer = Packer(ChunkLimits(max_requests, budget, frame))
    parts: list[list[int]] = []
    for size in sizes:
        if packer.add(size):
            parts.append([])
        parts[-1].append(size)
    assert [s for p in parts for s in p] == sizes
    assert all(p and frame + sum(p) <= budget and len(p) <= max_requests for p in parts)
    for a, b in itertools.pairwise(parts):
        assert len(a) == max_requests or sum(a) + b[0] > max_bytes


def test_a_line_larger_than_a_part_fits_nowhere() -> None:
    packer = Packer(ChunkLimits(10, 100, 15))
    assert packer.fits(85)
    assert not packer.fits(86)
    with pytest.raises(ValueError, match="fits no chunk"):
        packer.add(86)


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 50)), max_size=60))
def test_chunker_keeps_groups_apart_and_numbers_chunks_as_they_open(
    lines: list[tuple[str, int]],
) -> None:
    chunker: Chunker[str] = Chunker(ChunkLimits(3, 100))
    owner: dict[int, str] = {}
    contents: dict[int, list[int]] = {}
    for group, size in lines:
        index, opened = chunker.add(group, size)
        assert opened == (index not in owner)
        assert index == len(owner) if opened else owner[index] == group
        owner.setdefault(index, group)
        contents.setdefault(index, []).append(size)
    assert all(len(c) <= 3 and sum(c) <= 100 for c in contents.values())
    assert chunker.count == len(owner)


def test_chunker_refuses_one_group_too_many() -> None:
    chunker: Chunker[int] = Chunker(ChunkLimits(3, 100), max_groups=2)
    chunker.add(1, 1)
    chunker.add(2, 1)
    chunker.add(1, 1)
    with pytest.raises(InputError, match="more than 2"):
        chunker.add(3, 1)


def test_provider_limits_name_documented_numbers_with_margin() -> None:
    LIMITS = {name: provider(name).limits for name in ("openai", "azure", "anthropic")}
    assert LIMITS["openai"].max_requests == 50_000
    assert LIMITS["azure"].max_requests == 100_000
    assert LIMITS["anthropic"].max_requests == 100_000
    assert LIMITS["openai"].max_bytes <= 200_000_000
    assert LIMITS["anthropic"].max_bytes <= 256_000_000
    assert LIMITS["anthropic"].frame_bytes == len('{"requests":[]}') - 1


def test_overrides_may_only_lower_the_limits() -> None:
    assert limits_for(provider("openai").limits, 10, 1000) == ChunkLimits(10, 1000)
    assert limits_for(provider("anthropic").limits, max_bytes=1000).frame_bytes == 14
    for kwargs in ({"max_requests": 50_001}, {"max_bytes": 300_000_000}):
        with pytest.raises(ConfigError, match="between 1 and"):
            limits_for(
                provider("openai").limits,
                kwargs.get("max_requests"),
                kwargs.get("max_bytes"),
            )
    with pytest.raises(ConfigError):
        limits_for(provider("openai").limits, max_requests=0)
    with pytest.raises(ConfigError, match="no room"):
        limits_for(provider("anthropic").limits, max_bytes=15)
    with pytest.raises(ConfigError):
        provider("nobody")


@given(st.integers(1, 300), st.integers(1, 8), st.integers(0, 20), st.data())
def test_a_run_placed_at_once_takes_the_chunks_of_line_by_line(
    max_bytes: int, max_requests: int, frame: int, data: st.DataObject
) -> None:
    limits = ChunkLimits(max_requests, max_bytes + frame, frame)
    runs = data.draw(st.lists(st.lists(st.integers(1, max_bytes), min_size=1)))
    one, whole = Packer(limits), Packer(limits)
    for sizes in runs:
        expected = [one.add(size) for size in sizes]
        ends = list(itertools.accumulate(sizes))
        got: list[bool] = []
        start = 0
        while start < len(ends):
            stop, opens = whole.add_run(ends, start)
            assert stop > start
            got += [opens] + [False] * (stop - start - 1)
            start = stop
        assert got == expected


def test_chunker_places_a_run_where_its_lines_would_go() -> None:
    one: Chunker[str] = Chunker(ChunkLimits(3, 100))
    whole: Chunker[str] = Chunker(ChunkLimits(3, 100))
    sizes = [40, 40, 30, 10, 60, 5]
    expected = [one.add("g", size) for size in sizes]
    ends = list(itertools.accumulate(sizes))
    assert whole.add_run("g", ends, 0) == (0, True, 2)  # 40 + 40 + 30 > 100
    assert whole.add_run("g", ends, 2) == (1, True, 5)  # three requests at most
    assert whole.add_run("g", ends, 5) == (2, True, 6)
    assert [index for index, _ in expected] == [0, 0, 1, 1, 1, 2]
    assert whole.count == one.count == 3
