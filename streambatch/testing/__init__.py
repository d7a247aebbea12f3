"""A local emulator of the providers' batch APIs, for tests and demos.

`Emulator` (or `open_emulator`) serves the OpenAI Files and Batches APIs (also
as Azure OpenAI and as OpenAI-compatible hosts, `OPENAI_QUIRKS`), the Anthropic
Message Batches API and Gemini batch mode on loopback, with configurable
timings, deterministic replies (`expected_text`) and seeded faults. Time comes
from the wall clock (`ScaledClock`) or from a `ManualClock` that a test moves
itself, so nothing waits for real. `Records` tells a test what the client
really did. This package imports nothing else from streambatch.
"""

from __future__ import annotations

from ._clock import (
    Clock as Clock,
    ManualClock as ManualClock,
    ScaledClock as ScaledClock,
)
from ._config import (
    OPENAI_QUIRKS as OPENAI_QUIRKS,
    EmulatorConfig as EmulatorConfig,
    Faults as Faults,
    Limits as Limits,
    Timings as Timings,
)
from ._emulator import Emulator as Emulator, open_emulator as open_emulator
from ._records import (
    BatchRecord as BatchRecord,
    FileRecord as FileRecord,
    Records as Records,
)
from ._replies import expected_text as expected_text
from ._store import RequestRecord as RequestRecord

__all__ = (
    "OPENAI_QUIRKS",
    "BatchRecord",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "Faults",
    "FileRecord",
    "Limits",
    "ManualClock",
    "Records",
    "RequestRecord",
    "ScaledClock",
    "Timings",
    "expected_text",
    "open_emulator",
)
