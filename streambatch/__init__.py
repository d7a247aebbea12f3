"""streambatch: run LLM providers' batch APIs at scale.

Stream large JSONL inputs into upload chunks, submit and poll many batches, and parse
the outputs line by line into typed records in bounded memory.
"""

from __future__ import annotations

from ._errors import (
    AuthenticationError as AuthenticationError,
    BatchFailed as BatchFailed,
    ConfigError as ConfigError,
    DuplicateCustomId as DuplicateCustomId,
    HTTPStatusError as HTTPStatusError,
    InputError as InputError,
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
from ._models import (
    Result as Result,
    ResultError as ResultError,
    Status as Status,
    Usage as Usage,
)

__version__ = "0.1.0"

__all__ = (
    "AuthenticationError",
    "BatchFailed",
    "ConfigError",
    "DuplicateCustomId",
    "HTTPStatusError",
    "InputError",
    "InvalidRequestLine",
    "JobError",
    "LineTooLong",
    "ProtocolError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLarge",
    "Result",
    "ResultError",
    "Status",
    "StreamBatchError",
    "TransportError",
    "TransportTimeout",
    "Usage",
)
