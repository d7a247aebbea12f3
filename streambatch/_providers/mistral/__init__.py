"""Mistral: the Files API and ``/v1/batch/jobs`` (PROVIDERS.md 6).

Pure: no I/O. Everything streambatch knows of Mistral is in this package; the
registry (``streambatch._providers``) lists :data:`PROVIDER` in one line. Result
lines have OpenAI's shape (``custom_id``, ``response.status_code``,
``response.body`` a chat completion, ``error``), so OpenAI's codec reads them.
"""

from __future__ import annotations

from ..description import Provider
from ..openai import OpenAICodec
from ..translate import to_mistral
from .api import MISTRAL
from .input import LIMITS, LINES, PRICES

__all__ = ("PROVIDER",)

PROVIDER = Provider(
    "mistral",
    OpenAICodec,
    MISTRAL,
    "MISTRAL_BASE_URL",
    LIMITS,
    LINES,
    PRICES,
    from_openai=to_mistral,
)
"""Mistral's description."""
