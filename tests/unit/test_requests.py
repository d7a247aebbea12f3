"""RequestChecker: every provider rule, fast path and line-by-line fallback agree."""

from __future__ import annotations

import msgspec
import pytest

from streambatch import ConfigError
from streambatch._core.requests import Problem, Request, RequestChecker, Run
from streambatch._providers import input_rules


def openai(custom_id: object = "r-1", **fields: object) -> bytes:
    line: dict[str, object] = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
        },
    }
    line.update(fields)
    return msgspec.json.encode(line)


def anthropic(custom_id: object = "r-1", **params: object) -> bytes:
    body: dict[str, object] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    }
    body.update(params)
    return msgspec.json.encode({"custom_id": custom_id, "params": body})


def problem(provider: str, line: bytes) -> Problem:
    [item] = RequestChecker(input_rules(provider).lines).check_run(line + b"\n", 7)
    assert isinstance(item, Problem)
    assert item.line_no == 7
    return item


def test_good_openai_lines_keep_their_bytes_and_group() -> None:
    lines = [openai("a"), openai("b", url="/v1/embeddings")]
    got = RequestChecker(input_rules("openai").lines).check_run(
        b"\n".join(lines) + b"\n", 1
    )
    assert got == [
        Request(1, "a", ("/v1/chat/completions", "gpt-4o-mini"), lines[0]),
        Request(2, "b", ("/v1/embeddings", "gpt-4o-mini"), lines[1]),
    ]


def test_blank_lines_are_skipped_but_counted_and_crlf_is_stripped() -> None:
    data = openai("a") + b"\r\n\r\n  \n" + openai("b") + b"\r\n"
    got = RequestChecker(input_rules("azure").lines).check_run(data, 10)
    assert got == [
        Request(10, "a", ("/v1/chat/completions", "gpt-4o-mini"), openai("a")),
        Request(13, "b", ("/v1/chat/completions", "gpt-4o-mini"), openai("b")),
    ]


@pytest.mark.parametrize(
    ("line", "custom_id", "words"),
    [
        (openai(method="GET"), "r-1", "POST"),
        (openai(url="/v1/files"), "r-1", "/v1/files"),
        (openai(body={"model": "m", "stream": True}), "r-1", "stream"),
        (openai(body={"messages": []}), "r-1", "body.model"),
        (openai(body=[1]), "r-1", "body"),
        (openai(custom_id=""), "", "non-empty"),
        (openai(custom_id=5), None, "custom_id"),
        (b"[1, 2]", None, "not a JSON object"),
        (b'{"custom_id": "x-9", "method": "POST"', "x-9", "not valid JSON"),
        (b'{"method": "POST"}', None, "custom_id"),
    ],
)
def test_each_bad_openai_line_says_why(
    line: bytes, custom_id: str | None, words: str
) -> None:
    got = problem("openai", line)
    assert got.custom_id == custom_id
    assert words in got.reason


@pytest.mark.parametrize(
    ("line", "custom_id", "words"),
    [
        (anthropic("has space"), "has space", "custom_id must match"),
        (anthropic("x" * 65), "x" * 65, "custom_id must match"),
        (anthropic(max_tokens=0), "r-1", "max_tokens"),
        (anthropic(max_tokens="10"), "r-1", "max_tokens"),
        (anthropic(stream=True), "r-1", "stream"),
        (anthropic(messages="hi"), "r-1", "params.messages"),
        (anthropic(model=None), "r-1", "params.model"),
        (msgspec.json.encode({"custom_id": "a"}), "a", "params"),
    ],
)
def test_each_bad_anthropic_line_says_why(
    line: bytes, custom_id: str | None, words: str
) -> None:
    got = problem("anthropic", line)
    assert got.custom_id == custom_id
    assert words in got.reason


def test_a_bad_line_in_a_run_costs_only_itself() -> None:
    data = b"\n".join([anthropic("a"), anthropic("b c"), b"", anthropic("d")])
    got = RequestChecker(input_rules("anthropic").lines).check_run(data, 1)
    assert [type(x).__name__ for x in got] == ["Request", "Problem", "Request"]
    assert [x.line_no for x in got] == [1, 2, 4]
    assert got[2] == Request(4, "d", None, anthropic("d"))


def test_an_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        input_rules("nobody")


def test_a_clean_run_comes_back_whole_with_its_bytes_ends_and_ids() -> None:
    lines = [openai("a"), openai("b"), openai("c")]
    data = b"\r\n".join(lines)  # CRLF, and no newline after the last line
    run = RequestChecker(input_rules("openai").lines).check(data, 5)
    assert isinstance(run, Run)
    assert run.data == b"".join(line + b"\n" for line in lines)
    assert run.ends == [len(run.data) * k // 3 for k in (1, 2, 3)]
    assert (run.custom_ids, run.groups) == (["a", "b", "c"], None)
    assert run.group == ("/v1/chat/completions", "gpt-4o-mini")
    assert run.requests() == RequestChecker(input_rules("openai").lines).check_run(
        data, 5
    )


def test_a_run_of_mixed_groups_keeps_each_lines_group() -> None:
    lines = [openai("a"), openai("b", url="/v1/embeddings"), openai("c")]
    run = RequestChecker(input_rules("azure").lines).check(b"\n".join(lines), 1)
    assert isinstance(run, Run)
    assert run.groups == [
        ("/v1/chat/completions", "gpt-4o-mini"),
        ("/v1/embeddings", "gpt-4o-mini"),
        ("/v1/chat/completions", "gpt-4o-mini"),
    ]
    assert [r.group for r in run.requests()] == run.groups


@pytest.mark.parametrize("gap", [b"\n", b"  \n", b"\t\r\n"])
def test_blank_lines_or_a_leading_space_take_the_line_by_line_path(gap: bytes) -> None:
    data = anthropic("a") + b"\n" + gap + b" " + anthropic("b") + b"\n"
    got = RequestChecker(input_rules("anthropic").lines).check(data, 1)
    assert got == [
        Request(1, "a", None, anthropic("a")),
        Request(3, "b", None, b" " + anthropic("b")),
    ]


def test_two_values_on_one_line_are_a_problem_even_beside_a_blank_line() -> None:
    data = anthropic("a") + b" " + anthropic("b") + b"\n\n" + anthropic("c") + b"\n"
    got = RequestChecker(input_rules("anthropic").lines).check_run(data, 1)
    assert [type(x).__name__ for x in got] == ["Problem", "Request"]
    assert isinstance(got[0], Problem) and got[0].line_no == 1
    assert "not valid JSON" in got[0].reason
    assert got[1] == Request(3, "c", None, anthropic("c"))


@pytest.mark.parametrize("custom_id", ["r-1\n", "r-1\r", " r-1", "r" * 65, ""])
def test_the_anthropic_custom_id_pattern_is_matched_whole(custom_id: str) -> None:
    line = msgspec.json.encode(
        {
            "custom_id": custom_id,
            "params": {"model": "m", "max_tokens": 5, "messages": []},
        }
    )
    got = problem("anthropic", line)
    assert "custom_id must match" in got.reason
