"""What happened since the bot started, counted for ``/metrics`` (``web/pages/health.py``).

Only counts of kinds of things, by platform: never a person, a room or a word."""

from __future__ import annotations

from collections import Counter

RATE_LIMITED = "rate_limited"  # the platform said "too many requests" (429)
UNDECRYPTABLE = "undecryptable"  # an encrypted message whose keys had not come (yet)

COUNTS: Counter[tuple[str, str]] = Counter()


def count(kind: str, platform: str) -> None:
    COUNTS[(kind, platform)] += 1


def counted(kind: str) -> dict[str, int]:
    """How many of ``kind`` so far, by platform."""
    return {platform: n for (k, platform), n in COUNTS.items() if k == kind}
