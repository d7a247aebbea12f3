"""Batch prices per provider and model, a cost estimate of a batch input, and
the cost of the tokens a job used (pure).

Prices are USD per million tokens at the 50% batch discount (snapshot
:data:`PRICES_AS_OF`; they drift: check before relying on them). Each provider's
table is in its description (``streambatch._providers``); their sources are
listed in docs/cost.md. A model is priced by the longest known name it
starts with, so dated snapshots such as ``gpt-4o-mini-2024-07-18`` or
``claude-sonnet-4-5-20250929`` find their family. A user's own prices
(:func:`parse_price`, ``--price MODEL=IN/OUT``) come before the table.

Token counts are estimated, not counted: about 4 bytes of request JSON per input
token, and each request's output cap (``max_tokens`` and its aliases) as the most
output it can cost. No tokenizer is involved, so the input figure is a rough
guide (within a factor of about 1.5 for English prose).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Literal, NamedTuple

import msgspec

from .manifest import Cost

__all__ = (
    "PRICES_AS_OF",
    "CostTally",
    "Estimate",
    "Price",
    "PriceRules",
    "Shape",
    "cached",
    "close_names",
    "cost_of",
    "format_usd",
    "parse_price",
    "price_of",
    "request_model",
)

PRICES_AS_OF = "2026-08"
"""When the price table was last read."""


class Price(msgspec.Struct, frozen=True):
    """USD per million tokens: input, output, and cached input (a prompt-cache
    read), None where the table has no cached rate. Thinking tokens are billed
    as output by every provider here (they are in the output counts)."""

    input: float
    output: float
    cached_input: float | None = None


def cached(ratio: float, price: Price) -> Price:
    """``price`` with its cached-input rate at ``ratio`` of its input rate."""
    return Price(price.input, price.output, round(price.input * ratio, 6))


Shape = Literal["body", "params", "request"]
"""Where a request line keeps its payload: OpenAI's and Mistral's ``body``,
Anthropic's ``params``, Gemini's ``request`` (with its caps in
``generationConfig``)."""


class PriceRules(NamedTuple):
    """One provider's prices and request shape. The type is here; each provider's
    values are in its description (``streambatch._providers``).

    Attributes:
        prices: batch prices by model family (the longest prefix of a model's
            name that is a key prices it).
        shape: where its request lines keep the payload (:data:`Shape`).
    """

    prices: Mapping[str, Price]
    shape: Shape


def price_of(
    model: str,
    table: Mapping[str, Price],
    overrides: Mapping[str, Price] | None = None,
) -> Price | None:
    """The batch price of ``model``: the user's first (exact name or longest
    prefix), then ``table``'s (longest prefix); None if neither knows it."""
    for prices in (overrides or {}, table):
        best = max(
            (name for name in prices if model.startswith(name)), key=len, default=None
        )
        if best is not None:
            return prices[best]
    return None


def close_names(
    model: str,
    table: Mapping[str, Price],
    overrides: Mapping[str, Price] | None = None,
) -> list[str]:
    """The priced names closest to ``model`` (for an error message)."""
    names = [*(overrides or {}), *table]
    return difflib.get_close_matches(model, names, n=4, cutoff=0.5)


def parse_price(text: str) -> tuple[str, Price]:
    """``MODEL=IN/OUT`` (USD per million tokens) as ``(model, Price)``.

    Raises:
        ValueError: with a message naming what is wrong.
    """
    model, sep, rates = text.partition("=")
    model = model.strip()
    if not sep or not model:
        raise ValueError(f"not MODEL=IN/OUT: {text!r}")
    parts = rates.split("/")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 2 or not all(math.isfinite(n) and n >= 0 for n in numbers):
        raise ValueError(
            f"not MODEL=IN/OUT with two prices in USD per million tokens: {text!r}"
        )
    return model, Price(numbers[0], numbers[1])


def cost_of(
    price: Price, input_tokens: int, output_tokens: int, cached_tokens: int = 0
) -> float:
    """USD for these tokens at ``price``: ``cached_tokens`` of the input tokens
    at the cached-input rate (the input rate where the table has none)."""
    cached = min(max(cached_tokens, 0), input_tokens)
    rate = price.input if price.cached_input is None else price.cached_input
    return (
        (input_tokens - cached) / 1e6 * price.input
        + cached / 1e6 * rate
        + output_tokens / 1e6 * price.output
    )


def format_usd(amount: float) -> str:
    """``amount`` in dollars, with enough digits that a cost above zero never
    reads ``$0.00`` (two significant digits below a cent)."""
    if amount <= 0 or amount >= 0.01:
        return f"${amount:,.2f}"
    digits = 1 - math.floor(math.log10(amount))
    return f"${amount:.{digits}f}"


class _Caps(msgspec.Struct, gc=False):
    model: str = ""
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    max_output_tokens: int | None = None


class _OpenAILine(msgspec.Struct, gc=False):
    body: msgspec.Raw


class _AnthropicLine(msgspec.Struct, gc=False):
    params: msgspec.Raw


class _GeminiLine(msgspec.Struct, gc=False):
    request: msgspec.Raw

    @property
    def params(self) -> msgspec.Raw:
        return self.request


class _GenerationConfig(msgspec.Struct, gc=False):
    camel: int | None = msgspec.field(name="maxOutputTokens", default=None)
    snake: int | None = msgspec.field(name="max_output_tokens", default=None)


