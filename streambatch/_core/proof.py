"""Whether a batch found by matching holds exactly an attempt's custom_ids.

Pure: ``_proof`` reads the files and feeds this what it read. A provider without
batch metadata (Anthropic) names nothing of ours on a batch, and gives a batch's
custom_ids only in its results, once it has ended: a batch a look-up found is
the attempt's only if the custom_ids of its results are those of the attempt's
requests, each at least once, and no other. (A second line for one custom_id is
not a stranger: the ledger keeps the first.)

Memory: the attempt's custom_ids, twice (at most a batch's worth).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ("IdCheck",)


class IdCheck:
    """Compare a batch's result custom_ids with an attempt's.

    Args:
        expected: the attempt's custom_ids (kept, not copied).
    """

    __slots__ = ("_expected", "_reason", "_unseen")

    def __init__(self, expected: set[str]) -> None:
        self._expected = expected
        self._unseen = set(expected)
        self._reason: str | None = None  # the first thing that was not the attempt's

    def feed(self, ids: Iterable[str]) -> bool:
        """Take the custom_ids of some result lines; False once one is a
        stranger (the rest need not be read)."""
        if self._reason is not None:
            return False
        unseen, expected = self._unseen, self._expected
        for custom_id in ids:
            if custom_id not in expected:
                self._reason = (
                    f"it holds custom_id {custom_id!r}, which the attempt does not"
                )
                return False
            unseen.discard(custom_id)
        return True

    def unreadable(self, where: str) -> None:
        """A result line names no custom_id that can be read: the batch is not
        shown to be the attempt's."""
        if self._reason is None:
            self._reason = f"{where} names no custom_id"

    def refusal(self) -> str | None:
        """Why the batch is not the attempt's, or None when its custom_ids are
        exactly the attempt's."""
        if self._reason is not None:
            return self._reason
        if self._unseen:
            example = min(self._unseen)
            return (
                f"{len(self._unseen)} of the attempt's {len(self._expected)} "
                f"custom_ids have no result in it (e.g. {example!r})"
            )
        return None
