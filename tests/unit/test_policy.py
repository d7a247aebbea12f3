"""Poll and retry delays: always within bounds, Retry-After a floor (pure)."""

from __future__ import annotations

import random

from hypothesis import given, strategies as st

from streambatch import PollPolicy, RetryPolicy
from streambatch._core.policy import parse_retry_after, retry_waits


@given(
    st.floats(0.01, 100),
    st.floats(1, 10),
    st.integers(0, 200),
    st.integers(0, 2**32),
)
def test_poll_delays_stay_between_min_and_max(
    low: float, factor: float, attempt: int, seed: int
) -> None:
    policy = PollPolicy(min_delay=low, max_delay=low * factor)
    delay = policy.delay(attempt, random.Random(seed))
    assert low <= delay <= low * factor
    assert policy.delay(0, random.Random(seed)) <= low * 2


@given(
    st.lists(st.one_of(st.none(), st.floats(0, 50)), max_size=12), st.integers(0, 99)
)
def test_retry_waits_are_capped_and_honour_retry_after(
    retry_afters: list[float | None], seed: int
) -> None:
    policy = RetryPolicy(first_delay=0.5, max_delay=8.0)
    waits = retry_waits(policy, random.Random(seed))
    assert next(waits) == 0.0
    for value in retry_afters:
        error = Exception()
        error.retry_after = value  # type: ignore[attr-defined]
        wait = waits.send(error)
        assert wait >= (value or 0.0)
        assert wait <= max(policy.max_delay, value or 0.0)


def test_full_jitter_spreads_pollers() -> None:
    policy = PollPolicy(min_delay=5, max_delay=300)
    rng = random.Random(1)
    delays = [policy.delay(6, rng) for _ in range(1000)]
    assert min(delays) < 60 < 240 < max(delays)


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after-ms": "1500"}, now) == 1.5
    assert parse_retry_after({"retry-after": "7"}, now) == 7.0
    assert parse_retry_after({"retry-after": "0.25"}, now) == 0.25
    date = "Tue, 14 Nov 2023 22:13:40 GMT"  # now + 20 s
    assert parse_retry_after({"retry-after": date}, now) == 20.0
    assert parse_retry_after({"retry-after": "soon"}, now) is None
    assert parse_retry_after({}, now) is None
