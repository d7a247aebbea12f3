"""Batch prices per model, and a cost estimate of a batch input (pure).

Prices are USD per million tokens at the 50% batch discount, from PROVIDERS.md
section 8 (snapshot 2025-2026; they drift: check before relying on them). A model
is priced by the longest known name it starts with, so dated snapshots such as
``gpt-4o-mini-2024-07-18`` or ``claude-sonnet-4-5-20250929`` find their family.

Token counts are estimated, not counted: about 4 bytes of request JSON per input
token, and each request's output cap (``max_tokens`` and its aliases) as the most
output it can cost. No tokenizer is involved, so the input figure is a rough
guide (within a factor of about 1.5 for English prose).
"""

from __future__ import annotations

import msgspec

__all__ = ("PRICES", "PRICES_AS_OF", "Estimate", "Price", "price_of")

PRICES_AS_OF = "2026-08"
"""When the price table was last read."""


class Price(msgspec.Struct, frozen=True):
    """USD per million tokens: input, output."""

    input: float
    output: float


PRICES: dict[str, Price] = {
    # Anthropic (PROVIDERS.md 8, from the batch-processing docs page)
    "claude-opus-4-6": Price(2.50, 12.50),
    "claude-opus-4-5": Price(2.50, 12.50),
    "claude-opus-4-1": Price(7.50, 37.50),
    "claude-opus-4": Price(7.50, 37.50),
    "claude-sonnet-4": Price(1.50, 7.50),
    "claude-haiku-4-5": Price(0.50, 2.50),
    "claude-3-5-haiku": Price(0.40, 2.00),
    "claude-3-haiku": Price(0.125, 0.625),
    # OpenAI (PROVIDERS.md 8, third-party price pages or 50% of the list price)
    "gpt-4o-mini": Price(0.075, 0.30),
    "gpt-4o": Price(1.25, 5.00),
    "gpt-4.1-nano": Price(0.05, 0.20),
    "gpt-4.1-mini": Price(0.20, 0.80),
    "gpt-4.1": Price(1.00, 4.00),
    "gpt-5-mini": Price(0.125, 1.00),
    "gpt-5": Price(0.625, 5.00),
    "text-embedding-3-small": Price(0.01, 0.0),
    "text-embedding-3-large": Price(0.065, 0.0),
    # Gemini (PROVIDERS.md 8: 50% of the standard prices; Flash's unconfirmed)
    "gemini-2.5-pro": Price(0.625, 5.00),  # prompts up to 200k tokens
    "gemini-2.5-flash-lite": Price(0.05, 0.20),
    "gemini-2.5-flash": Price(0.15, 1.25),
}


def price_of(model: str) -> Price | None:
    """The batch price of ``model`` (by its longest known prefix), if known."""
    best = max(
        (name for name in PRICES if model.startswith(name)), key=len, default=None
    )
    return None if best is None else PRICES[best]


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
    str,
    msgspec.json.Decoder[_OpenAILine]
    | msgspec.json.Decoder[_AnthropicLine]
    | msgspec.json.Decoder[_GeminiLine],
] = {
    "openai": msgspec.json.Decoder(_OpenAILine),
    "anthropic": msgspec.json.Decoder(_AnthropicLine),
    "gemini": msgspec.json.Decoder(_GeminiLine),
}


class Estimate:
    """Accumulates an estimate over request lines; ``add`` a run of lines at a time.

    Args:
        provider: ``"openai"``, ``"anthropic"`` or ``"gemini"`` (the line shape).
        model: price every request as this model instead of its own.
    """

    def __init__(self, provider: str, model: str | None = None) -> None:
        self._decoder = _LINES.get(provider, _LINES["openai"])
        self._model = model
        self.requests = 0
        self.unreadable = 0
        self.input_tokens = 0
        self.output_cap = 0
        self.uncapped = 0
        self.by_model: dict[str, list[int]] = {}  # model -> [requests, in, out cap]

    def add(self, lines: bytes | memoryview) -> None:
        """Count the requests of newline-separated lines (blank ones skipped)."""
        for line in bytes(lines).split(b"\n"):
            if line.strip():
                self._add_line(line)

    def _add_line(self, line: bytes) -> None:
        try:
            wire = self._decoder.decode(line)
            payload = wire.body if isinstance(wire, _OpenAILine) else wire.params
            if isinstance(wire, _GeminiLine):
                caps = _GEMINI_CAPS.decode(payload).as_caps()
            else:
                caps = _CAPS.decode(payload)
        except msgspec.DecodeError:
            self.unreadable += 1
            return
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

    def cost(self) -> tuple[float, float, list[str]]:
        """(input cost, most output cost) in USD, and the models with no known price."""
        cost_in = cost_out = 0.0
        unknown = []
        for model, (_, tokens, cap) in self.by_model.items():
            price = price_of(model)
            if price is None:
                unknown.append(model or "(no model)")
                continue
            cost_in += tokens / 1e6 * price.input
            cost_out += cap / 1e6 * price.output
        return cost_in, cost_out, sorted(unknown)
