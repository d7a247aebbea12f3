"""streambatch: run LLM providers' batch APIs at scale.

Stream large JSONL inputs into upload chunks, submit and poll many batches, and parse
the outputs line by line into typed records in bounded memory.
"""

from __future__ import annotations

from ._client import Client as Client
from ._core.parse import ResultParser as ResultParser
from ._core.policy import PollPolicy as PollPolicy, RetryPolicy as RetryPolicy
from ._errors import (
    AuthenticationError as AuthenticationError,
    BatchFailed as BatchFailed,
    ConfigError as ConfigError,
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
    StreamBatchError as StreamBatchError,
    TransportError as TransportError,
    TransportTimeout as TransportTimeout,
)
from ._io.reader import open_results as open_results
from ._job import Job as Job
from ._models import (
    Result as Result,
    ResultError as ResultError,
    Status as Status,
    Usage as Usage,
)
from ._progress import Progress as Progress
from ._sync import read_results as read_results, run_job as run_job

__version__ = "0.1.0"

__all__ = (
    "AuthenticationError",
    "BatchFailed",
    "Client",
    "ConfigError",
    "DuplicateCustomId",
    "HTTPStatusError",
    "InputError",
    "InvalidInput",
    "InvalidRequestLine",
    "Job",
    "JobError",
    "LineTooLong",
    "PollPolicy",
    "Progress",
    "ProtocolError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLarge",
    "Result",
    "ResultError",
    "ResultParser",
    "RetryPolicy",
    "Status",
    "StreamBatchError",
    "TransportError",
    "TransportTimeout",
    "Usage",
    "open_results",
    "read_results",
    "run_job",
)
