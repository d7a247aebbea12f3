"""Requests from table rows: each provider's native line, row ids, the sandboxed
template and its errors (pure and in-process; no network)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streambatch._core.requests import Request, RequestChecker
from streambatch._core.tables import RequestParams, request_builder, row_id
from streambatch._errors import ConfigError, InputError
from streambatch._providers import input_rules
from streambatch._tables.deps import need
from streambatch._tables.render import Renderer

PARAMS = RequestParams(model="m-1", system="be brief", max_tokens=50)


def render(
    template: str, rows: list[dict[str, Any]], provider: str = "openai", **kw: Any
) -> list[Any]:
    renderer = Renderer(
        template, provider, kw.pop("params", PARAMS), kw.pop("id", "id")
    )
    data = renderer.render(rows, 1, "t.parquet")
    return [json.loads(line) for line in data.splitlines()]


def test_openai_lines_are_chat_completions_with_the_system_prompt() -> None:
    [line] = render("Q: {{ q }}", [{"id": 7, "q": "why?"}])
    assert line == {
        "custom_id": "7",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "m-1",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "Q: why?"},
            ],
            "max_tokens": 50,
        },
    }


def test_anthropic_and_gemini_lines_are_their_native_shapes() -> None:
    [anthropic] = render("{{ q }}", [{"id": "a", "q": "x"}], "anthropic")
    assert anthropic == {
        "custom_id": "a",
        "params": {
            "model": "m-1",
            "max_tokens": 50,
            "system": "be brief",
            "messages": [{"role": "user", "content": "x"}],
        },
    }
    [gemini] = render("{{ q }}", [{"id": "a", "q": "x"}], "gemini")
    assert gemini == {
        "key": "a",
        "request": {
            "model": "m-1",
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "systemInstruction": {"parts": [{"text": "be brief"}]},
            "generationConfig": {"maxOutputTokens": 50},
        },
    }


@pytest.mark.parametrize(
    "provider", ["openai", "anthropic", "gemini", "azure", "mistral"]
)
def test_every_rendered_line_passes_the_providers_own_checks(provider: str) -> None:
    renderer = Renderer("{{ q }}", provider, PARAMS, None)
    data = renderer.render([{"q": "a"}, {"q": "b"}], 1, "t")
    checker = RequestChecker(input_rules(provider).lines)
    checked = checker.check_run(data, 1)
    assert [type(r) for r in checked] == [Request, Request], checked


def test_anthropic_needs_a_token_limit_and_every_table_a_model() -> None:
    with pytest.raises(ConfigError, match="--max-tokens"):
        request_builder("anthropic", RequestParams(model="m"))
    with pytest.raises(ConfigError, match="--model"):
        request_builder("openai", RequestParams(model=""))


def test_a_row_hash_is_stable_and_a_valid_anthropic_id() -> None:
    row = {"q": "x", "n": 1}
    assert row_id(row) == row_id(dict(row))
    assert row_id(row) != row_id({"q": "x", "n": 2})
    assert row_id(row).startswith("row-") and len(row_id(row)) == 28
    [line] = render("{{ q }}", [row], "anthropic", id=None)
    assert line["custom_id"] == row_id(row)


def test_a_missing_column_is_named_before_any_row_is_read() -> None:
    renderer = Renderer("{{ q }} {{ other }}", "openai", PARAMS, "key")
    with pytest.raises(InputError) as caught:
        renderer.check_columns(["q", "n"], "t.parquet")
    message = str(caught.value)
    assert message.startswith("t.parquet: no columns 'key', 'other' in the table")
    assert "its columns: q, n" in message


def test_a_row_without_the_column_names_the_row_and_its_id() -> None:
    with pytest.raises(InputError, match=r"row 2 \(custom_id 'b'\).*'q' is undefined"):
        render("{{ q }}", [{"id": "a", "q": "x"}, {"id": "b"}])


def test_an_empty_id_names_the_row() -> None:
    with pytest.raises(InputError, match="row 2: its id column 'id' is empty"):
        render("{{ q }}", [{"id": "a", "q": "x"}, {"id": None, "q": "y"}])


def test_the_template_is_sandboxed() -> None:
    with pytest.raises(InputError, match="unsafe"):
        render("{{ q.__class__.__mro__[1].__subclasses__() }}", [{"id": 1, "q": "x"}])


def test_a_template_that_does_not_parse_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="does not parse"):
        Renderer("{{ q ", "openai", PARAMS, None)


def test_a_missing_library_says_what_to_install() -> None:
    with pytest.raises(ConfigError) as caught:
        need("pyarrow_not_here.parquet", "reading a Parquet table")
    assert str(caught.value) == (
        "reading a Parquet table needs pyarrow_not_here, which is not installed: "
        "pip install 'streambatch[parquet]'"
    )
