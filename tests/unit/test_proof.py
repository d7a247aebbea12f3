"""The pieces of a provable adoption: the custom_id check, the transitions that
record it, and the machine's registry of claimed batches."""

from __future__ import annotations

import pathlib
import random

import pytest
from hypothesis import given, strategies as st

from streambatch._core.jobstate import (
    VERIFYING,
    Action,
    BatchState,
    adopted,
    adoption_proven,
    adoption_refused,
    create_intended,
    created,
    downloaded,
    next_action,
    progress_of,
    retry_added,
    status_seen,
    unfinished,
)
from streambatch._core.manifest import BatchRecord, ChunkRecord, Manifest, Planned
from streambatch._core.proof import IdCheck
from streambatch._errors import JobError
from streambatch._io import claims

IDS = st.sets(st.text("abcxyz-_0123", min_size=1, max_size=4), min_size=1, max_size=30)


def verdict(expected: set[str], *blocks: list[str]) -> str | None:
    check = IdCheck(expected)
    for block in blocks:
        if not check.feed(block):
            break
    return check.refusal()


@given(IDS, st.randoms())
def test_the_attempts_own_ids_in_any_order_and_repeated_pass(
    expected: set[str], rng: random.Random
) -> None:
    lines = sorted(expected) + sorted(expected)[:3]  # a line may come twice
    rng.shuffle(lines)
    half = len(lines) // 2
    assert verdict(expected, lines[:half], lines[half:]) is None


@given(IDS, st.data())
def test_a_missing_id_or_a_stranger_fails(
    expected: set[str], data: st.DataObject
) -> None:
    lines = sorted(expected)
    missing = data.draw(st.sampled_from(lines))
    reason = verdict(expected, [cid for cid in lines if cid != missing])
    assert reason is not None and "have no result" in reason
    stranger = data.draw(st.text("ABC", min_size=1, max_size=3))
    reason = verdict(expected, [*lines, stranger])
    assert reason is not None and repr(stranger) in reason


def test_an_unreadable_line_fails_and_stays_failed() -> None:
    check = IdCheck({"a"})
    check.unreadable("line 3 of x.jsonl")
    assert not check.feed(["a"])
    assert check.refusal() == "line 3 of x.jsonl names no custom_id"


PLAN = [Planned(kind="results", path="v1/messages/batches/b/results")]


def intended() -> BatchRecord:
    return create_intended(BatchRecord(tag={"streambatch_job": "j"}), 5.0).record


def ended(record: BatchRecord) -> BatchRecord:
    step = status_seen(
        record, state=BatchState.COMPLETED, total=2, succeeded=2, failed=0, plan=PLAN
    )
    assert step is not None
    return downloaded(step.record, "results", 10).record


def manifest(record: BatchRecord) -> Manifest:
    chunk = ChunkRecord(
        index=0, path="chunks/0.jsonl", n_requests=2, n_bytes=1, first_line=1
    )
    chunk.batches.append(record)
    return Manifest(
        job_id="j",
        provider="anthropic",
        base_url="http://127.0.0.1:1",
        input_path="in.jsonl",
        input_sha256="0",
        input_bytes=1,
        n_requests=2,
        created_at=0.0,
        chunks=[chunk],
    )


def test_an_adopted_batch_is_verified_before_anything_uses_it() -> None:
    record = adopted(intended(), "b").record
    assert record.unverified and record.batch_id == "b"
    assert next_action(record, uploads=False, keep_files=False) is Action.POLL
    record = ended(record)
    assert next_action(record, uploads=False, keep_files=False) is Action.VERIFY
    assert progress_of(manifest(record)).batches == {VERIFYING: 1}
    assert not progress_of(manifest(record)).finished
    assert unfinished(manifest(record)) == [record]
    with pytest.raises(JobError, match="has not ended or not been downloaded"):
        retry_added(manifest(record).chunks[0], [("chunks/0.r2.jsonl", 1)])
    proven = adoption_proven(record).record
    assert not proven.unverified
    assert next_action(proven, uploads=False, keep_files=False) is Action.DONE
    assert progress_of(manifest(proven)).finished


def test_a_refused_batch_goes_back_to_the_intent_and_is_never_taken_again() -> None:
    before = intended()
    record = ended(adopted(before, "b").record)
    back = adoption_refused(record)
    assert back.record == BatchRecord(
        tag=before.tag, creating_since=before.creating_since, refused=["b"]
    )
    assert back.durability.name == "SYNC"
    assert next_action(back.record, uploads=False, keep_files=False) is Action.LOOK_UP
    with pytest.raises(JobError, match="shown not to be"):
        adopted(back.record, "b")
    again = ended(adopted(back.record, "c").record)
    assert adoption_refused(again).record.refused == ["b", "c"]


def test_only_an_adopted_batch_is_proven_or_refused() -> None:
    mine = ended(created(intended(), "b").record)
    with pytest.raises(JobError):
        adoption_proven(mine)
    with pytest.raises(JobError):
        adoption_refused(mine)
    with pytest.raises(JobError):  # not downloaded yet
        adoption_proven(adopted(intended(), "b").record)


@pytest.fixture
def registry(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    monkeypatch.setenv("STREAMBATCH_STATE_DIR", str(tmp_path))
    return tmp_path / "claimed-batches"


def test_a_claim_holds_against_other_adopters_until_released(
    registry: pathlib.Path,
) -> None:
    assert claims.claim("b", "A")
    assert claims.claim("b", "A")  # again: still its own
    assert not claims.claim("b", "B")
    assert claims.claimed("B") == {"b"} and claims.claimed("A") == frozenset()
    claims.release("b", "B")  # not B's to release
    assert claims.holder("b") == claims.Holder("A", created=False)
    claims.release("b", "A")
    assert claims.holder("b") is None
    assert claims.claim("b", "B")
    assert registry.read_text() == "b A\nb A released\nb B\n"


def test_the_creator_takes_a_batch_from_its_adopter_and_keeps_it(
    registry: pathlib.Path,
) -> None:
    assert claims.claim("b", "A")
    assert claims.claim("b", "B", created=True)
    assert claims.holder("b") == claims.Holder("B", created=True)
    assert not claims.claim("b", "A")
    claims.release("b", "B")  # a created batch is never released
    assert claims.holder("b") == claims.Holder("B", created=True)
    assert not claims.claim("b", "C", created=True)
    assert claims.claim("b", "B", created=True)  # idempotent, one line
    assert registry.read_text().count("created") == 1


def test_lines_of_before_read_as_claims(registry: pathlib.Path) -> None:
    registry.write_text("b A\nb B\nc C\n")
    assert claims.holder("b") == claims.Holder("A", created=False)
    assert claims.claimed("A") == {"c"}
