"""Poll and retry delays: always within bounds, Retry-After a floor (pure)."""

from __future__ import annotations

import random

from hypothesis import given, strategies as st

from streambatch import PollPolicy, RetryPolicy
from streambatch._core.policy import decide, parse_retry_after
from streambatch._errors import (
    HTTPStatusError,
    NotYetVisible,
    RateLimitError,
    TransportError,
    TransportTimeout,
)


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
    policy = RetryPolicy(first_delay=0.5, max_delay=8.0, max_attempts=100)
    rng = random.Random(seed)
    for attempt, value in enumerate(retry_afters, 1):
        failure = HTTPStatusError(503, "busy", retry_after=value)
        wait = decide(failure, attempt, idempotent=True, policy=policy, rng=rng)
        assert wait is not None
        assert wait >= (value or 0.0)
        assert wait <= max(min(8.0, 0.5 * 2 ** (attempt - 1)), value or 0.0)


def _verdict(failure: Exception, *, idempotent: bool, attempt: int = 1) -> bool:
    policy = RetryPolicy(max_attempts=3, max_retry_after=60)
    assert isinstance(failure, TransportError | HTTPStatusError)
    wait = decide(
        failure, attempt, idempotent=idempotent, policy=policy, rng=random.Random(0)
    )
    return wait is not None


def test_one_rule_for_every_failure() -> None:
    broken = TransportError("connection reset")
    assert _verdict(broken, idempotent=True)
    assert not _verdict(broken, idempotent=False)  # it may have arrived
    assert _verdict(TransportTimeout("read"), idempotent=True)
    for status in (408, 409, 500, 502, 503, 504, 529):
        assert _verdict(HTTPStatusError(status, ""), idempotent=True), status
        assert not _verdict(HTTPStatusError(status, ""), idempotent=False), status
    # 429: the server did nothing, so even a create is repeated.
    assert _verdict(RateLimitError(429, ""), idempotent=False)
    for status in (400, 401, 403, 404, 422):
        assert not _verdict(HTTPStatusError(status, ""), idempotent=True), status
    assert _verdict(NotYetVisible(404, "no such file"), idempotent=True)
    # The attempts run out, and a Retry-After above the cap gives up at once.
    assert not _verdict(broken, idempotent=True, attempt=3)
    assert not _verdict(RateLimitError(429, "", retry_after=61), idempotent=False)
    assert _verdict(RateLimitError(429, "", retry_after=60), idempotent=False)


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
