"""Provider wire formats: pure translation between our values and each provider's bytes.

Nothing here awaits, reads a clock, opens a file or a socket.
"""

from __future__ import annotations

from .._errors import ConfigError
from .anthropic import AnthropicCodec
from .codec import ResultCodec
from .gemini import GeminiCodec
from .openai import OpenAICodec

__all__ = ("PROVIDERS", "codec_for")

_CODECS: dict[str, type[ResultCodec]] = {
    "openai": OpenAICodec,
    "azure": OpenAICodec,
    "anthropic": AnthropicCodec,
    "gemini": GeminiCodec,
}

PROVIDERS = tuple(sorted(_CODECS))
"""The provider names streambatch knows."""


def codec_for(
    provider: str,
    *,
    batch_id: str | None = None,
    attempt: int = 1,
    with_response: bool = False,
) -> ResultCodec:
    """Return the result decoder for ``provider``.

    Raises:
        ConfigError: the provider is not known.
    """
    try:
        codec = _CODECS[provider]
    except KeyError:
        known = ", ".join(PROVIDERS)
        raise ConfigError(f"unknown provider {provider!r} (known: {known})") from None
    return codec(batch_id=batch_id, attempt=attempt, with_response=with_response)
