"""What streambatch knows of one provider, as one value: :class:`Provider`.

Pure: no I/O. Each provider's module (or package) builds its description from its
own parts; ``streambatch._providers`` lists them, and the command line,
``Client``, the splitter and the parser all read that list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .._core.pack import ChunkLimits
from .._core.pricing import PriceRules
from .._core.requests import InputRules, LineRules
from .batches import BatchAPI
from .codec import ResultCodec

__all__ = ("Provider",)


class Provider(NamedTuple):
    """Everything streambatch knows of one provider, in one place.

    Attributes:
        name: what ``--provider`` and ``Client`` call it.
        codec: decodes its result lines.
        api: its batch operations (flows); its ``key_env`` names the key's
            environment variable. None for a provider whose output streambatch
            parses but whose batches it does not run.
        base_url_env: the environment variable that may hold its base URL.
        limits: how much one batch may hold (documented values, margins in).
        lines: what an input line must be.
        pricing: its batch prices, and where its lines keep the payload.
        for_url: where the URL given picks the API's routes (Azure), maps it to
            the base URL requests join and the API.
        from_openai: turns an OpenAI chat-completions request line into its
            native line (``translate.py``); None where OpenAI lines are native or
            not translated.
    """

    name: str
    codec: type[ResultCodec]
    api: BatchAPI | None
    base_url_env: str | None
    limits: ChunkLimits
    lines: LineRules
    pricing: PriceRules
    for_url: Callable[[str], tuple[str, BatchAPI]] | None = None
    from_openai: Callable[[bytes], bytes] | None = None

    @property
    def key_env(self) -> str | None:
        """The environment variable holding the API key (None: no jobs)."""
        return self.api.key_env if self.api is not None else None

    @property
    def rules(self) -> InputRules:
        """What the split needs: the name, the limits and the line rules."""
        return InputRules(self.name, self.limits, self.lines)
