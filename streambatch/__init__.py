"""streambatch: run LLM providers' batch APIs at scale.

Stream large JSONL inputs into upload chunks, submit and poll many batches, and parse
the outputs line by line into typed records in bounded memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._core.health import HealthWarning as HealthWarning
from ._core.jobstate import Progress as Progress
from ._core.metrics import Metrics as Metrics
from ._core.policy import PollPolicy as PollPolicy, RetryPolicy as RetryPolicy
from ._errors import (
    AuthenticationError as AuthenticationError,
    BatchFailed as BatchFailed,
    ConfigError as ConfigError,
    DiskFull as DiskFull,
    DuplicateCustomId as DuplicateCustomId,
    HTTPStatusError as HTTPStatusError,
    InputError as InputError,
    InvalidInput as InvalidInput,
    InvalidRequestLine as InvalidRequestLine,
    JobError as JobError,
    LineTooLong as LineTooLong,
    ProtocolError as ProtocolError,
    ProviderError as ProviderError,
    RateLimitError as RateLimitError,
    RequestTooLarge as RequestTooLarge,
    ResultsLost as ResultsLost,
    StreamBatchError as StreamBatchError,
    TransportError as TransportError,
    TransportTimeout as TransportTimeout,
)
from ._models import (
    Result as Result,
    ResultError as ResultError,
    Status as Status,
    Usage as Usage,
)
from ._providers.parse import ResultParser as ResultParser
from ._results import open_results as open_results, read_results as read_results

if TYPE_CHECKING:
    from ._client import Client as Client
    from ._job import Job as Job
    from ._sync import adopt_job as adopt_job, run_job as run_job

# The job machinery pulls in aiohttp; parsing alone does not need it. These names
# are imported on first use, so `import streambatch` stays light.
_LAZY = {
    "Client": "._client",
    "Job": "._job",
    "adopt_job": "._sync",
    "run_job": "._sync",
}

__version__ = "0.1.0"

__all__ = (
    "AuthenticationError",
    "BatchFailed",
    "Client",
    "ConfigError",
    "DiskFull",
    "DuplicateCustomId",
    "HTTPStatusError",
    "HealthWarning",
    "InputError",
    "InvalidInput",
    "InvalidRequestLine",
    "Job",
    "JobError",
    "LineTooLong",
    "Metrics",
    "PollPolicy",
    "Progress",
    "ProtocolError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLarge",
    "Result",
    "ResultError",
    "ResultParser",
    "ResultsLost",
    "RetryPolicy",
    "Status",
    "StreamBatchError",
    "TransportError",
    "TransportTimeout",
    "Usage",
    "adopt_job",
    "open_results",
    "read_results",
    "run_job",
)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streambatch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
