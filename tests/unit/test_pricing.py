"""Cost estimates: prices by model family, tokens from request lines (pure)."""

from __future__ import annotations

import pytest

from streambatch._core.pricing import (
    CostTally,
    Estimate,
    Price,
    cached,
    close_names,
    cost_of,
    format_usd,
    parse_price,
    price_of,
)
from streambatch._providers import ALL_PRICES as PRICES, PROVIDERS, provider

PRICE_TABLE = {name: provider(name).pricing.prices for name in PROVIDERS}


def rates(model: str) -> tuple[float, float] | None:
    price = price_of(model, PRICES)
    return None if price is None else (price.input, price.output)


def test_a_dated_model_is_priced_by_its_family() -> None:
    assert rates("gpt-4o-mini-2024-07-18") == (0.075, 0.30)
    assert rates("gpt-4o-2024-08-06") == (1.25, 5.00)  # not gpt-4o-mini
    assert rates("claude-sonnet-4-5-20250929") == (1.50, 7.50)
    assert rates("claude-opus-4-1") == (7.50, 37.50)
    assert rates("llama-3") is None


def test_the_table_is_per_provider_with_cached_input_rates() -> None:
    assert PRICE_TABLE["anthropic"]["claude-haiku-4-5"].cached_input == 0.05
    assert PRICE_TABLE["openai"]["gpt-4o-mini"].cached_input == 0.0375
    assert "gpt-4o" not in PRICE_TABLE["anthropic"]
    assert sum(map(len, PRICE_TABLE.values())) - len(PRICE_TABLE["azure"]) == len(
        PRICES
    )  # no model name in two providers' tables


def test_a_users_price_comes_before_the_table() -> None:
    mine = dict([parse_price("gpt-4o=1/2"), parse_price("llama-3=0.1/0.2")])
    assert price_of("gpt-4o-2024-08-06", PRICES, mine) == Price(1.0, 2.0)
    assert price_of("llama-3-70b", PRICES, mine) == Price(0.1, 0.2)
    assert rates("llama-3") is None  # the table is unchanged


@pytest.mark.parametrize(
    "text", ["gpt-4o", "=1/2", "gpt-4o=1", "gpt-4o=a/b", "m=1/2/3", "m=-1/2", "m=nan/1"]
)
def test_a_bad_price_is_refused_with_its_text(text: str) -> None:
    with pytest.raises(ValueError, match="MODEL=IN/OUT"):
        parse_price(text)


def test_close_names_of_an_unknown_model() -> None:
    assert "gpt-4o" in close_names("gpt-40", PRICES)
    assert close_names("claude-sonet-4", PRICES)[0] == "claude-sonnet-4"
    assert close_names("zzzzzzzz", PRICES) == []


def test_a_cost_above_zero_never_reads_zero() -> None:
    assert format_usd(0.0) == "$0.00"
    assert format_usd(12345.678) == "$12,345.68"
    assert format_usd(0.0123) == "$0.01"
    assert format_usd(0.00123) == "$0.0012"
    assert format_usd(0.0000009) == "$0.00000090"
    tiny = cost_of(Price(0.075, 0.30), 9, 0)
    assert tiny > 0 and format_usd(tiny) != "$0.00"


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
    tally = Estimate(provider("openai").pricing)
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
    tally = Estimate(provider("anthropic").pricing)
    tally.add(line)
    assert tally.cost() == (0.0, 0.0, ["claude-next"])
    priced = Estimate(provider("anthropic").pricing, model="claude-haiku-4-5")
    priced.add(line)
    assert priced.cost()[1] == pytest.approx(10 / 1e6 * 2.50)


def test_each_provider_prices_from_its_own_table() -> None:
    """Mistral's aliases are priced, its dated snapshots (another model) are not."""
    mistral = provider("mistral").pricing
    assert mistral.shape == "body"
    assert price_of("mistral-small-latest", mistral.prices) == Price(0.05, 0.15)
    assert price_of("mistral-large-2411", mistral.prices) is None
    assert price_of("gpt-4o", mistral.prices) is None
    assert provider("azure").pricing == provider("openai").pricing
    line = b'{"custom_id": "a", "body": {"model": "mistral-large-latest", "max_tokens": 100, "messages": []}}\n'
    tally = Estimate(mistral)
    tally.add(line)
    assert tally.cost()[1] == pytest.approx(100 / 1e6 * 0.75)


def test_cached_input_tokens_cost_the_cached_rate_where_there_is_one() -> None:
    with_rate = cached(0.1, Price(2.0, 10.0))  # cached input at 0.2 per million
    # 1M input of which 600k cached, 100k output
    assert cost_of(with_rate, 1_000_000, 100_000, 600_000) == pytest.approx(
        0.4 * 2.0 + 0.6 * 0.2 + 0.1 * 10.0
    )
    plain = Price(2.0, 10.0)  # no cached rate: cached tokens at the input rate
    assert cost_of(plain, 1_000_000, 0, 600_000) == pytest.approx(2.0)
    assert cost_of(with_rate, 100, 0, 500) == pytest.approx(100 * 0.2 / 1e6)


def test_the_tally_counts_cached_tokens_and_prices_them() -> None:
    tally = CostTally({"m": cached(0.5, Price(1.0, 1.0))})
    tally.add("m", 2_000_000, 0, 1_000_000)
    tally.add("m", 0, 0)
    cost = tally.cost()
    assert cost.cached_tokens == 1_000_000
    assert cost.input_tokens == 2_000_000
    assert cost.usd == pytest.approx(1.0 + 0.5)