class _GeminiCaps(msgspec.Struct, gc=False):
    model: str = ""
    camel: _GenerationConfig | None = msgspec.field(
        name="generationConfig", default=None
    )
    snake: _GenerationConfig | None = msgspec.field(
        name="generation_config", default=None
    )

    def as_caps(self) -> _Caps:
        """The caps in the shape the other providers' lines give them."""
        config = self.camel or self.snake
        cap = (config.camel or config.snake) if config else None
        return _Caps(model=self.model.removeprefix("models/"), max_output_tokens=cap)


_CAPS = msgspec.json.Decoder(_Caps)
_GEMINI_CAPS = msgspec.json.Decoder(_GeminiCaps)
_LINES: dict[
    Shape,
    msgspec.json.Decoder[_OpenAILine]
    | msgspec.json.Decoder[_AnthropicLine]
    | msgspec.json.Decoder[_GeminiLine],
] = {
    "body": msgspec.json.Decoder(_OpenAILine),
    "params": msgspec.json.Decoder(_AnthropicLine),
    "request": msgspec.json.Decoder(_GeminiLine),
}


def _caps(
    decoder: msgspec.json.Decoder[_OpenAILine]
    | msgspec.json.Decoder[_AnthropicLine]
    | msgspec.json.Decoder[_GeminiLine],
    line: bytes,
) -> tuple[msgspec.Raw, _Caps]:
    """A request line's payload and its model and output caps.

    Raises:
        msgspec.DecodeError: the line is not a request of this shape.
    """
    wire = decoder.decode(line)
    payload = wire.body if isinstance(wire, _OpenAILine) else wire.params
    if isinstance(wire, _GeminiLine):
        return payload, _GEMINI_CAPS.decode(payload).as_caps()
    return payload, _CAPS.decode(payload)


def request_model(shape: Shape, line: bytes) -> str:
    """The model a request line of ``shape`` names ("" if none, or unreadable)."""
    try:
        return _caps(_LINES[shape], line)[1].model
    except msgspec.DecodeError:
        return ""


class CostTally:
    """The cost of the tokens results used, by model.

    Args:
        table: the provider's prices.
        prices: the user's own prices, before the table's.
    """

    def __init__(
        self, table: Mapping[str, Price], prices: Mapping[str, Price] | None = None
    ) -> None:
        self._table = table
        self._prices = prices
        # model -> [input, output, cached input]
        self.by_model: dict[str, list[int]] = {}

    def add(
        self, model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0
    ) -> None:
        """Count tokens that ``model`` used (``cached_tokens`` of the input
        read from the provider's prompt cache)."""
        row = self.by_model.setdefault(model, [0, 0, 0])
        row[0] += input_tokens
        row[1] += output_tokens
        row[2] += cached_tokens

    def cost(self) -> Cost:
        """The total, with the models no price is known for named."""
        usd = 0.0
        unpriced = []
        for model, (tokens_in, tokens_out, cached) in self.by_model.items():
            price = price_of(model, self._table, self._prices)
            if price is None:
                if tokens_in or tokens_out:
                    unpriced.append(model or "(no model)")
                continue
            usd += cost_of(price, tokens_in, tokens_out, cached)
        return Cost(
            usd=usd,
            input_tokens=sum(row[0] for row in self.by_model.values()),
            output_tokens=sum(row[1] for row in self.by_model.values()),
            cached_tokens=sum(row[2] for row in self.by_model.values()),
            unpriced=sorted(unpriced),
            prices_as_of=PRICES_AS_OF,
        )


class Estimate:
    """Accumulates an estimate over request lines; ``add`` a run of lines at a time.

    Args:
        rules: the provider's prices and line shape (its description's).
        model: price every request as this model instead of its own.
        prices: the user's own prices, before the table's.
    """

    def __init__(
        self,
        rules: PriceRules,
        model: str | None = None,
        prices: Mapping[str, Price] | None = None,
    ) -> None:
        self._decoder = _LINES[rules.shape]
        self._table = rules.prices
        self._model = model
        self._prices = prices
        self.requests = 0
        self.unreadable = 0
        self.first_unreadable: int | None = None  # its line number
        self.input_tokens = 0
        self.output_cap = 0
        self.uncapped = 0
        self.by_model: dict[str, list[int]] = {}  # model -> [requests, in, out cap]

    def add(self, lines: bytes | memoryview, first_line: int = 1) -> None:
        """Count the requests of newline-separated lines (blank ones skipped);
        the first is line ``first_line`` of the input."""
        for number, line in enumerate(bytes(lines).split(b"\n"), first_line):
            if line.strip() and not self._add_line(line):
                self.skipped(number)

    def skipped(self, line_no: int) -> None:
        """Count line ``line_no`` as unreadable."""
        self.unreadable += 1
        if self.first_unreadable is None:
            self.first_unreadable = line_no

    def _add_line(self, line: bytes) -> bool:
        try:
            payload, caps = _caps(self._decoder, line)
        except msgspec.DecodeError:
            return False
        cap = caps.max_tokens or caps.max_completion_tokens or caps.max_output_tokens
        tokens = len(payload) // 4
        self.requests += 1
        self.input_tokens += tokens
        self.output_cap += cap or 0
        self.uncapped += cap is None
        row = self.by_model.setdefault(self._model or caps.model, [0, 0, 0])
        row[0] += 1
        row[1] += tokens
        row[2] += cap or 0
        return True

    def cost(self) -> tuple[float, float, list[str]]:
        """(input cost, most output cost) in USD, and the models with no known price."""
        cost_in = cost_out = 0.0
        unknown = []
        for model, (_, tokens, cap) in self.by_model.items():
            price = price_of(model, self._table, self._prices)
            if price is None:
                unknown.append(model or "(no model)")
                continue
            cost_in += tokens / 1e6 * price.input
            cost_out += cap / 1e6 * price.output
        return cost_in, cost_out, sorted(unknown)
