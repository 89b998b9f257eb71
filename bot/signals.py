"""The wake-ups between the bot's loops: one object, made at start-up and handed
to each part, so that no part calls another back.

Each loop sleeps on its own event, and whoever stores work for it sets that
event. The adapter's sync sets ``received`` when the inbox has something new
(the worker wakes). The worker and the scheduler set ``to_send`` when they may
have written to the outbox (the adapter's sender wakes). The worker sets
``scheduled`` after a batch, which may have added jobs (the scheduler sets its
wake-up again; it gives way, so the sender woken with it sends first).
``synced`` is set once, when the first sync is stored: the scheduler starts
only then, so that what fell due while the bot was down runs with everything
it must count.

With several platforms at once, each adapter is handed ``part()``: the same
``received`` and ``scheduled``, and a ``to_send`` and a ``synced`` of its own.
Setting the whole's ``to_send`` sets every part's (each sender clears only its
own wake-up, so none misses one); ``all_synced`` sets the whole's ``synced``
once every part has stored its first sync.

Also here: how long a loop sleeps before trying again what may work later
(``Backoff``), and ``until_written``: a write tried again, with back-off, for as
long as the database cannot take it (``StorageUnavailable``: a full disk, a lock
held by another program), so that every loop waits it out the same way; and
``until_opened``, the same for opening the database at start-up (a new one, or a
schema to bring up to date), so that the bot starts and waits rather than stops.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlite_utils import Database

from storage.db import WARNING, StorageUnavailable, Store, unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")


class FanOut(asyncio.Event):
    """An event that, when set, sets each of ``parts`` too."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[asyncio.Event] = []

    def set(self) -> None:
        super().set()
        for part in self.parts:
            part.set()


class GivesWay(asyncio.Event):
    """An event whose loop, when woken, lets the loops woken with it go first (the
    scheduler's looking again at its jobs waits for the sender's first request)."""


class Signals:
    def __init__(self) -> None:
        self.received = asyncio.Event()  # the inbox has something new: the worker
        self.to_send = FanOut()  # the outbox has something new: the sender(s)
        self.scheduled = GivesWay()  # jobs may have changed: the scheduler
        self.synced = asyncio.Event()  # the first sync is stored (never cleared)
        self._synced_parts: list[asyncio.Event] = []

    def part(self) -> Signals:
        """The wake-ups for one of several adapters: the same ``received`` and
        ``scheduled``, its own ``to_send`` (set with the whole's) and ``synced``."""
        part = Signals()
        part.received, part.scheduled = self.received, self.scheduled
        self.to_send.parts.append(part.to_send)
        self._synced_parts.append(part.synced)
        return part

    async def all_synced(self) -> None:
        """Set ``synced`` once every part has stored its first sync."""
        for synced in self._synced_parts:
            await synced.wait()
        self.synced.set()


async def woken(event: asyncio.Event, timeout: float | None = None) -> None:
    """Sleep until ``event`` is set (or ``timeout`` seconds pass), then clear it for
    the next wake-up: whatever set it is then looked at, and what is set after is not lost.

    The loop waits on the event itself (``asyncio.timeout``, not ``wait_for``, which
    waits through a task of its own): woken in one turn of the event loop, not three."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        pass
    event.clear()
    if isinstance(event, GivesWay):
        await asyncio.sleep(0)  # one turn: what was woken at the same time runs first


class Backoff:
    """Exponential back-off with jitter, for errors that may go away."""

    def __init__(self, first: float = 0.5, most: float = 30.0) -> None:
        self.first, self.most, self.failures = first, most, 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = self.first * 2.0 ** min(self.failures - 1, 30)
        return min(self.most, delay * random.uniform(0.8, 1.2))

    def reset(self) -> None:
        self.failures = 0


async def until_written(
    store: Store, write: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``write(db, *args, **kwargs)`` in one transaction, tried again with back-off
    for as long as the database cannot take it (the store logs that)."""
    backoff = Backoff()
    while True:
        try:
            async with store.writing() as db:
                return write(db, *args, **kwargs)
        except StorageUnavailable:
            await asyncio.sleep(backoff.next_delay())


async def until_opened(path: Path) -> Store:
    """``Store.open``, tried again with back-off for as long as the database cannot
    be written (the store's plain warning is logged once)."""
    backoff, began = Backoff(), time.monotonic()
    while True:
        try:
            store = Store.open(path)
        except sqlite3.Error as err:
            if (reason := unavailable(err)) is None:
                raise
            if backoff.failures == 0:
                log.warning(WARNING, reason)
            await asyncio.sleep(backoff.next_delay())
            continue
        if backoff.failures:
            log.info("The database could be opened (after %.0f s)", time.monotonic() - began)
        return store
