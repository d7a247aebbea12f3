"""The ledger: exactly one result per request of a chunk, its newest attempt's.

Pure: ``_collect`` reads the files and feeds this what it read. A chunk's attempts
are read newest first. Each attempt owes a result for every request it holds that
no newer attempt answered; a record for an owed request is kept (and the request
is no longer owed), any other is dropped: a request a newer attempt answered
(superseded), one the attempt never held, or a second line for the same request.
What an attempt still owes once its files are read is missing.

A record's ``attempt`` is how many times its request was sent: its attempt's
number, except in a chunk of three attempts or more, where a request may have
skipped one (a permanent failure retried later with ``--all``).

Memory: the custom_ids of the attempt being read, and those the newer attempts
answered: a chunk's worth at most.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import msgspec

from .._models import Result, ResultError
from .jobstate import batch_failed
from .manifest import BatchRecord, ChunkRecord

__all__ = ("AttemptLedger", "ChunkLedger")


class ChunkLedger:
    """One chunk's results, attempt by attempt, newest first.

    Args:
        chunk: the chunk.
        retried: the custom_ids of each retry attempt's requests (attempts 2 and
            on), needed only when the chunk has three attempts or more.
    """

    def __init__(self, chunk: ChunkRecord, retried: Iterable[str] = ()) -> None:
        self.chunk = chunk
        self._answered: set[str] = set()  # by a newer attempt
        self._reading: set[str] | None = None  # held by the attempt being read
        self._sends: Counter[str] | None = (
            Counter(retried) if len(chunk.batches) >= 3 else None
        )

    @property
    def needs_retried(self) -> bool:
        """Whether the retry attempts' custom_ids must be given (see above)."""
        return len(self.chunk.batches) >= 3

    def newest_first(self) -> list[BatchRecord]:
        """The attempts in the order they are to be read."""
        return self.chunk.batches[::-1]

    def attempt(self, record: BatchRecord, held: set[str]) -> AttemptLedger:
        """Start reading ``record``'s files (after those of every newer attempt);
        ``held`` are its requests' custom_ids (the ledger may keep the set)."""
        if self._reading is not None:  # the previous, newer attempt is read
            self._answered |= self._reading
        oldest = record is self.chunk.batches[0]
        # One set of what this attempt still owes, each id removed as its line
        # arrives. The usual job has one attempt per chunk, and then the set of
        # all ids is used as it is.
        if self._answered:
            owed = held - self._answered
        else:
            owed = held if oldest else set(held)
        self._reading = None if oldest else held
        return AttemptLedger(record, owed, self._answered, self._sends)


class AttemptLedger:
    """Which records of one attempt's files to give, and how many succeeded."""

    __slots__ = ("_newer", "_record", "_sends", "_succeeded", "dropped", "owed")

    def __init__(
        self,
        record: BatchRecord,
        owed: set[str],
        newer: set[str],
        sends: Counter[str] | None,
    ) -> None:
        self._record = record
        self.owed = owed  # custom_ids of this attempt not yet given a result
        self._newer = newer  # custom_ids a newer attempt answered
        self._sends = sends
        self._succeeded = 0
        self.dropped: list[str] = []  # custom_ids of records dropped, to log

    @property
    def renumbers(self) -> bool:
        """Whether records may need another ``attempt`` than their batch's
        (see the module's docstring): :meth:`fresh` renumbers them,
        :meth:`keep` cannot."""
        return self._sends is not None

    def fresh(self, records: list[Result]) -> list[Result]:
        """Keep the records of this attempt's own, owed custom_ids."""
        # As the provider counted them: a schema mismatch is its success.
        counted: list[str] = [
            "succeeded" if _provider_succeeded(r) else r.status for r in records
        ]
        kept = self.keep([r.custom_id for r in records], counted)
        rows = [records[i] for i in kept] if len(kept) < len(records) else records
        if self._sends is not None:
            rows = [self._sent(row) for row in rows]
        return rows

    def keep(self, custom_ids: list[str], statuses: list[str]) -> list[int]:
        """The indices of the records to keep, given each one's custom_id and
        status: those of this attempt's own, owed custom_ids, in order."""
        owed = self.owed
        fresh = owed.intersection(custom_ids)
        if len(fresh) == len(custom_ids):  # the usual block: all owed, once each
            owed -= fresh
            self._succeeded += statuses.count("succeeded")
            return list(range(len(custom_ids)))
        kept = []
        newer = self._newer
        succeeded = 0
        for index, custom_id in enumerate(custom_ids):
            try:
                owed.remove(custom_id)
            except KeyError:
                if custom_id in newer:  # superseded: still this batch's line
                    succeeded += statuses[index] == "succeeded"
                else:  # not this attempt's, or a second line for it
                    self.dropped.append(custom_id)
                continue
            succeeded += statuses[index] == "succeeded"
            kept.append(index)
        self._succeeded += succeeded
        return kept

    def count_mismatch(self) -> tuple[int, int] | None:
        """(the provider's succeeded count, the files') when they differ."""
        record = self._record
        if record.downloads and record.succeeded not in (None, self._succeeded):
            return record.succeeded or 0, self._succeeded
        return None

    def missing(self, custom_id: str) -> Result:
        """The record of an owed request that no file answered."""
        record = self._record
        if batch_failed(record):
            reasons = "; ".join(record.errors) or "the provider failed the batch"
            error = ResultError(type="batch_failed", message=reasons)
        elif record.batch_id is None:
            error = ResultError(
                type="missing", message="the request was never submitted"
            )
        elif record.unverified:
            error = ResultError(
                type="missing",
                message=f"batch {record.batch_id} is not yet shown to be this "
                "job's (its results are not used until it is)",
            )
        else:
            error = ResultError(
                type="missing",
                message=f"no result for this request in batch {record.batch_id} "
                f"(state {record.state})",
            )
        row = Result(
            custom_id=custom_id,
            status="errored",
            error=error,
            batch_id=record.batch_id,
            attempt=record.attempt,
        )
        return row if self._sends is None else self._sent(row)

    def _sent(self, row: Result) -> Result:
        assert self._sends is not None
        count = 1 + self._sends[row.custom_id]
        if count == row.attempt:
            return row
        return msgspec.structs.replace(row, attempt=count)


def _provider_succeeded(row: Result) -> bool:
    """Whether the provider counted the record succeeded: a reply that does not
    match the user's schema is errored here, but succeeded there."""
    if row.status == "succeeded":
        return True
    error = row.error
    return error is not None and error.type == "schema_mismatch"
