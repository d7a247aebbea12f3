"""Every exception streambatch raises, and nothing else.

A leaf module: it imports nothing from the package.

    StreamBatchError
    ├── ConfigError(StreamBatchError, ValueError)      bad arguments or options
    ├── InputError(StreamBatchError, ValueError)       the user's file  .path .line_no
    │   ├── LineTooLong                                .limit
    │   ├── InvalidRequestLine                         .custom_id .reason
    │   ├── DuplicateCustomId                          .custom_id
    │   ├── RequestTooLarge                            .size .limit
    │   └── InvalidInput                               .problems .total (many bad lines)
    ├── TransportError(StreamBatchError)               the wire: connect/read failure
    │   └── TransportTimeout(TransportError, TimeoutError)
    ├── ProviderError(StreamBatchError)                the provider's answer
    │   ├── HTTPStatusError                            .status .body .retry_after
    │   │   ├── AuthenticationError                    401/403
    │   │   ├── RateLimitError                         429 after retries ran out
    │   │   └── NotYetVisible                          404 for a file just uploaded
    │   ├── ProtocolError                              a body not of the documented shape
    │   └── BatchFailed                                the provider failed the batch
    ├── JobError(StreamBatchError)                     the job directory: changed input
    │   ├── JobLocked                                  another process holds it  .pid
    │   └── ResultsLost                                .batch_id (a download gone for good)
    └── DiskFull(StreamBatchError)                     no space left  .path .needed

Blame is in the class name: InputError means the user's data, ProviderError the
provider's answer, TransportError the network. Data goes in attributes; the message
is for humans. Row-level outcomes (an errored request) are never exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = (
    "AuthenticationError",
    "BatchFailed",
    "ConfigError",
    "DiskFull",
    "DuplicateCustomId",
    "HTTPStatusError",
    "InputError",
    "InvalidInput",
    "InvalidRequestLine",
    "JobError",
    "JobLocked",
    "LineTooLong",
    "NotYetVisible",
    "ProtocolError",
    "ProviderError",
    "RateLimitError",
    "RequestTooLarge",
    "ResultsLost",
    "StreamBatchError",
    "TransportError",
    "TransportTimeout",
)


class StreamBatchError(Exception):
    """Base class of every error streambatch raises."""


class ConfigError(StreamBatchError, ValueError):
    """An argument or option is invalid."""


class InputError(StreamBatchError, ValueError):
    """A line of the user's input is invalid.

    Attributes:
        path: the input file, when there is one.
        line_no: the 1-based line number, when known.
    """

    def __init__(
        self, message: str, *, path: str | None = None, line_no: int | None = None
    ) -> None:
        where = ":".join(str(p) for p in (path, line_no) if p is not None)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.line_no = line_no


class LineTooLong(InputError):
    """A line is longer than the configured maximum (``limit`` bytes)."""

    def __init__(
        self, limit: int, *, path: str | None = None, line_no: int | None = None
    ) -> None:
        super().__init__(f"line longer than {limit} bytes", path=path, line_no=line_no)
        self.limit = limit


class InvalidRequestLine(InputError):
    """A request line breaks the provider's rules."""

    def __init__(
        self,
        reason: str,
        *,
        custom_id: str | None = None,
        path: str | None = None,
        line_no: int | None = None,
    ) -> None:
        label = f"custom_id {custom_id!r}: " if custom_id is not None else ""
        super().__init__(f"{label}{reason}", path=path, line_no=line_no)
        self.custom_id = custom_id
        self.reason = reason


class DuplicateCustomId(InputError):
    """A custom_id appears more than once in the input."""

    def __init__(
        self, custom_id: str, *, path: str | None = None, line_no: int | None = None
    ) -> None:
        super().__init__(
            f"custom_id {custom_id!r} appears more than once",
            path=path,
            line_no=line_no,
        )
        self.custom_id = custom_id


class RequestTooLarge(InputError):
    """One request alone is larger than a batch may be."""

    def __init__(
        self,
        size: int,
        limit: int,
        *,
        path: str | None = None,
        line_no: int | None = None,
    ) -> None:
        super().__init__(
            f"request of {size} bytes exceeds the {limit}-byte limit",
            path=path,
            line_no=line_no,
        )
        self.size = size
        self.limit = limit


