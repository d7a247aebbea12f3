"""Write sample request files, for demos and tests of a pipeline.

    python -m streambatch.testing.sample --provider openai --count 100000 -o requests.jsonl

Each line is a valid request in the provider's native batch format (OpenAI chat
completions, Anthropic Messages, or Gemini ``{"key", "request"}`` lines), with
``custom_id`` (Gemini: ``key``) ``req-000000``, ...
Deterministic: the same arguments always write the same bytes. Streams to disk.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator, Sequence

import msgspec

__all__ = ("sample_requests", "write_sample")

_TOPICS = (
    "the sea",
    "autumn leaves",
    "a lighthouse",
    "the number {n}",
    "a café in Paris",
    "mountains at dawn",
    "a quiet library",
    "the first snow",
    "city lights",
    "an old map",
)
_FORMS = (
    "Write a haiku about {t}.",
    "Describe {t} in one sentence.",
    "Give three facts about {t}.",
)


def sample_requests(
    provider: str, count: int, *, seed: int = 0
) -> Iterator[dict[str, object]]:
    """Yield ``count`` request objects for ``provider`` (``openai``, ``azure``,
    ``anthropic``, ``gemini`` or ``mistral``)."""
    rng = random.Random(seed)
    width = max(6, len(str(count - 1)))
    for n in range(count):
        topic = rng.choice(_TOPICS).format(n=n)
        prompt = rng.choice(_FORMS).format(t=topic)
        custom_id = f"req-{n:0{width}d}"
        messages = [{"role": "user", "content": prompt}]
        if provider == "anthropic":
            params = {
                "model": "claude-haiku-4-5",
                "max_tokens": 200,
                "messages": messages,
            }
            yield {"custom_id": custom_id, "params": params}
        elif provider in ("openai", "azure"):
            body = {"model": "gpt-4o-mini", "max_tokens": 200, "messages": messages}
            yield {
                "custom_id": custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": body,
            }
        elif provider == "mistral":
            body = {
                "model": "mistral-small-latest",
                "max_tokens": 200,
                "messages": messages,
            }
            yield {"custom_id": custom_id, "body": body}
        elif provider == "gemini":
            request = {
                "model": "gemini-2.5-flash",
                "contents": [{"role": "user", "parts": [{"text": prompt}]}],
                "generationConfig": {"maxOutputTokens": 200},
            }
            yield {"key": custom_id, "request": request}
        else:
            raise ValueError(f"unknown provider {provider!r}")


def write_sample(path: str, provider: str, count: int, *, seed: int = 0) -> None:
    """Write ``count`` sample requests to ``path`` as JSONL."""
    encoder = msgspec.json.Encoder()
    buffer = bytearray()
    with open(path, "wb") as file:
        for request in sample_requests(provider, count, seed=seed):
            encoder.encode_into(request, buffer, -1)
            buffer.extend(b"\n")
            if len(buffer) > 1 << 20:
                file.write(buffer)
                buffer.clear()
        file.write(buffer)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m streambatch.testing.sample``."""
    parser = argparse.ArgumentParser(prog="python -m streambatch.testing.sample")
    parser.add_argument(
        "--provider",
        choices=["openai", "anthropic", "gemini", "mistral"],
        default="openai",
    )
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    write_sample(args.output, args.provider, args.count, seed=args.seed)
    print(f"wrote {args.count} {args.provider} requests to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
