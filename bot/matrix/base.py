"""The state every part of the Matrix adapter shares, and back-off."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from nio import AsyncClient

from bot.config import Config
from bot.matrix.http import MatrixHTTP
from storage.db import Store


class StartupError(Exception):
    """The bot cannot start; the message says why."""


class Backoff:
    """Exponential back-off with jitter, for errors that may go away."""

    def __init__(self, first: float = 0.5, most: float = 30.0) -> None:
        self.first, self.most, self.failures = first, most, 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = self.first * 2 ** min(self.failures - 1, 30)
        return min(self.most, delay * random.uniform(0.8, 1.2))

    def reset(self) -> None:
        self.failures = 0


class AdapterBase:
    """What every part of the adapter shares: the config, the store, the clients
    and the little state kept in memory."""

    def __init__(self, config: Config, store: Store, *, fill_gaps: bool = True) -> None:
        self.config = config
        self.store = store
        self.user_id = config.matrix.user_id
        self.fill_gaps = fill_gaps
        self.on_ingest: Callable[[], None] = lambda: None
        self.http: MatrixHTTP | None = None
        self.nio: AsyncClient | None = None
        self._sender_wake = asyncio.Event()
        self.synced = asyncio.Event()  # set once the first sync is safely stored
        self._encrypted: dict[str, bool] = {}  # room ID -> has m.room.encryption
        self._upkeep: asyncio.Task[None] | None = None
        self._nio_tail: asyncio.Task[None] | None = None  # nio reading a sync in the background
        self._room_tasks: dict[str, asyncio.Task[None]] = {}
        self._cross_signed = False  # this session's device is cross-signed (checked once)
        # Answers to secret ballots, by event ID: in memory only, never on disk.
        self._held: dict[str, dict[str, Any]] = {}
        self._recall_needed = False
        self.crash_delay = 0.5  # the first wait after an unexpected sending failure
        self._undecryptable: set[str] = set()  # event IDs whose decryption failure was logged