class InvalidInput(InputError):
    """The input has bad lines; nothing was written or uploaded.

    Attributes:
        problems: ``(line_no, custom_id, reason)`` of the first bad lines, in line
            order (``custom_id`` is None when it could not be read).
        total: how many problems were found in all (``len(problems)`` or more).

    The message lists the problems one per line as ``path:LINE: custom_id 'X':
    reason``, then how many more were left out.
    """

    def __init__(
        self,
        problems: Sequence[tuple[int, str | None, str]],
        *,
        total: int,
        path: str | None = None,
    ) -> None:
        name = path if path is not None else "<input>"
        rows = [
            f"{name}:{line_no}: "
            + (f"custom_id {custom_id!r}: " if custom_id is not None else "")
            + reason
            for line_no, custom_id, reason in problems
        ]
        more = total - len(problems)
        tail = [f"... and {more} more"] if more > 0 else []
        head = f"{total} bad input line(s) in {name}; nothing was written:"
        super().__init__("\n".join([head, *rows, *tail]))
        self.path = path
        self.line_no = problems[0][0] if problems else None
        self.problems: list[tuple[int, str | None, str]] = list(problems)
        self.total = total


class TransportError(StreamBatchError):
    """The connection failed: refused, reset, or closed mid-body."""


class TransportTimeout(TransportError, TimeoutError):
    """A socket operation timed out."""


class ProviderError(StreamBatchError):
    """The provider answered, but not with what was needed."""


class HTTPStatusError(ProviderError):
    """The provider answered with a non-success status.

    Attributes:
        status: the HTTP status code.
        body: the start of the response body (at most 2,000 characters).
        retry_after: the server's requested delay in seconds, if it gave one.
    """

    def __init__(
        self, status: int, body: str, *, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.body = body[:2000]
        self.retry_after = retry_after
        super().__init__(f"HTTP {status}: {self.body[:300]}")


class AuthenticationError(HTTPStatusError):
    """The provider rejected the credentials (401 or 403)."""


class RateLimitError(HTTPStatusError):
    """The provider kept answering 429 after every retry."""


class NotYetVisible(HTTPStatusError):
    """A 404 for a resource just made (a file uploaded a moment ago): the
    provider's replicas have not all seen it yet, so it is worth a retry."""


class ProtocolError(ProviderError):
    """A provider's body does not have the documented shape."""


class BatchFailed(ProviderError):
    """The provider reports that a whole batch failed.

    Attributes:
        batch_id: the provider's batch id.
        state: the provider's state string.
    """

    def __init__(self, batch_id: str, state: str, reason: str) -> None:
        super().__init__(f"batch {batch_id} {state}: {reason}")
        self.batch_id = batch_id
        self.state = state


class JobError(StreamBatchError):
    """The job directory cannot be used: locked, unreadable, or for another input."""


class JobLocked(JobError):
    """Another process holds the job directory's lock.

    Attributes:
        pid: the holder's process id, when it could be read.
    """

    def __init__(self, path: object, pid: int | None) -> None:
        who = f"process {pid}" if pid is not None else "another streambatch process"
        super().__init__(f"{path}: job is locked: {who} is using it")
        self.pid = pid


class ResultsLost(JobError):
    """A batch's downloaded results are gone or damaged and cannot be had again.

    Attributes:
        batch_id: the provider's batch id whose results are lost.
    """

    def __init__(self, batch_id: str, reason: str) -> None:
        super().__init__(f"the results of batch {batch_id} are lost: {reason}")
        self.batch_id = batch_id


class DiskFull(StreamBatchError):
    """A filesystem ran out of space (or quota) while streambatch wrote to it.

    Never retried: the same command succeeds once space is freed, and what was
    on disk before (the manifest above all) is left as it was.

    Attributes:
        path: the file (or directory) being written.
        needed: about how many bytes the write needed, when known.
    """

    def __init__(self, path: str, needed: int | None = None) -> None:
        need = f"about {needed:,} bytes needed" if needed else "more space needed"
        super().__init__(
            f"{path}: no space left on device ({need}); "
            "free some space and run the same command again"
        )
        self.path = path
        self.needed = needed
