"""Provider wire formats: pure translation between our values and each provider's bytes.

Nothing here awaits, reads a clock, opens a file or a socket. This module is the one
list of providers: the command line, ``Client`` and the parser all read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._core.pricing import Price
from .._core.requests import InputRules
from .._errors import ConfigError
from . import mistral
from .anthropic import AnthropicCodec
from .anthropic_api import ANTHROPIC
from .anthropic_input import (
    LIMITS as ANTHROPIC_LIMITS,
    LINES as ANTHROPIC_LINES,
    PRICES as ANTHROPIC_PRICES,
)
from .azure_api import AZURE, LIMITS as AZURE_LIMITS, azure_api
from .codec import ResultCodec
from .description import Provider
from .gemini import GeminiCodec
from .gemini_api import GEMINI
from .gemini_input import (
    LIMITS as GEMINI_LIMITS,
    LINES as GEMINI_LINES,
    PRICES as GEMINI_PRICES,
)
from .openai import OpenAICodec
from .openai_api import OPENAI
from .openai_input import (
    LIMITS as OPENAI_LIMITS,
    LINES as OPENAI_LINES,
    PRICES as OPENAI_PRICES,
)
from .translate import OpenAITranslator, to_anthropic, to_gemini

__all__ = (
    "ALL_PRICES",
    "PROVIDERS",
    "PROVIDER_NAMES",
    "Provider",
    "codec_for",
    "input_rules",
    "provider",
    "translator_for",
)

_ALL = (
    Provider(
        "anthropic",
        AnthropicCodec,
        ANTHROPIC,
        "ANTHROPIC_BASE_URL",
        ANTHROPIC_LIMITS,
        ANTHROPIC_LINES,
        ANTHROPIC_PRICES,
        from_openai=to_anthropic,
    ),
    Provider(
        "azure",
        OpenAICodec,
        AZURE,
        "AZURE_OPENAI_ENDPOINT",
        AZURE_LIMITS,
        OPENAI_LINES,
        OPENAI_PRICES,  # Azure's batch: the same discount
        azure_api,
    ),
    Provider(
        "gemini",
        GeminiCodec,
        GEMINI,
        "GEMINI_BASE_URL",
        GEMINI_LIMITS,
        GEMINI_LINES,
        GEMINI_PRICES,
        from_openai=to_gemini,
    ),
    mistral.PROVIDER,
    Provider(
        "openai",
        OpenAICodec,
        OPENAI,
        "OPENAI_BASE_URL",
        OPENAI_LIMITS,
        OPENAI_LINES,
        OPENAI_PRICES,
    ),
)
_BY_NAME = {p.name: p for p in _ALL}

PROVIDERS = tuple(p.name for p in _ALL)
"""The provider names streambatch parses the output of."""

PROVIDER_NAMES = tuple(p.name for p in _ALL if p.api is not None)
"""The provider names streambatch runs jobs with."""

ALL_PRICES: Mapping[str, Price] = {
    name: price for p in _ALL for name, price in p.pricing.prices.items()
}
"""Every provider's batch prices in one table (model names do not collide)."""


def provider(name: str, *, jobs: bool = False) -> Provider:
    """The provider called ``name`` (one that runs jobs, if ``jobs``).

    Raises:
        ConfigError: no such provider.
    """
    found = _BY_NAME.get(name)
    if found is None or (jobs and found.api is None):
        known = ", ".join(PROVIDER_NAMES if jobs else PROVIDERS)
        raise ConfigError(f"unknown provider {name!r} (known: {known})")
    return found


def codec_for(
    name: str,
    *,
    batch_id: str | None = None,
    attempt: int = 1,
    with_response: bool = False,
) -> ResultCodec:
    """Return the result decoder for the provider called ``name``.

    Raises:
        ConfigError: the provider is not known.
    """
    codec = provider(name).codec
    return codec(batch_id=batch_id, attempt=attempt, with_response=with_response)


def input_rules(name: str) -> InputRules:
    """What the split needs of the provider called ``name``.

    Raises:
        ConfigError: no such provider.
    """
    return provider(name).rules


def translator_for(name: str) -> OpenAITranslator | None:
    """The translator of OpenAI chat-completions lines for the provider called
    ``name``; None where they are native (openai, azure) or not translated.

    Raises:
        ConfigError: no such provider.
    """
    translate = provider(name).from_openai
    return None if translate is None else OpenAITranslator(translate)
