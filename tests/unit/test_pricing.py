"""Cost estimates: prices by model family, tokens from request lines (pure)."""

from __future__ import annotations

import pytest

from streambatch._core.pricing import Estimate, Price, price_of


def test_a_dated_model_is_priced_by_its_family() -> None:
    assert price_of("gpt-4o-mini-2024-07-18") == Price(0.075, 0.30)
    assert price_of("gpt-4o-2024-08-06") == Price(1.25, 5.00)  # not gpt-4o-mini
    assert price_of("claude-sonnet-4-5-20250929") == Price(1.50, 7.50)
    assert price_of("claude-opus-4-1") == Price(7.50, 37.50)
    assert price_of("llama-3") is None


def test_estimate_counts_tokens_caps_and_cost() -> None:
    body = (
        b'{"model": "gpt-4o-mini", "max_tokens": 1000, "messages": [{"role": "user", "content": "'
        + b"x" * 3948
        + b'"}]}'
    )
    line = (
        b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": '
        + body
        + b"}\n"
    )
    uncapped = line.replace(b'"max_tokens": 1000, ', b"")
    tally = Estimate("openai")
    tally.add(line * 3 + b"\n" + uncapped + b"not json\n")
    assert tally.requests == 4
    assert tally.unreadable == 1
    assert tally.uncapped == 1
    assert tally.output_cap == 3000
    removed = len(b'"max_tokens": 1000, ')
    assert tally.input_tokens == 3 * (len(body) // 4) + (len(body) - removed) // 4
    cost_in, cost_out, unknown = tally.cost()
    assert cost_in == pytest.approx(tally.input_tokens / 1e6 * 0.075)
    assert cost_out == pytest.approx(3000 / 1e6 * 0.30)
    assert unknown == []


def test_unknown_models_are_named_and_a_model_override_prices_all() -> None:
    line = b'{"custom_id": "a", "params": {"model": "claude-next", "max_tokens": 10, "messages": []}}\n'
    tally = Estimate("anthropic")
    tally.add(line)
    assert tally.cost() == (0.0, 0.0, ["claude-next"])
    priced = Estimate("anthropic", model="claude-haiku-4-5")
    priced.add(line)
    assert priced.cost()[1] == pytest.approx(10 / 1e6 * 2.50)
