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

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ._emulator import Emulator as Emulator, open_emulator as open_emulator
    from ._records import (
        BatchRecord as BatchRecord,
        FileRecord as FileRecord,
        Records as Records,
    )
    from ._replies import expected_text as expected_text
    from ._store import RequestRecord as RequestRecord

# The server and what it records pull in aiohttp's web side: imported on first
# use, so the command line's parser (which only needs the emulator's options,
# ``_cli``) starts without them.
_LAZY = {
    "Emulator": "._emulator",
    "open_emulator": "._emulator",
    "BatchRecord": "._records",
    "FileRecord": "._records",
    "Records": "._records",
    "expected_text": "._replies",
    "RequestRecord": "._store",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
