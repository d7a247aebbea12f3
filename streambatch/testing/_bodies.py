"""Response bodies of each emulated endpoint, as literal dicts (PROVIDERS.md).

Each builder takes the request body and a precomputed `Reply` and returns the
JSON object the synchronous endpoint would have answered. Stdlib only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from ._replies import Reply, canonical

Body = dict[str, Any]
Builder = Callable[[Mapping[str, Any], Reply, str, int, int], Body]

_MODERATION_CATEGORIES = [
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
]


def _model(body: Mapping[str, Any], default: str) -> str:
    model = body.get("model")
    return model if isinstance(model, str) else default


def _inputs(body: Mapping[str, Any]) -> list[Any]:
    value = body.get("input")
    if isinstance(value, list) and value and not isinstance(value[0], int):
        return value
    return [value]


def _vector(item: object, dims: int) -> list[float]:
    digest = hashlib.blake2b(canonical(item), digest_size=64).digest()
    return [round(digest[i % 64] / 127.5 - 1.0, 6) for i in range(dims)]


def _counts(reply: Reply) -> dict[str, int]:
    """A completion's token counts, as OpenAI's and Mistral's ``usage`` give them."""
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _finish(reply: Reply) -> str:
    """A completion choice's ``finish_reason``."""
    return "length" if reply.truncated else "stop"


def chat_completion(
    body: Mapping[str, Any], reply: Reply, rid: str, created: int, dims: int
) -> Body:
    """A ``chat.completion`` object."""
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": created,
        "model": _model(body, "gpt-4o-mini"),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": _finish(reply),
            }
        ],
        "usage": {
            **_counts(reply),
            "prompt_tokens_details": {
                "cached_tokens": reply.cached_tokens,
                "audio_tokens": 0,
            },
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }


def text_completion(
    body: Mapping[str, Any], reply: Reply, rid: str, created: int, dims: int
) -> Body:
    """A legacy ``text_completion`` object."""
    return {
        "id": f"cmpl-{rid}",
        "object": "text_completion",
        "created": created,
        "model": _model(body, "gpt-3.5-turbo-instruct"),
        "choices": [
            {
                "text": reply.text,
                "index": 0,
                "logprobs": None,
                "finish_reason": _finish(reply),
            }
        ],
        "usage": _counts(reply),
    }


def response(
    body: Mapping[str, Any], reply: Reply, rid: str, created: int, dims: int
) -> Body:
    """A Responses-API ``response`` object with one ``output_text`` message."""
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": created,
        "status": "incomplete" if reply.truncated else "completed",
        "error": None,
        "incomplete_details": (
            {"reason": "max_output_tokens"} if reply.truncated else None
        ),
        "model": _model(body, "gpt-4o-mini"),
        "output": [
            {
                "type": "message",
                "id": f"msg_{rid}",
                "status": "incomplete" if reply.truncated else "completed",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": reply.text, "annotations": []}
                ],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
        "usage": {
            "input_tokens": reply.input_tokens,
            "input_tokens_details": {"cached_tokens": reply.cached_tokens},
            "output_tokens": reply.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }


def embeddings(
    body: Mapping[str, Any], reply: Reply, rid: str, created: int, dims: int
) -> Body:
    """An embeddings ``list`` with one small deterministic vector per input."""
    data = [
        {"object": "embedding", "index": i, "embedding": _vector(item, dims)}
        for i, item in enumerate(_inputs(body))
    ]
    return {
        "object": "list",
        "data": data,
        "model": _model(body, "text-embedding-3-small"),
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "total_tokens": reply.input_tokens,
        },
    }


def moderations(
    body: Mapping[str, Any], reply: Reply, rid: str, created: int, dims: int
) -> Body:
    """A moderation object: one unflagged result per input."""
    results = []
    for item in _inputs(body):
        scores = _vector(item, len(_MODERATION_CATEGORIES))
        results.append(
            {
                "flagged": False,
                "categories": dict.fromkeys(_MODERATION_CATEGORIES, False),
                "category_scores": {
                    name: round(abs(score) / 1000, 8)
                    for name, score in zip(_MODERATION_CATEGORIES, scores, strict=True)
                },
            }
        )
    return {
        "id": f"modr-{rid}",
        "model": _model(body, "omni-moderation-latest"),
        "results": results,
    }


def message(
    body: Mapping[str, Any], reply: Reply, rid: str, created: int, dims: int
) -> Body:
    """An Anthropic ``message`` object."""
    return {
        "id": f"msg_{rid}",
        "type": "message",
        "role": "assistant",
        "model": _model(body, "claude-sonnet-4-5"),
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": "max_tokens" if reply.truncated else "end_turn",
        "stop_sequence": None,
        "usage": {  # Anthropic's input_tokens leaves out the cache reads
            "input_tokens": reply.input_tokens - reply.cached_tokens,
            "output_tokens": reply.output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": reply.cached_tokens,
            "service_tier": "batch",
        },
    }


def mistral_chat_completion(
    body: Mapping[str, Any], reply: Reply, rid: str, created: int, dims: int
) -> Body:
    """Mistral's ``chat.completion``: OpenAI's shape, less what Mistral never
    sends (refusals, annotations, logprobs, token details: its usage has only
    the three counts, so no cached count), its message with ``tool_calls`` and
    ``prefix`` (the mistralai SDK's ``ChatCompletionResponse``)."""
    return {
        "id": rid,
        "object": "chat.completion",
        "model": _model(body, "mistral-small-latest"),
        "created": created,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.text,
                    "tool_calls": None,
                    "prefix": False,
                },
                "finish_reason": _finish(reply),
            }
        ],
        "usage": _counts(reply),
    }


OPENAI_ENDPOINTS: dict[str, Builder] = {
    "/v1/chat/completions": chat_completion,
    "/v1/completions": text_completion,
    "/v1/responses": response,
    "/v1/embeddings": embeddings,
    "/v1/moderations": moderations,
}

MISTRAL_ENDPOINTS: dict[str, Builder] = {
    **OPENAI_ENDPOINTS,
    "/v1/chat/completions": mistral_chat_completion,
}
