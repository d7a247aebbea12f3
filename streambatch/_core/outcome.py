"""Which failed requests are worth sending again.

Pure. A *retryable* failure is one the provider, not the request, caused: expiry,
cancellation, a server or rate-limit error, an empty response, a result that never
came. A *permanent* one would fail again unchanged: an invalid request, a refusal
or content-policy block, a reply that does not match the user's schema.
"""

from __future__ import annotations

from .._models import Result

__all__ = ("is_retryable",)

_RETRYABLE_TYPES = frozenset(
    {
        "missing",
        "batch_expired",
        "batch_cancelled",
        "server_error",
        "api_error",
        "overloaded_error",
        "rate_limit_error",
        "rate_limit_exceeded",
        "timeout_error",
        "empty_response",
        "malformed_output",
        "token_limit_exceeded",
    }
)


def is_retryable(result: Result) -> bool:
    """Whether sending ``result``'s request again may succeed where it failed.

    Succeeded results are never retryable; expired and canceled ones always are.
    An errored result is retryable for a 408, 429 or 5xx status, a status of 0,
    or an error type of the list above (``batch_failed`` only when the batch
    failed for want of quota, ``token_limit_exceeded``).
    """
    if result.status == "succeeded":
        return False
    if result.status in ("expired", "canceled"):
        return True
    error = result.error
    if error is None:
        return True
    code = error.status_code
    if code is not None and (code == 0 or code in (408, 429) or code >= 500):
        return True
    if error.type == "batch_failed":
        return "token_limit_exceeded" in error.message
    return error.type in _RETRYABLE_TYPES
