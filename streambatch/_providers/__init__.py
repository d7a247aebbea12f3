"""Provider wire formats: pure translation between our values and each provider's bytes.

Nothing here awaits, reads a clock, opens a file or a socket. This module is the one
list of providers: the command line, ``Client`` and the parser all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .._errors import ConfigError
from .anthropic import AnthropicCodec
from .anthropic_api import ANTHROPIC
from .azure_api import AZURE, azure_api
from .batches import BatchAPI
from .codec import ResultCodec
from .gemini import GeminiCodec
from .gemini_api import GEMINI
from .openai import OpenAICodec
from .openai_api import OPENAI

__all__ = ("PROVIDERS", "PROVIDER_NAMES", "Provider", "codec_for", "provider")


class Provider(NamedTuple):
    """Everything streambatch knows of one provider, in one place.

    ``api`` is None for a provider whose output streambatch parses but whose
    batches it does not run yet. ``for_url``, where the URL given picks the
    API's routes (Azure), maps it to the base URL requests join and the API.
    """

    name: str
    codec: type[ResultCodec]
    api: BatchAPI | None
    base_url_env: str | None
    for_url: Callable[[str], tuple[str, BatchAPI]] | None = None


_ALL = (
    Provider("anthropic", AnthropicCodec, ANTHROPIC, "ANTHROPIC_BASE_URL"),
    Provider("azure", OpenAICodec, AZURE, "AZURE_OPENAI_ENDPOINT", azure_api),
    Provider("gemini", GeminiCodec, GEMINI, "GEMINI_BASE_URL"),
    Provider("openai", OpenAICodec, OPENAI, "OPENAI_BASE_URL"),
)
_BY_NAME = {p.name: p for p in _ALL}

PROVIDERS = tuple(p.name for p in _ALL)
"""The provider names streambatch parses the output of."""

PROVIDER_NAMES = tuple(p.name for p in _ALL if p.api is not None)
"""The provider names streambatch runs jobs with."""


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
