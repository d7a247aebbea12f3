"""What an Anthropic batch request must be, and how big a batch may be.

Pure: msgspec only. Wire shapes from PROVIDERS.md 4.2 and 4.6.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .._core.pack import ChunkLimits
from .._core.requests import AnyObject, LineRules

__all__ = ("CUSTOM_ID", "LIMITS", "LINES")

CUSTOM_ID = r"^[a-zA-Z0-9_-]{1,64}$"
"""The custom_id pattern (PROVIDERS.md 4.2), as people read it."""
# matched whole: msgspec searches, and Python's "$" also matches before a final "\n"
_ID_RULE = CUSTOM_ID.replace("$", r"\Z")
_FRAME = len(b'{"requests":[') + len(b"]}") - 1  # n lines, n - 1 commas


class _Params(msgspec.Struct, gc=False):
    model: str
    max_tokens: Annotated[int, msgspec.Meta(ge=1)]
    messages: list[AnyObject]
    stream: Literal[False] = False


class _Line(msgspec.Struct, gc=False):
    custom_id: Annotated[str, msgspec.Meta(pattern=_ID_RULE)]
    params: _Params


LINES = LineRules(
    msgspec.json.Decoder(_Line),
    {
        "custom_id": f"custom_id must match {CUSTOM_ID}",
        "params.max_tokens": "params.max_tokens must be an integer of at least 1",
        "params.stream": "params.stream must not be true: batches do not stream",
    },
    grouped=False,
)
"""An Anthropic request: ``{"custom_id", "params": {"model", "max_tokens",
"messages", ...}}``; a batch may mix models."""

LIMITS = ChunkLimits(100_000, 253_440_000, _FRAME)
"""PROVIDERS.md 4.2 and 4.6: 100,000 requests, a 256 MB JSON request body (less
1%), counted with its ``{"requests":[...]}`` frame."""
