"""Pure parts of the emulator: the schedule, the replies, ranges, choices."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from streambatch.testing import Timings, expected_text
from streambatch.testing._chance import chance, happens
from streambatch.testing._clock import Facts, schedule
from streambatch.testing._http import _byte_range

SLOW = Timings(
    validating=10, in_progress=100, finalizing=10, cancelling=5, completion_window=500
)


def _facts(**changes: object) -> Facts:
    values: dict[str, object] = {
        "count": 10,
        "validated": True,
        "invalid": False,
        "cancel_after": None,
        "stall": None,
    }
    values.update(changes)
    return Facts(**values)  # type: ignore[arg-type]


def test_schedule_walks_the_openai_state_machine() -> None:
    seen = [schedule(_facts(), t, SLOW) for t in (0, 10, 60, 110, 115, 120)]
    assert seen == [
        ("validating", 0),
        ("in_progress", 0),
        ("in_progress", 5),
        ("finalizing", 10),
        ("finalizing", 10),
        ("completed", 10),
    ]
    assert schedule(_facts(validated=False), 1e9, SLOW) == ("validating", 0)
    assert schedule(_facts(invalid=True), 11, SLOW) == ("failed", 0)


def test_cancel_and_expiry_fix_the_finished_count() -> None:
    assert schedule(_facts(cancel_after=60.0), 61, SLOW) == ("cancelling", 5)
    assert schedule(_facts(cancel_after=60.0), 70, SLOW) == ("cancelled", 5)
    assert schedule(_facts(stall=0.3), 400, SLOW) == ("in_progress", 3)
    assert schedule(_facts(stall=0.3), 500, SLOW) == ("expired", 3)


@given(st.integers(0, 1000), st.floats(0, 400))
def test_progress_is_monotonic_and_bounded(count: int, t: float) -> None:
    _, early = schedule(_facts(count=count), t, SLOW)
    _, later = schedule(_facts(count=count), t + 1, SLOW)
    assert 0 <= early <= later <= count


def test_replies_are_deterministic_and_capped() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    same = {"messages": [{"content": "hi", "role": "user"}], "model": "m"}
    assert expected_text("openai", body) == expected_text("anthropic", same)
    assert len(expected_text("openai", body).split()) == 12
    assert len(expected_text("openai", {**body, "max_tokens": 2}).split()) == 2
    assert expected_text("openai", body) != expected_text("openai", {**body, "n": 1})
    with pytest.raises(ValueError):
        expected_text("cohere", body)


def test_chance_is_seeded_and_order_free() -> None:
    assert chance(1, "a", "b") == chance(1, "a", "b") != chance(2, "a", "b")
    assert not happens(0.0, 1, "x") and happens(1.0, 1, "x")
    hits = sum(happens(0.25, 7, str(i)) for i in range(4000))
    assert 800 < hits < 1200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-", (0, 100)),
        ("bytes=10-19", (10, 20)),
        ("bytes=90-200", (90, 100)),
        ("bytes=-5", (95, 100)),
        ("bytes=100-", None),
    ],
)
def test_byte_ranges(header: str, expected: tuple[int, int] | None) -> None:
    assert _byte_range(header, 100) == expected


def test_named_timings() -> None:
    assert Timings.named("instant") == Timings()
    assert Timings.named("fast").speed == 600.0
    assert Timings.named("realistic", 5.0).speed == 5.0
    with pytest.raises(ValueError):
        Timings.named("slow")
