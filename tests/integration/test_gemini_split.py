"""Gemini input lines, ``{"key", "request"}``: checked, split and deduplicated by key."""

from __future__ import annotations

import pathlib

import msgspec
import pytest

from streambatch._core.requests import Problem, Request, RequestChecker
from streambatch._errors import InvalidInput
from streambatch._io.split import split_input
from streambatch._providers import input_rules


def gemini_line(key: object, **request: object) -> bytes:
    body = {
        "model": "gemini-2.5-flash",
        "contents": [{"role": "user", "parts": [{"text": f"q {key}"}]}],
    }
    return msgspec.json.encode({"key": key, "request": body | request})


def lines_of(path: str) -> list[bytes]:
    return pathlib.Path(path).read_bytes().splitlines()


def test_a_gemini_line_is_read_by_its_key() -> None:
    line = gemini_line("req-1", generationConfig={"temperature": 0.5})
    url = "models/gemini-2.5-flash:batchGenerateContent"
    assert RequestChecker(input_rules("gemini").lines).check_line(line, 7) == Request(
        7, "req-1", (url, "gemini-2.5-flash"), line
    )


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (gemini_line(""), "key must be a non-empty string"),
        (gemini_line(5), "key"),
        (gemini_line("k", contents=[]), "request.contents must be a non-empty array"),
        (msgspec.json.encode({"key": "k"}), "missing field request"),
        (gemini_line("k", model=""), "request.model must name the model"),
        (gemini_line("k").replace(b'"key"', b'"custom_id"'), "missing field key"),
    ],
)
def test_each_bad_gemini_line_says_why(line: bytes, words: str) -> None:
    [got] = RequestChecker(input_rules("gemini").lines).check_run(line, 1)
    assert isinstance(got, Problem)
    assert words in got.reason


def test_a_bad_gemini_line_is_named_by_its_key() -> None:
    [got] = RequestChecker(input_rules("gemini").lines).check_run(
        gemini_line("k-7", contents=[]), 1
    )
    assert isinstance(got, Problem)
    assert got.custom_id == "k-7"


async def test_gemini_input_splits_into_keyed_chunks(tmp_path: pathlib.Path) -> None:
    lines = [gemini_line(f"k-{n}") for n in range(25)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line in lines))
    plan = await split_input(
        source, input_rules("gemini"), tmp_path / "out", max_requests=10
    )
    assert [c.n_requests for c in plan.chunks] == [10, 10, 5]
    written = [line for c in plan.chunks for line in lines_of(c.path)]
    assert written == lines


async def test_each_model_gets_its_own_chunks_named_by_their_batch_url(
    tmp_path: pathlib.Path,
) -> None:
    lines = [
        gemini_line(f"k-{n}", model="models/gemini-2.5-pro" if n % 2 else "gemini-x")
        for n in range(6)
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line in lines))
    plan = await split_input(source, input_rules("gemini"), tmp_path / "out")
    assert [(c.group or ("",))[0] for c in plan.chunks] == [
        "models/gemini-x:batchGenerateContent",
        "models/gemini-2.5-pro:batchGenerateContent",
    ]


async def test_a_repeated_key_is_reported_with_its_first_line(
    tmp_path: pathlib.Path,
) -> None:
    lines = [gemini_line(f"k-{n}") for n in range(30)]
    lines[20] = gemini_line("k-3")  # across chunks
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line in lines))
    with pytest.raises(InvalidInput) as caught:
        await split_input(
            source, input_rules("gemini"), tmp_path / "out", max_requests=10
        )
    assert f"{source}:21: custom_id 'k-3': duplicate custom_id (first on line 4)" in (
        str(caught.value)
    )
