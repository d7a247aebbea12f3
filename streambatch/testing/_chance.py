"""Seeded, order-independent random choices: hash the seed with names.

A per-item or per-batch fault must not depend on the order in which requests
arrive, so these choices hash their inputs instead of drawing from a stream.
Stdlib only.
"""

from __future__ import annotations

import hashlib


def chance(seed: int, *names: str) -> float:
    """Return a number in [0, 1) determined by ``seed`` and ``names``."""
    text = "\x1f".join((str(seed), *names)).encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def happens(rate: float, seed: int, *names: str) -> bool:
    """Return whether an event of probability ``rate`` happens for ``names``."""
    if rate <= 0.0:
        return False
    return rate >= 1.0 or chance(seed, *names) < rate
