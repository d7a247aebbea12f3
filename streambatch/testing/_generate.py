"""Write a batch's result files from its bucket files, in arbitrary order.

Runs in a worker thread. Strategy: load one bucket (a few MB) at a time,
shuffle it with a seeded RNG and append each item's result line to the output
(or error) file, so memory stays flat whatever the batch size, and the order is
neither the input order nor stable across batches. Imports msgspec and stdlib.
"""

from __future__ import annotations

import random
import threading
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ._bodies import MISTRAL_ENDPOINTS, OPENAI_ENDPOINTS
from ._gemini_lines import gemini_line
from ._lines import Item, Outcome, anthropic_line, openai_line
from ._plan import SPLIT_RESULTS, Plan

_decode = msgspec.json.decode


@dataclass(frozen=True)
class Written:
    """What generation produced.

    Attributes:
        counts: Items per outcome (OpenAI: ok/error/expired/cancelled;
            Anthropic: succeeded/errored/expired/canceled).
        output_bytes: Size of the output (OpenAI) or results (Anthropic) file.
        error_bytes: Size of the OpenAI error file (0 for Anthropic).
    """

    counts: Counter[str]
    output_bytes: int
    error_bytes: int


def generate(
    plan: Plan,
    cutoff: int,
    end: Outcome,
    created: int,
    output: Path,
    errors: Path,
    stop: threading.Event,
) -> Written | None:
    """Write every item's result line.

    Args:
        plan: The batch's fixed facts; ``plan.work_dir`` holds the buckets.
        cutoff: Items with an input index at or past it did not run.
        end: The outcome of those items (``expired`` or ``cancelled``).
        created: Unix time stamped into response bodies.
        output: The output file (OpenAI) or results file (Anthropic).
        errors: The error file (OpenAI only; Anthropic writes none).
        stop: Set when the emulator closes; generation then returns None.

    Returns:
        The counts and file sizes, or None when stopped.
    """
    counts: Counter[str] = Counter()
    make_line = _LineMaker(plan, cutoff, end, created)
    paths = sorted(plan.work_dir.glob("bucket-*"))
    rng = random.Random(f"{plan.seed}/{plan.batch_id}")
    rng.shuffle(paths)
    with output.open("wb", buffering=1 << 20) as out, errors.open("wb") as err:
        for path in paths:
            records = path.read_bytes().splitlines()
            rng.shuffle(records)
            for number, record in enumerate(records):
                if number % 4096 == 0 and stop.is_set():
                    return None
                line, kind = make_line(record)
                counts[kind] += 1
                to_output = kind == "ok" or plan.provider not in SPLIT_RESULTS
                (out if to_output else err).write(line)
    return Written(counts, output.stat().st_size, errors.stat().st_size)


class _LineMaker:
    """Turn one bucket record into its result line (hot path: no per-line setup)."""

    def __init__(self, plan: Plan, cutoff: int, end: Outcome, created: int) -> None:
        self.plan = plan
        self.cutoff = cutoff
        self.end = end
        self.created = created
        self.tag = plan.tag
        self.openai = plan.provider in SPLIT_RESULTS
        mistral = plan.provider == "mistral"
        self.bodies = MISTRAL_ENDPOINTS if mistral else OPENAI_ENDPOINTS

    def __call__(self, record: bytes) -> tuple[bytes, str]:
        plan = self.plan
        index_text, custom_id_json, body_json = record.split(b"\t", 2)
        index = int(index_text)
        custom_id: str = _decode(custom_id_json)
        outcome: Outcome = self.end
        if index < self.cutoff:
            outcome = "error" if plan.item_fails(custom_id) else "ok"
        body: dict[str, Any] = {}
        if outcome == "ok":
            try:
                body = _decode(body_json)
            except msgspec.DecodeError:  # intake checks bodies; never hang on one
                outcome = "error"
        item = Item(
            index=index,
            custom_id=custom_id,
            body=body,
            rid=f"{self.tag}{index:08x}",
            variant=zlib.crc32(custom_id_json),
        )
        if self.openai:
            line = openai_line(
                item,
                outcome,
                plan.endpoint,
                self.created,
                plan.reply_words,
                plan.embedding_dims,
                plan.id_key,
                self.bodies,
            )
            return line, outcome
        if plan.provider == "gemini":
            return gemini_line(item, outcome, plan.reply_words)
        return anthropic_line(item, outcome, self.created, plan.reply_words)
