"""Snowflakes that increase with time, and timestamps in Discord's own format."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """Discord IDs: milliseconds since 2015 in the top bits, a counter below (never repeats)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last


def created_ms(snowflake: int) -> int:
    """When a snowflake was made, in milliseconds since 1970."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


def iso(ms: float | None = None) -> str:
    """ISO 8601 as Discord writes it: ``2026-12-01T14:46:23.123000+00:00``."""
    moment = time.time() if ms is None else ms / 1000
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")
