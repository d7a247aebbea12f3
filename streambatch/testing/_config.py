"""The emulator's knobs: timings, limits, faults and the whole configuration.

Plain dataclasses only; this module imports nothing from streambatch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._clock import Clock

MB = 1_000_000

OPENAI_QUIRKS = ("upper_status", "iso_times", "job_wrapper", "batch_id", "any_window")
"""What OpenAI-compatible hosts do differently, each served on request:
``upper_status`` (statuses in capitals), ``iso_times`` (timestamps as ISO-8601
strings), ``job_wrapper`` (batches as ``{"job": {...}}``), ``batch_id``
(output lines name the request ``batch_id``, not ``id``), ``any_window``
(completion windows other than ``24h`` accepted)."""


@dataclass(frozen=True)
class Timings:
    """How long each phase of a batch lasts, in emulated seconds.

    Emulated time runs ``speed`` times faster than the wall clock, so
    ``Timings.realistic()`` with ``speed=600`` passes an emulated hour in six
    real seconds.

    Attributes:
        validating: Time spent in ``validating`` after creation.
        in_progress: Base time spent in ``in_progress``.
        per_item: Extra ``in_progress`` time per request of the batch.
        finalizing: Time spent in ``finalizing`` after the last item.
        cancelling: Time between a cancel request and ``cancelled``.
        completion_window: Time after which an expiring batch ends as expired.
        speed: Emulated seconds per real second.
    """

    validating: float = 0.0
    in_progress: float = 0.0
    per_item: float = 0.0
    finalizing: float = 0.0
    cancelling: float = 0.0
    completion_window: float = 0.0
    speed: float = 1.0

    @classmethod
    def instant(cls) -> Timings:
        """Every phase takes no time: a batch ends as soon as its work is done."""
        return cls()

    @classmethod
    def realistic(cls, speed: float = 1.0) -> Timings:
        """Phases as long as the real services take, run at ``speed``."""
        return cls(
            validating=30.0,
            in_progress=600.0,
            per_item=0.05,
            finalizing=60.0,
            cancelling=120.0,
            completion_window=86_400.0,
            speed=speed,
        )

    @classmethod
    def fast(cls) -> Timings:
        """Realistic phases at 600x: a typical batch ends within seconds."""
        return cls.realistic(speed=600.0)

    @classmethod
    def named(cls, name: str, time_scale: float | None = None) -> Timings:
        """Build the profile ``name`` (instant, fast, realistic).

        Args:
            name: One of ``instant``, ``fast`` or ``realistic``.
            time_scale: Overrides the profile's speed when given.

        Raises:
            ValueError: For an unknown profile name or a non-positive scale.
        """
        profiles = {
            "instant": cls.instant,
            "fast": cls.fast,
            "realistic": cls.realistic,
        }
        if name not in profiles:
            raise ValueError(f"unknown clock {name!r}; use {', '.join(profiles)}")
        timings = profiles[name]()
        if time_scale is None:
            return timings
        if not time_scale > 0:
            raise ValueError("time scale must be positive")
        return dataclasses.replace(timings, speed=time_scale)


@dataclass(frozen=True)
class Limits:
    """Provider limits the emulator enforces (the providers' documented ones).

    Attributes:
        openai_max_file_bytes: The largest OpenAI file upload, in bytes.
        openai_max_batch_bytes: The largest OpenAI batch input file, in bytes.
        openai_max_requests: The most requests in one OpenAI batch.
        anthropic_max_body_bytes: The largest Anthropic create body, in bytes.
        anthropic_max_requests: The most requests in one Anthropic batch.
        gemini_max_file_bytes: The largest Gemini file upload, in bytes.
        gemini_max_inline_bytes: The largest Gemini inline create body, in bytes.
        gemini_max_requests: The most requests in one Gemini batch.
        azure_max_requests: The most requests in one Azure OpenAI batch.
    """

    openai_max_file_bytes: int = 512 * MB
    openai_max_batch_bytes: int = 200 * MB
    openai_max_requests: int = 50_000
    azure_max_requests: int = 100_000
    anthropic_max_body_bytes: int = 256 * MB
    anthropic_max_requests: int = 100_000
    gemini_max_file_bytes: int = 2_000 * MB
    gemini_max_inline_bytes: int = 20 * MB
    gemini_max_requests: int = 1_000_000


@dataclass
class Faults:
    """Faults to inject; mutable, so a test may change them while serving.

    Rates are fractions in [0, 1], drawn from one ``random.Random(seed)``.
    Per-item and per-batch choices hash the seed with the ids, so they do not
    depend on request order. Delays are real (wall-clock) seconds, or, on a
    `ManualClock`, seconds the test advances the clock by.

    Attributes:
        seed: Seed of every random choice.
        item_error_rate: Fraction of items that end with an error result.
        expiry_rate: Fraction of batches that stall and then expire.
        all_failed_rate: Fraction of batches in which every item errors.
        stuck_finalizing_rate: Fraction of batches stuck in finalizing.
        stuck_finalizing_seconds: How long such a batch stays stuck.
        rate_limit_rate: Fraction of requests answered 429 with Retry-After.
        retry_after_seconds: The Retry-After value sent with a 429.
        server_error_rate: Fraction of requests answered with a 5xx.
        slow_rate: Fraction of requests delayed before being handled.
        slow_seconds: The delay of a slow request.
        drop_upload_rate: Fraction of uploads cut off mid-body.
        drop_download_rate: Fraction of downloads cut off mid-body.
        chunk_bytes: Size of the pieces every body is written in.
        refuse_range: Ignore Range headers and never advertise them.
        invisible_file_seconds: How long a new file answers 404.
        lost_response_rate: Fraction of batch creates carried out in full whose
            answer is then replaced by a 500: the batch exists, but the client
            is not told, as when a response is lost on the way.
    """

    seed: int = 0
    item_error_rate: float = 0.0
    expiry_rate: float = 0.0
    all_failed_rate: float = 0.0
    stuck_finalizing_rate: float = 0.0
    stuck_finalizing_seconds: float = 30.0
    rate_limit_rate: float = 0.0
    retry_after_seconds: float = 1.0
    server_error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 1.0
    drop_upload_rate: float = 0.0
    drop_download_rate: float = 0.0
    chunk_bytes: int = 65_536
    refuse_range: bool = False
    invisible_file_seconds: float = 0.0
    lost_response_rate: float = 0.0


@dataclass
class EmulatorConfig:
    """Everything an emulator needs to start.

    Attributes:
        host: Interface to bind; loopback unless ``allow_remote``.
        port: TCP port; 0 picks a free one.
        allow_remote: Permit a non-loopback ``host``.
        state_dir: Where files, batch work and ``state.json`` live; reloaded
            when an emulator starts on it again. A temporary directory
            (removed on close, never reloaded) when None.
        api_key: When set, any other key is rejected with the real 401.
        timings: The clock profile.
        clock: Where time comes from: None for the wall clock run at
            ``timings.speed``; a `ManualClock` for a test that moves time
            itself (``clock.advance(seconds)``) and never waits for real.
        limits: Provider limits.
        faults: Faults to inject.
        reply_words: Words in each generated reply (capped by max_tokens).
        embedding_dims: Length of each generated embedding vector.
        gemini_state_prefix: How Gemini batch states are spelled: the wire's
            ``BATCH_STATE_`` or the SDK's and docs' ``JOB_STATE_``.
        openai_quirks: Which of :data:`OPENAI_QUIRKS` the OpenAI routes serve,
            as an OpenAI-compatible host would (Azure's routes, under
            ``/azure``, always serve Azure's own).
    """

    host: str = "127.0.0.1"
    port: int = 0
    allow_remote: bool = False
    state_dir: Path | None = None
    api_key: str | None = field(default=None, repr=False)
    timings: Timings = field(default_factory=Timings.instant)
    clock: Clock | None = field(default=None, repr=False, compare=False)
    limits: Limits = field(default_factory=Limits)
    faults: Faults = field(default_factory=Faults)
    reply_words: int = 12
    embedding_dims: int = 8
    gemini_state_prefix: str = "BATCH_STATE_"
    openai_quirks: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.openai_quirks) - set(OPENAI_QUIRKS)
        if unknown:
            raise ValueError(
                f"unknown quirks {sorted(unknown)}; use {', '.join(OPENAI_QUIRKS)}"
            )
