"""The state every part of the Matrix adapter shares, what the parts ask of
each other (``Parts``); back-off, and writes tried again while the database
cannot take them, are ``bot.signals``'s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from nio import AsyncClient
from sqlite_utils import Database

from bot.config import Config, MatrixConfig
from bot.matrix.first_sync import FirstSync
from bot.matrix.http import MatrixHTTP
from bot.platforms import StartupError as StartupError
from bot.sending import Backoff as Backoff
from bot.signals import Signals
from bot.signals import until_written as until_written
from storage.db import Store


class Parts(Protocol):
    """What one part of the adapter asks of another; the part named answers it.
    (The parts are mixins of ``MatrixAdapter``: each sees the others only through this.)"""

    async def login(self) -> None:
        """session: log in, or again when the homeserver ended the session."""
        ...

    async def _crypto_upkeep(self) -> None:
        """crypto: upload, query and claim keys as needed."""
        ...

    def _start_upkeep(self) -> None:
        """crypto: key upkeep beside the sync loop."""
        ...

    async def _crypto_in_order(self, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """crypto: nio reads a sync that brings keys, before it is stored."""
        ...

    def _crypto_later(self, data: dict[str, Any]) -> None:
        """crypto: nio reads a sync that brings no keys, after it is stored."""
        ...

    def _readable(
        self, raw: dict[str, Any], room_id: str, decrypted: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """crypto: the decrypted form of an event, when there is one."""
        ...

    def _decrypt(self, raw: dict[str, Any], room_id: str) -> dict[str, Any] | None:
        """crypto: decrypt one event now, or None."""
        ...

    def rooms_sending(self) -> int:
        """sending: how many rooms have something on its way out now."""
        ...

    async def _unlock(self) -> None:
        """crypto: try again the messages that wait for their keys."""
        ...

    async def recall_sealed(self) -> None:
        """crypto: fetch again ballot answers lost with the bot's memory."""
        ...

    def seal(
        self, db: Database, room_id: str, events: Iterable[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """crypto: events as they may be stored (ballot answers held in memory)."""
        ...

    async def _encrypt_if_needed(
        self, room_id: str, event_type: str, content: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """crypto: what to send, encrypted if the room is."""
        ...

    async def _is_encrypted(self, room_id: str) -> bool:
        """crypto: whether a room is encrypted."""
        ...

    async def _members(self, room_id: str) -> dict[str, dict[str, Any]]:
        """ingest: everyone joined or invited, with their member event's content."""
        ...

    def sent_txn(self, db: Database, event_id: str) -> str | None:
        """adapter: the transaction ID of something the bot sent."""
        ...


class AdapterBase(Parts):
    """What every part of the adapter shares: the config, the store, the clients,
    the wake-ups (``bot.signals``) and the little state kept in memory."""

    name = "matrix"  # the platform's name, in the inbox's and the outbox's rows

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        fill_gaps: bool = True,
        signals: Signals | None = None,
        first_sync: FirstSync | None = None,
    ) -> None:
        if config.matrix is None:
            raise StartupError("the config file has no [matrix] section")
        self.config = config
        self.matrix: MatrixConfig = config.matrix
        self.store = store
        self.user_id = config.matrix.user_id
        self.fill_gaps = fill_gaps
        # The sync sets signals.received and signals.synced; the sender waits on signals.to_send.
        self.signals = signals or Signals()
        # The first sync request, sent as the bot started (bot.matrix.first_sync), and
        # its client, which the session goes on with.
        self._first_sync = first_sync
        self.http: MatrixHTTP | None = first_sync.http if first_sync else None
        self.nio: AsyncClient | None = None
        self._encrypted: dict[str, bool] = {}  # room ID -> has m.room.encryption
        self._upkeep: asyncio.Task[None] | None = None
        self._nio_tail: asyncio.Task[None] | None = None  # nio reading a sync in the background
        self._room_tasks: dict[str, asyncio.Task[None]] = {}
        # Clear while the sync loop fills gaps (a catch-up): sending waits for it (ingest).
        self._gaps_read = asyncio.Event()
        self._gaps_read.set()
        self._cross_signed = False  # this session's device is cross-signed (checked once)
        # Answers to secret ballots, by event ID: in memory only, never on disk.
        self._held: dict[str, dict[str, Any]] = {}
        self._recall_needed = False
        self.crash_delay = 0.5  # the first wait after an unexpected sending failure
        self._undecryptable: set[str] = set()  # event IDs whose decryption failure was logged
        self._answered_at = datetime.now(UTC)  # the homeserver's latest answer to a sync
        self._lost_since: datetime | None = None  # the sync has failed since this answer

    @property
    def out_of_touch_since(self) -> datetime | None:
        """When the homeserver last answered a sync, while the syncs since fail."""
        return self._lost_since

    def _in_touch(self, answered: bool) -> None:
        """A sync was answered (or could not reach the homeserver)."""
        if answered:
            self._answered_at, self._lost_since = datetime.now(UTC), None
        elif self._lost_since is None:
            self._lost_since = self._answered_at
