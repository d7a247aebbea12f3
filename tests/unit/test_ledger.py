"""The ledger: exactly one record per request, its newest attempt's (pure)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from streambatch._core.jobstate import BatchState
from streambatch._core.ledger import ChunkLedger
from streambatch._core.manifest import BatchRecord, ChunkRecord, Planned
from streambatch._models import Result, ResultError

IDS = [f"r{k}" for k in range(12)]


@st.composite
def chunks(draw: st.DrawFn) -> tuple[ChunkRecord, list[set[str]], list[list[str]]]:
    """A chunk of attempts: what each holds, and the lines its files hold (in
    order: some missing, some twice, some for requests it never held)."""
    n = draw(st.integers(1, len(IDS)))
    ids = IDS[:n]
    held = [set(ids)]
    for _ in range(draw(st.integers(0, 3))):
        held.append(set(draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))))
    lines = []
    for attempt in held:
        answered = draw(st.lists(st.sampled_from(sorted(attempt)), unique=True))
        extra = draw(st.lists(st.sampled_from([*IDS, "stranger"]), max_size=3))
        lines.append(draw(st.permutations(answered + extra)))
    records = [
        BatchRecord(
            attempt=number,
            n_requests=len(h),
            batch_id=f"b{number}",
            state=BatchState.COMPLETED,
            plan=[Planned(kind="output", path="p")],
            downloads={"output": 1},
        )
        for number, h in enumerate(held, 1)
    ]
    chunk = ChunkRecord(
        index=0, path="c", n_requests=n, n_bytes=1, first_line=1, batches=records
    )
    return chunk, held, lines


@given(chunks())
def test_one_record_per_request_from_its_newest_attempt(
    case: tuple[ChunkRecord, list[set[str]], list[list[str]]],
) -> None:
    chunk, held, lines = case
    retried = [cid for h in held[1:] for cid in sorted(h)]
    ledger = ChunkLedger(chunk, retried)
    out: list[Result] = []
    for record in ledger.newest_first():
        number = record.attempt
        attempt = ledger.attempt(record, set(held[number - 1]))
        rows = [
            Result(
                custom_id=cid, status="succeeded", batch_id=f"b{number}", attempt=number
            )
            for cid in lines[number - 1]
        ]
        out += attempt.fresh(rows)
        out += [attempt.missing(cid) for cid in sorted(attempt.owed)]
    by_id = {}
    for row in out:
        assert row.custom_id not in by_id, f"two records for {row.custom_id}"
        by_id[row.custom_id] = row
    assert set(by_id) == held[0]  # every request, and nothing else
    for cid, row in by_id.items():
        newest = max(n for n, h in enumerate(held, 1) if cid in h)
        assert row.batch_id == f"b{newest}"
        assert row.attempt == sum(cid in h for h in held)  # times it was sent
        answered = cid in lines[newest - 1]
        assert (row.status == "succeeded") == answered
        if not answered:
            assert row.error is not None and row.error.type == "missing"


def test_a_reply_that_misses_the_schema_still_counts_as_the_providers_success() -> None:
    record = BatchRecord(
        attempt=1,
        n_requests=2,
        batch_id="b1",
        state=BatchState.COMPLETED,
        succeeded=2,
        plan=[Planned(kind="output", path="p")],
        downloads={"output": 1},
    )
    chunk = ChunkRecord(
        index=0, path="c", n_requests=2, n_bytes=1, first_line=1, batches=[record]
    )
    ledger = ChunkLedger(chunk)
    attempt = ledger.attempt(record, {"a", "b"})
    mismatch = ResultError(type="schema_mismatch", message="$.x: expected integer")
    rows = [
        Result(custom_id="a", status="succeeded"),
        Result(custom_id="b", status="errored", error=mismatch),
    ]
    assert len(attempt.fresh(rows)) == 2
    assert attempt.count_mismatch() is None  # no warning that the counts differ
    other = ledger.attempt(record, {"a", "b"})
    failed = ResultError(type="server_error", message="boom")
    other.fresh([rows[0], Result(custom_id="b", status="errored", error=failed)])
    assert other.count_mismatch() == (2, 1)
