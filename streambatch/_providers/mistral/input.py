"""What a Mistral batch input line must be, how big a batch may be, and what its
requests cost.

Pure: msgspec only. Wire shapes from PROVIDERS.md 6, checked against the official
``mistralai`` SDK (``CreateBatchJobRequest``): a line is ``{"custom_id", "body"}``,
with no ``method`` or ``url``; the endpoint and the model are given on the job.

So that one chunk makes one job, each line names its model in ``body.model`` (as
the SDK's own inline example does) and its endpoint is read from the body's
shape: ``messages`` is a chat completion, ``input`` an embedding, ``prompt`` a
fill-in-the-middle completion. Lines are grouped by (endpoint, model).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..._core.pack import ChunkLimits
from ..._core.pricing import Price, PriceRules
from ..._core.requests import AnyObject, LineRules

__all__ = ("CHAT", "EMBEDDINGS", "FIM", "LIMITS", "LINES", "PRICES")

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
FIM = "/v1/fim/completions"


_ABSENT = msgspec.Raw(b"null")


class _Body(msgspec.Struct, gc=False):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    stream: Literal[False] = False
    messages: list[AnyObject] | None = None
    input: msgspec.Raw = _ABSENT  # a string or a list of them: not checked here
    prompt: msgspec.Raw = _ABSENT

    def __post_init__(self) -> None:
        # raised here, msgspec reports it as a ValidationError at `$.body`
        given = (self.messages is not None) + (self.input != _ABSENT)
        if given + (self.prompt != _ABSENT) != 1:
            raise ValueError(
                "must hold exactly one of messages (a chat completion), "
                "input (embeddings) or prompt (a fill-in-the-middle completion)"
            )


class _Line(msgspec.Struct, gc=False):
    custom_id: Annotated[str, msgspec.Meta(min_length=1)]
    body: _Body

    @property
    def url(self) -> str:
        body = self.body
        if body.messages is not None:
            return CHAT
        return EMBEDDINGS if body.input != _ABSENT else FIM


LINES = LineRules(
    msgspec.json.Decoder(_Line),
    {
        "custom_id": "custom_id must be a non-empty string",
        "body.model": "body.model must name the model, e.g. mistral-small-latest",
        "body.stream": "body.stream must not be true: batches do not stream",
    },
    grouped=True,
)
"""A Mistral line: ``{"custom_id", "body": {"model", "messages" | "input" |
"prompt", ...}}``; a job takes one (endpoint, model)."""

LIMITS = ChunkLimits(100_000, 506_880_000)
"""docs.mistral.ai "Known limitations" (PROVIDERS.md 6): 100,000 requests and a
512 MB file per job (less 1%). The batch page's "up to 1M requests" conflicts;
the lower figure is used."""

# Half the list price: the batch discount is third-party only, and so are the
# list prices read (2026). Exact aliases, not families: the dated
# mistral-large-24xx snapshots are an older, dearer model.
PRICES = PriceRules(
    {
        "mistral-large-latest": Price(0.25, 0.75),
        "mistral-medium-latest": Price(0.20, 1.00),
        "mistral-small-latest": Price(0.05, 0.15),
        "mistral-embed": Price(0.05, 0.0),
    },
    "body",
)
"""Mistral's batch prices (as of 2026-08; sources: docs/cost.md)."""
