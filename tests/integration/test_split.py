"""split_input and split_requests on real files: chunks, limits, every kind of bad line."""

from __future__ import annotations

import hashlib
import itertools
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from streambatch import ConfigError, InputError
from streambatch._core import split as core_split
from streambatch._core.pack import Chunker
from streambatch._core.split import Splitter
from streambatch._core.utf8 import WHOLE
from streambatch._errors import InvalidInput
from streambatch._io import utf8 as utf8_check
from streambatch._io.ids import IdSpool
from streambatch._io.split import SplitPlan, split_input, split_requests
from streambatch._io.utf8 import Utf8Check
from streambatch._providers import input_rules


def openai_line(n: int, model: str = "gpt-4o-mini", pad: int = 0) -> dict[str, object]:
    content = f"question {n} " + "é" * pad
    return {
        "custom_id": f"req-{n}",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": content}]},
    }


def anthropic_line(n: int, pad: int = 0) -> dict[str, object]:
    return {
        "custom_id": f"req-{n}",
        "params": {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "x" * pad}],
        },
    }


def write(
    path: pathlib.Path, lines: list[dict[str, object]] | list[bytes], end: bytes = b"\n"
) -> bytes:
    raw = [x if isinstance(x, bytes) else msgspec.json.encode(x) for x in lines]
    data = b"".join(line + end for line in raw)
    path.write_bytes(data)
    return data


def read(path: str) -> bytes:
    return pathlib.Path(path).read_bytes()


def chunk_lines(plan: SplitPlan) -> list[bytes]:
    return [line for c in plan.chunks for line in read(c.path).splitlines()]


async def test_openai_input_splits_into_chunks_that_concatenate_to_the_input(
    tmp_path: pathlib.Path,
) -> None:
    source = tmp_path / "in.jsonl"
    data = write(source, [openai_line(n, pad=n % 300) for n in range(1, 2001)])
    plan = await split_input(
        source,
        input_rules("openai"),
        tmp_path / "out",
        max_requests=300,
        max_bytes=100_000,
    )
    assert plan.input_sha256 == hashlib.sha256(data).hexdigest()
    assert (plan.input_bytes, plan.n_requests) == (len(data), 2000)
    assert chunk_lines(plan) == data.splitlines()
    assert len(plan.chunks) > 7
    for index, chunk in enumerate(plan.chunks):
        body = read(chunk.path)
        assert chunk.index == index and chunk.path.endswith(f"chunk-{index:05d}.jsonl")
        assert (chunk.n_bytes, chunk.n_requests) == (len(body), body.count(b"\n"))
        assert chunk.n_requests <= 300 and chunk.n_bytes <= 100_000
        assert chunk.group == ("/v1/chat/completions", "gpt-4o-mini")
        assert (
            msgspec.json.decode(body.splitlines()[0])["custom_id"]
            == f"req-{chunk.first_line}"
        )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"chunk-{i:05d}.jsonl" for i in range(len(plan.chunks))
    ]


async def test_anthropic_bytes_count_the_json_body_framing(
    tmp_path: pathlib.Path,
) -> None:
    source = tmp_path / "in.jsonl"
    data = write(source, [anthropic_line(n, pad=n % 50) for n in range(500)])
    plan = await split_input(
        source, input_rules("anthropic"), tmp_path / "out", max_bytes=5_000
    )
    assert chunk_lines(plan) == data.splitlines()
    for chunk in plan.chunks:
        lines = read(chunk.path).splitlines()
        body = b'{"requests":[' + b",".join(lines) + b"]}"
        assert len(body) <= 5_000
        assert chunk.group is None
    # greedy: each chunk but the last would overflow with the next line
    for chunk, after in itertools.pairwise(plan.chunks):
        first = read(after.path).splitlines()[0]
        assert chunk.n_bytes + 14 + len(first) + 1 > 5_000


