"""A batch's states, normalised across providers.

Pure, and a leaf of ``_core``: the manifest, the state machine and every
provider's status mapping read this one list.
"""

from __future__ import annotations

import enum

__all__ = ("TERMINAL", "BatchState")


class BatchState(enum.StrEnum):
    """A batch's state, normalised (OpenAI's names; Anthropic's ``ended`` is
    ``completed``)."""

    VALIDATING = "validating"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether a batch in this state has ended."""
        return self in TERMINAL


TERMINAL = frozenset(
    {
        BatchState.COMPLETED,
        BatchState.FAILED,
        BatchState.EXPIRED,
        BatchState.CANCELLED,
    }
)
