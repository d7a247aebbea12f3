"""Deterministic reply text derived from a request body.

The text is a pure function of the body (canonical JSON, sorted keys) and the
configured length, so a test can recompute it with `expected_text` and check
that each result landed on its own request. Imports msgspec and stdlib only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from ._structured import requested_schema, value_for

_VOCABULARY = [
    "alpha",
    "amber",
    "anchor",
    "apple",
    "arrow",
    "aspen",
    "atlas",
    "autumn",
    "badger",
    "basil",
    "beacon",
    "birch",
    "bishop",
    "bloom",
    "bramble",
    "breeze",
    "cabin",
    "canyon",
    "cedar",
    "cinder",
    "clover",
    "comet",
    "copper",
    "coral",
    "cricket",
    "crystal",
    "dahlia",
    "delta",
    "dune",
    "ember",
    "falcon",
    "fern",
    "fjord",
    "flint",
    "forest",
    "garnet",
    "glacier",
    "harbor",
    "hazel",
    "heron",
    "indigo",
    "island",
    "jasper",
    "juniper",
    "kestrel",
    "lagoon",
    "lantern",
    "maple",
    "meadow",
    "mesa",
    "nectar",
    "oasis",
    "orchid",
    "pebble",
    "quartz",
    "raven",
    "river",
    "saffron",
    "willow",
]

_ENCODER = msgspec.json.Encoder(order="sorted")
_TOKEN_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_TOKEN_SET = frozenset(_TOKEN_KEYS)
PROVIDERS = ("openai", "azure", "anthropic", "gemini", "mistral")


CACHE_MIN_TOKENS = 1024
"""The shortest prompt (in input tokens) the emulator reports cache reads for."""
CACHE_BLOCK = 128


class Reply(msgspec.Struct, frozen=True):
    """What a reply needs besides its endpoint's shape."""

    text: str
    input_tokens: int
    output_tokens: int
    truncated: bool

    @property
    def cached_tokens(self) -> int:
        """The input tokens reported as read from the prompt cache: as the
        providers cache only long prompts (1024 tokens and up, in blocks of
        128), none below 1024, else half the input rounded down to a block."""
        if self.input_tokens < CACHE_MIN_TOKENS:
            return 0
        return self.input_tokens // 2 // CACHE_BLOCK * CACHE_BLOCK


def canonical(body: object) -> bytes:
    """Encode ``body`` as JSON with sorted keys and no spaces."""
    return _ENCODER.encode(body)


def token_cap(body: Mapping[str, Any]) -> int | None:
    """Return the request's output token limit, if it has a usable one (a
    Gemini request's is in its ``generationConfig``)."""
    for name in ("generationConfig", "generation_config"):
        config = body.get(name)
        if isinstance(config, Mapping):
            for key in ("maxOutputTokens", "max_output_tokens"):
                value = config.get(key)
                if type(value) is int and value > 0:
                    return value
    if _TOKEN_SET.isdisjoint(body):
        return None
    for key in _TOKEN_KEYS:
        value = body.get(key)
        if type(value) is int and value > 0:
            return value
    return None


def make_reply(body: Mapping[str, Any], reply_words: int) -> Reply:
    """Compute the reply to ``body``: its text and token counts.

    Args:
        body: The request body (an OpenAI body or Anthropic ``params``).
        reply_words: Words wanted; ``max_tokens`` and its kin cap them.

    Returns:
        The reply; ``truncated`` is true when the token cap cut it short. A
        request that asks for a JSON Schema is answered JSON that matches it
        (cut short, so no longer matching, when the cap is below its tokens).
    """
    data = canonical(body)
    digest = hashlib.blake2b(data, digest_size=32).digest()
    cap = token_cap(body)
    schema = requested_schema(body)
    if schema is not None:
        return _structured(schema, digest, cap, max(1, len(data) // 4))
    count = max(1, reply_words)
    truncated = cap is not None and cap < count
    if cap is not None:
        count = min(count, cap)
    words = [
        _VOCABULARY[(digest[i % 32] + 7 * (i // 32)) % len(_VOCABULARY)]
        for i in range(count)
    ]
    text = " ".join(words).capitalize() + ("" if truncated else ".")
    return Reply(text, max(1, len(data) // 4), count, truncated)


def _structured(
    schema: Mapping[str, Any], digest: bytes, cap: int | None, input_tokens: int
) -> Reply:
    """A JSON answer matching ``schema``: about four characters a token."""
    text = msgspec.json.encode(value_for(schema, digest)).decode()
    tokens = max(1, len(text) // 4)
    truncated = cap is not None and cap < tokens
    if truncated and cap is not None:
        text, tokens = text[: cap * 4], cap
    return Reply(text, input_tokens, tokens, truncated)


def expected_text(
    provider: str, body: Mapping[str, Any], *, reply_words: int = 12
) -> str:
    """Return the text the emulator replies to ``body``.

    Args:
        provider: ``"openai"``, ``"azure"``, ``"anthropic"``, ``"gemini"`` or
            ``"mistral"``.
        body: The request as sent: an OpenAI (or Mistral) line's ``body``, an Anthropic
            request's ``params`` or a Gemini line's ``request``, decoded from JSON.
        reply_words: The emulator's configured reply length.

    Returns:
        The reply text (chat, completions, responses and messages endpoints);
        embeddings and moderations carry no text.

    Raises:
        ValueError: For an unknown provider.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}")
    return make_reply(body, reply_words).text