async def test_mixed_models_become_separate_chunks(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "in.jsonl"
    models = ["gpt-4o-mini", "gpt-4o", "gpt-4o-mini", "o3"]
    write(source, [openai_line(n, model=models[n % 4]) for n in range(40)])
    plan = await split_input(
        source, input_rules("openai"), tmp_path / "out", max_requests=8
    )
    by_group: dict[object, int] = {}
    for chunk in plan.chunks:
        rows = [msgspec.json.decode(x) for x in read(chunk.path).splitlines()]
        assert {r["body"]["model"] for r in rows} == {chunk.group[1]}  # type: ignore[index]
        by_group[chunk.group] = by_group.get(chunk.group, 0) + chunk.n_requests
    assert by_group == {
        ("/v1/chat/completions", "gpt-4o-mini"): 20,
        ("/v1/chat/completions", "gpt-4o"): 10,
        ("/v1/chat/completions", "o3"): 10,
    }
    mini = ("/v1/chat/completions", "gpt-4o-mini")
    assert [c.n_requests for c in plan.chunks if c.group == mini] == [8, 8, 4]


async def test_crlf_bom_and_blank_lines_are_cleaned(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [msgspec.json.encode(openai_line(n)) for n in range(5)]
    source.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join([*lines[:2], b"", *lines[2:]]))
    plan = await split_input(source, input_rules("openai"), tmp_path / "out")
    [chunk] = plan.chunks
    assert read(chunk.path) == b"".join(x + b"\n" for x in lines)


async def test_lines_cut_across_read_blocks_survive(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "in.jsonl"
    data = write(source, [openai_line(n, pad=40_000) for n in range(120)], end=b"\r\n")
    assert len(data) > 8 * 1024 * 1024  # many 1 MiB reads, lines cut at their edges
    plan = await split_input(
        source, input_rules("azure"), tmp_path / "out", max_requests=50
    )
    assert chunk_lines(plan) == data.splitlines()
    assert [c.n_requests for c in plan.chunks] == [50, 50, 20]


async def test_every_bad_line_is_listed_and_nothing_is_left(
    tmp_path: pathlib.Path,
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    lines: list[bytes] = [msgspec.json.encode(openai_line(n)) for n in range(3000)]
    lines[10] = (
        b'{"custom_id": "req-10", "method": "POST", "url": "/v1/chat/completions"'
    )
    lines[20] = msgspec.json.encode({**openai_line(20), "method": "GET"})
    lines[2500] = msgspec.json.encode({**openai_line(2500), "url": "/v1/nope"})
    lines[2999] = msgspec.json.encode(openai_line(5))  # duplicate across chunks
    write(source, lines)
    with pytest.raises(InvalidInput) as caught:
        await split_input(source, input_rules("openai"), out, max_requests=1000)
    error = caught.value
    assert error.total == 4
    assert [(n, cid) for n, cid, _ in error.problems] == [
        (11, "req-10"),
        (21, "req-20"),
        (2501, "req-2500"),
        (3000, "req-5"),
    ]
    assert "not valid JSON" in error.problems[0][2]
    assert "first on line 6" in error.problems[3][2]
    assert f"{source}:3000: custom_id 'req-5': duplicate" in str(error)
    assert list(out.iterdir()) == []


async def test_problems_are_capped_but_counted(tmp_path: pathlib.Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    write(source, [b"[]"] * 30 + [msgspec.json.encode(anthropic_line(1))] * 3)
    with pytest.raises(InvalidInput) as caught:
        await split_input(source, input_rules("anthropic"), out, max_problems=5)
    assert caught.value.total == 32
    assert [n for n, _, _ in caught.value.problems] == [1, 2, 3, 4, 5]
    assert "... and 27 more" in str(caught.value)


async def test_too_long_and_too_large_lines_are_problems(
    tmp_path: pathlib.Path,
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    write(
        source,
        [anthropic_line(1), anthropic_line(2, pad=5000), anthropic_line(3, pad=900)],
    )
    with pytest.raises(InvalidInput) as caught:
        await split_input(
            source, input_rules("anthropic"), out, max_line_bytes=2000, max_bytes=1000
        )
    assert [(n, cid) for n, cid, _ in caught.value.problems] == [
        (2, "req-2"),
        (3, "req-3"),
    ]
    assert "longer than the limit" in caught.value.problems[0][2]
    assert "larger than a whole batch" in caught.value.problems[1][2]


async def test_bad_configuration_and_empty_input(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "in.jsonl"
    write(source, [openai_line(1)])
    with pytest.raises(ConfigError):
        await split_input(
            source, input_rules("openai"), tmp_path / "a", max_requests=50_001
        )
    with pytest.raises(ConfigError):
        await split_input(
            source, input_rules("openai"), tmp_path / "b", max_bytes=10**9
        )
    source.write_bytes(b"\n \n")
    with pytest.raises(InputError, match="no request"):
        await split_input(source, input_rules("openai"), tmp_path / "c")
    assert list((tmp_path / "c").iterdir()) == []


async def test_too_many_groups_is_an_input_error(tmp_path: pathlib.Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    write(source, [openai_line(n, model=f"m{n}") for n in range(40)])
    with pytest.raises(InputError, match="more than 32"):
        await split_input(source, input_rules("openai"), out)
    assert list(out.iterdir()) == []


async def test_requests_from_python_sync_and_async_match_the_file_path(
    tmp_path: pathlib.Path,
) -> None:
    rows = [anthropic_line(n, pad=n) for n in range(300)]
    source = tmp_path / "in.jsonl"
    write(source, rows)
    from_file = await split_input(
        source, input_rules("anthropic"), tmp_path / "f", max_requests=70
    )

    async def agen() -> AsyncIterator[dict[str, object]]:
        for row in rows:
            yield row

    for name, requests in (("s", iter(rows)), ("a", agen())):
        plan = await split_requests(
            requests, input_rules("anthropic"), tmp_path / name, max_requests=70
        )
        assert plan.input_sha256 == from_file.input_sha256
        assert chunk_lines(plan) == chunk_lines(from_file)


async def test_bad_requests_from_python_are_numbered_by_item(
    tmp_path: pathlib.Path,
) -> None:
    rows: list[object] = [anthropic_line(n) for n in range(5)]
    rows[1] = {"custom_id": "bad id", "params": {}}
    rows[3] = {"custom_id": "x", "params": object()}
    rows[4] = anthropic_line(0)
    with pytest.raises(InvalidInput) as caught:
        await split_requests(rows, input_rules("anthropic"), tmp_path / "out")
    assert [(n, cid) for n, cid, _ in caught.value.problems] == [
        (2, "bad id"),
        (4, None),
        (5, "req-0"),
    ]
    assert "cannot encode" in caught.value.problems[1][2]
    assert list((tmp_path / "out").iterdir()) == []


def test_id_spool_finds_duplicates_across_spilled_runs(tmp_path: pathlib.Path) -> None:
    written = {(n % 7, n): f"id-{n % 500}" for n in range(2000)}  # where -> custom_id
    ids = [(cid, offset + 1, chunk, offset) for (chunk, offset), cid in written.items()]
    with IdSpool(tmp_path, buffer_bytes=1000) as spool:
        for start in range(0, len(ids), 64):
            spool.add(ids[start : start + 64])
        assert len(list(tmp_path.iterdir())) == 1  # records spilled to disk
        found = sorted(spool.duplicates(lambda chunk, offset: written[chunk, offset]))
    assert len(found) == 1500
    assert found[0] == ("id-0", 501, 1)
    assert all(int(cid[3:]) + 1 == first for cid, _, first in found)
    assert list(tmp_path.iterdir()) == []


def prepared(directory: pathlib.Path, data: bytes) -> pathlib.Path:
    directory.mkdir(exist_ok=True)
    (directory / "in.jsonl").write_bytes(data)
    return directory / "in.jsonl"


async def split_both_ways(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
    data: bytes,
    provider: str,
    **limits: Any,
) -> tuple[object, object, int]:
    """Split ``data`` with runs placed whole, then line by line; compare outcomes.

    Returns both outcomes (chunk plans and bytes, or the problems raised) and how
    many chunk placements the whole-run path made.
    """
    source = prepared(tmp_path, data)
    placed_whole = 0
    add_run = Chunker.add_run

    def counting(self: Chunker[object], *args: object) -> tuple[int, bool, int]:
        nonlocal placed_whole
        placed_whole += 1
        return add_run(self, *args)  # type: ignore[arg-type]

    async def outcome(name: str) -> object:
        try:
            plan = await split_input(
                source, input_rules(provider), tmp_path / name, **limits
            )
        except InvalidInput as error:
            return error.total, error.problems
        chunks = [(c.n_requests, c.n_bytes, c.group, c.first_line) for c in plan.chunks]
        bodies = [read(c.path) for c in plan.chunks]
        return plan.input_sha256, plan.n_requests, chunks, bodies

    with monkeypatch.context() as patch:
        patch.setattr(Chunker, "add_run", counting)
        fast = await outcome("fast")
    with monkeypatch.context() as patch:
        patch.setattr(
            Splitter,
            "_place_run",
            lambda self, run, step: self._place(run.requests(), step),
        )
        slow = await outcome("slow")
    return fast, slow, placed_whole


def lines_of(rows: list[dict[str, object]], end: bytes = b"\n") -> bytes:
    return b"".join(msgspec.json.encode(row) + end for row in rows)


async def test_a_run_that_exactly_fills_chunks_is_placed_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    data = lines_of([openai_line(n) for n in range(100, 130)])  # lines of one size
    size = data.index(b"\n") + 1
    fast, slow, whole = await split_both_ways(
        monkeypatch, tmp_path, data, "openai", max_requests=10, max_bytes=10 * size
    )
    assert fast == slow and whole == 3
    assert [c[0] for c in fast[2]] == [10, 10, 10]  # type: ignore[index]


@pytest.mark.parametrize("max_bytes", [997, 5_000, 1_000_000])
async def test_runs_crossing_chunk_limits_match_line_by_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, max_bytes: int
) -> None:
    rows = [openai_line(n, pad=n * 37 % 300) for n in range(3000)]
    data = lines_of(rows)
    assert len(data) > 1024 * 1024  # several reads, so several runs
    fast, slow, whole = await split_both_ways(
        monkeypatch, tmp_path, data, "openai", max_requests=333, max_bytes=max_bytes
    )
    assert fast == slow and whole > 1


async def test_anthropic_crlf_runs_without_a_last_newline_match(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    data = lines_of([anthropic_line(n, pad=n % 40) for n in range(400)], b"\r\n")
    fast, slow, whole = await split_both_ways(
        monkeypatch, tmp_path, data[:-2] + b"\r", "anthropic", max_bytes=9_000
    )
    assert fast == slow and whole > 1
    assert b"\r" not in b"".join(fast[3])  # type: ignore[index]


async def test_blank_lines_and_mixed_groups_match(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    models = ["a", "a", "b", "a", "c"]
    rows = lines_of([openai_line(n, model=models[n % 5]) for n in range(500)])
    mixed = rows.replace(b"\n", b"\n\n", 3).replace(b"\n", b"\n \t\n", 2)
    one = lines_of([openai_line(n) for n in range(600)])
    blank = one[:5000] + b"\n   \n" + one[5000:]
    for data in (rows, mixed, blank):
        fast, slow, _ = await split_both_ways(
            monkeypatch, tmp_path / str(len(data)), data, "openai", max_requests=70
        )
        assert fast == slow


async def test_duplicates_found_by_whole_runs_match(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    rows = [openai_line(n, pad=200) for n in range(5000)]
    rows[4000] = openai_line(17, pad=200)
    rows[4999] = openai_line(3999, pad=200)
    fast, slow, whole = await split_both_ways(
        monkeypatch, tmp_path, lines_of(rows), "openai", max_requests=1000
    )
    assert fast == slow and whole > 1
    found = [p[:2] for p in fast[1]]  # type: ignore[index]
    assert found == [(4001, "req-17"), (5000, "req-3999")]


@pytest.fixture(
    params=["in the split", "in the split, no orjson", "child", "child, no orjson"]
)
def utf8_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Check UTF-8 in the split or in a child process (as for a large file), with
    orjson (the fast extra, in dev) or as without it."""
    assert WHOLE is not None
    if request.param.startswith("child"):
        monkeypatch.setattr(utf8_check, "CHILD_BYTES", 0)
    if request.param.endswith("no orjson"):
        monkeypatch.setattr(core_split, "WHOLE", None)
        monkeypatch.setattr(utf8_check, "WHOLE", None)
    return str(request.param)


async def test_bad_bytes_in_a_field_the_rules_skip_are_refused(
    tmp_path: pathlib.Path, utf8_path: str
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    lines = [msgspec.json.encode(openai_line(n, pad=3)) for n in range(50)]
    lines[7] = lines[7].replace("é".encode(), b"\xc3(", 1)  # inside the messages
    lines[30] = lines[30].replace("é".encode(), b"\xff", 1)
    write(source, lines)
    with pytest.raises(InvalidInput) as caught:
        await split_input(source, input_rules("openai"), out)
    assert caught.value.total == 2
    assert caught.value.problems == [
        (8, "req-7", "not valid UTF-8"),
        (31, "req-30", "not valid UTF-8"),
    ]
    assert f"{source}:8: custom_id 'req-7': not valid UTF-8" in str(caught.value)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "bad", [b"\xc3(", b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]
)
async def test_bad_bytes_anywhere_in_a_large_input_are_found_however_it_is_read(
    tmp_path: pathlib.Path, utf8_path: str, bad: bytes
) -> None:
    # about 3 MB: lines span read blocks, and a line longer than a block is held
    # whole; the bad bytes sit in fields no rule reads, in a line that is otherwise
    # good, at the start, middle and end of the input and in the long line
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    lines = [msgspec.json.encode(openai_line(n, pad=9 + n % 700)) for n in range(4000)]
    lines[2000] = msgspec.json.encode(openai_line(2000, pad=1_500_000))
    spots = {0: 1, 1999: 5, 2000: 1_000_000, 3999: 7}
    for n, at in spots.items():
        body = lines[n]
        at = body.index("é".encode(), at)
        lines[n] = body[:at] + bad + body[at:]
    lines[3000] = lines[3000].replace(b'"user"', b'"us' + bad + b'er"')  # a role
    write(source, lines)
    with pytest.raises(InvalidInput) as caught:
        await split_input(source, input_rules("openai"), out)
    numbers = [*sorted(spots), 3000]
    assert caught.value.problems == [
        (n + 1, f"req-{n}", "not valid UTF-8") for n in sorted(numbers)
    ]
    assert caught.value.total == len(numbers)


async def test_bad_bytes_in_anthropic_and_gemini_lines_name_their_ids(
    tmp_path: pathlib.Path, utf8_path: str
) -> None:
    source = tmp_path / "in.jsonl"
    lines = [msgspec.json.encode(anthropic_line(n, pad=5)) for n in range(20)]
    lines[4] = lines[4].replace(b"xxx", b"x\xe2\x82x")  # inside params.messages
    write(source, lines)
    with pytest.raises(InvalidInput) as caught:
        await split_input(source, input_rules("anthropic"), tmp_path / "a")
    assert caught.value.problems == [(5, "req-4", "not valid UTF-8")]
    body = {"model": "gemini-2.5-flash", "contents": [{"parts": [{"text": "ok"}]}]}
    rows = [msgspec.json.encode({"key": f"k{n}", "request": body}) for n in range(20)]
    rows[9] = rows[9].replace(b'"ok"', b'"o\xffk"')  # inside request.contents
    write(source, rows)
    with pytest.raises(InvalidInput) as caught:
        await split_input(source, input_rules("gemini"), tmp_path / "g")
    assert caught.value.problems[0][0] == 10
    assert caught.value.problems[0][2] == "not valid UTF-8"
    if utf8_path.startswith("in the split"):  # named by the key the check read
        assert caught.value.problems == [(10, "k9", "not valid UTF-8")]


async def test_bad_bytes_the_decoder_sees_are_reported_once(
    tmp_path: pathlib.Path, utf8_path: str
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    lines = [msgspec.json.encode(openai_line(n)) for n in range(5)]
    lines[2] = lines[2].replace(b"gpt-4o-mini", b"gpt-\xff")  # the model is decoded
    lines[4] = lines[4].replace(b'"POST"', b'"P\xffST"')  # and a bad method too
    write(source, lines)
    with pytest.raises(InvalidInput) as caught:
        await split_input(source, input_rules("openai"), out)
    assert [p[0] for p in caught.value.problems] == [3, 5]
    assert caught.value.total == 2


@pytest.mark.parametrize("child_bytes", [0, 1 << 60])
async def test_a_large_input_is_checked_by_a_child_the_same_way(
    tmp_path: pathlib.Path, child_bytes: int
) -> None:
    source = tmp_path / "in.jsonl"
    lines = [msgspec.json.encode(anthropic_line(n, pad=10)) for n in range(300)]
    for n in (5, 150, 299):
        lines[n] = lines[n].replace(b"xxxx", b"x\xed\xa0\x80x")
    write(source, lines)
    check = Utf8Check(str(source), max_problems=2, child_bytes=child_bytes)
    async with check:
        assert check.in_child == (child_bytes == 0)
        assert (check._child is not None) == check.in_child
        count, problems = await check.result()
    if not check.in_child:  # then the split checks
        assert (count, problems) == (0, [])
        return
    assert count == 3
    assert problems == [
        (6, "req-5", "not valid UTF-8"),
        (151, "req-150", "not valid UTF-8"),
    ]


async def test_a_good_input_checked_by_a_child_splits_as_in_the_split(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "in.jsonl"
    write(source, [openai_line(n, pad=n % 50) for n in range(3000)])
    alone = await split_input(
        source, input_rules("openai"), tmp_path / "a", max_requests=700
    )
    monkeypatch.setattr(utf8_check, "CHILD_BYTES", 0)
    beside = await split_input(
        source, input_rules("openai"), tmp_path / "b", max_requests=700
    )
    assert [read(c.path) for c in alone.chunks] == [read(c.path) for c in beside.chunks]
    assert beside.input_sha256 == alone.input_sha256
