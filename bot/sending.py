"""The outbox's two ends as every platform's adapter has them: the rows queued
alike on each platform (``Queueing``), and the sender (``Sender``): one task per
room, each sending its room's rows in order, trying again later what the
platform could not take yet, giving up on what it refused, and parking as
failed, with a dead letter, a row that kept raising something unexpected.

Each adapter's own ``sending`` module says how it performs a row and which of
its platform's errors are worth waiting out (``Sender._perform``,
``Sender._retry_in``). ``Backoff`` (``bot.signals``'s) serves their logins and
syncs too. A database that cannot take a write now (a full disk, a lock held by
another program: ``StorageUnavailable``) is waited out and the same is tried
again (``bot.signals.until_written``), never counted against the row."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import traceback
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from sqlite_utils import Database

from bot import metrics
from bot.config import Config
from bot.signals import Backoff as Backoff
from bot.signals import Signals, until_written, woken
from storage import deadletters, outbox, rooms
from storage.db import Store, unavailable
from storage.outbox import OutboxItem

# How often an outbox item that raises something unexpected (not one of its
# platform's errors, which have their own rules) is tried before it is parked.
SEND_TRIES = 5
# How long, after a 429 on an account-wide limit, rooms keep taking turns.
PACED_FOR = 60.0


class Crashes:
    """The unexpected failures of the item a room's sender is on: one reference
    number for all of them, counted, with their own back-off."""

    def __init__(self, backoff: Backoff) -> None:
        self.item_id: int | None = None
        self.ref, self.count, self.backoff = "", 0, backoff

    def failed(self, item_id: int) -> tuple[str, int]:
        """Count one more failure of this item: its reference number and how many so far."""
        if item_id != self.item_id:
            self.item_id, self.ref, self.count = item_id, deadletters.new_ref(), 0
            self.backoff.reset()
        self.count += 1
        return self.ref, self.count


class Retry(NamedTuple):
    """When to try a refused row again: in ``delay`` seconds; ``asked``: the
    platform said how long to wait (a rate limit), so it is no warning."""

    delay: float
    asked: bool


class Sender:
    """Sending from the outbox, one task per room (a mixin of each adapter)."""

    name: str
    store: Store
    signals: Signals
    user_id: str
    crash_delay: float  # the first wait after an unexpected sending failure
    _room_tasks: dict[str, asyncio.Task[None]]
    # Whether the platform's rate limit is the bot's account as a whole (Matrix:
    # Synapse's rc_message), not each room's or route's (Discord, whose library
    # paces each route itself). Then, after a 429, every room waits its turn.
    limits_per_account: ClassVar[bool] = False
    _paced_until = 0.0  # till then, after a 429: one room's request at a time
    _quiet_until = 0.0  # and none before this (what the 429 asked)
    _pace: asyncio.Lock | None = None
    # The platform's own errors: each goes to _retry_in, anything else is a crash.
    refusals: ClassVar[tuple[type[Exception], ...]] = ()
    room_word: ClassVar[str] = "room"  # what the platform calls a room, in stored errors
    sender_log: ClassVar[logging.Logger] = logging.getLogger(__name__)  # the adapter's own

    async def _perform(self, item: OutboxItem) -> str | None:
        """Do one outbox row. Returns what came of it (an event or room ID)."""
        raise NotImplementedError

    def _retry_in(self, err: Exception, backoff: Backoff) -> Retry | None:
        """When to try again a row the platform refused with ``err`` (None: never)."""
        raise NotImplementedError

    def rooms_sending(self) -> int:
        """How many rooms have something on its way out now."""
        return sum(1 for task in self._room_tasks.values() if not task.done())

    async def sender_loop(self) -> None:
        """Start one task per room that has something to send."""
        while True:
            heads = await until_written(self.store, outbox.heads, platform=self.name)
            for item in heads:
                task = self._room_tasks.get(item.room_id)
                if task is not None and task.done() and not task.cancelled() and task.exception():
                    self.sender_log.error(
                        "The sender for %s stopped", item.room_id, exc_info=task.exception()
                    )
                if task is None or task.done():
                    self._room_tasks[item.room_id] = asyncio.create_task(
                        self._drain_room(item.room_id)
                    )
            await woken(self.signals.to_send, timeout=5)

    async def _drain_room(self, room_id: str) -> None:
        backoff, waiting = Backoff(), Backoff()  # waiting: for the database
        crashes = Crashes(Backoff(first=self.crash_delay))
        while True:
            item = await until_written(self.store, outbox.next_in_room, room_id, platform=self.name)
            if item is None:
                return
            if (wait := item.not_before - time.time()) > 0:
                await asyncio.sleep(wait)
            try:
                result = await self._paced(item)
            except asyncio.CancelledError:
                raise
            except self.refusals as err:
                await self._refused(item, err, backoff)
                continue
            except Exception as err:  # a bug or a surprise: never kill the room's sender
                if unavailable(err):  # not the row's fault: the same row again, later
                    await asyncio.sleep(waiting.next_delay())
                else:
                    await self._after_crash(item, crashes, err)
                continue
            backoff.reset()
            waiting.reset()
            await until_written(self.store, self._sent, item, result)

    async def _paced(self, item: OutboxItem) -> str | None:
        """Perform a row; while the account is rate limited, one room at a time,
        each after the wait the last 429 asked for, so that rooms do not all try
        again at once (and each meet a 429 of its own)."""
        if not self.limits_per_account or time.time() >= self._paced_until:
            return await self._perform(item)
        if self._pace is None:
            self._pace = asyncio.Lock()
        async with self._pace:
            if (wait := self._quiet_until - time.time()) > 0:
                await asyncio.sleep(wait)
            return await self._perform(item)

    async def _refused(self, item: OutboxItem, err: Exception, backoff: Backoff) -> None:
        """The platform said no, or could not be reached: later, or never."""
        retry = self._retry_in(err, backoff)
        if retry is not None and retry.asked:
            metrics.count(metrics.RATE_LIMITED, self.name)
            if self.limits_per_account:
                now = time.time()
                self._quiet_until = max(self._quiet_until, now + retry.delay)
                self._paced_until = max(self._paced_until, now + PACED_FOR)
        if retry is None:
            self.sender_log.error("Gave up on %s in %s: %s", item.action, item.room_id, err)
            await until_written(self.store, self._give_up, item, str(err))
            return
        self.sender_log.log(
            logging.INFO if retry.asked else logging.WARNING,
            "Sending to %s failed (%s); trying again in %.1f s",
            item.room_id,
            err,
            retry.delay,
        )
        later = time.time() + retry.delay
        await until_written(self.store, outbox.retry_later, item.id, later)

    def _sent(self, db: Database, item: OutboxItem, result: str | None) -> None:
        # What went to a person's own private chat is theirs (and !mydata shows it)
        # until they are forgotten; elsewhere it may quote people: not kept.
        scrub = item.action in ("send", "react", "file") and not rooms.private_with(
            db, item.room_id
        )
        outbox.mark_sent(db, item.id, result, scrub=scrub)
        if item.action == "leave":
            rooms.mark_left(db, item.room_id)
        if item.action in ("create_dm", "create_room") and result:
            direct = item.action == "create_dm"
            dm_with = item.room_id if direct else None
            rooms.upsert(db, result, state="joined", is_direct=direct, dm_with=dm_with)
            outbox.move_room(db, item.room_id, result)  # what waited for the room
            self.signals.to_send.set()

    def _give_up(self, db: Database, item: OutboxItem, error: str) -> None:
        outbox.mark_failed(db, item.id, error)
        if item.action in ("create_dm", "create_room"):  # what waited for it
            outbox.fail_pending(db, item.room_id, f"the {self.room_word} was not made: {error}")

    async def _after_crash(self, item: OutboxItem, crashes: Crashes, err: Exception) -> None:
        """An outbox item raised something unexpected: log it with a reference number,
        try again later, and after SEND_TRIES failures park it as failed in the outbox
        and in the dead letters (with the same reference), so the room goes on."""
        ref, tries = crashes.failed(item.id)
        if tries < SEND_TRIES:
            delay = crashes.backoff.next_delay()
            self.sender_log.exception(
                "Sending %s to %s failed (ref %s, try %d of %d); trying again in %.1f s",
                item.action,
                item.room_id,
                ref,
                tries,
                SEND_TRIES,
                delay,
            )
            later = time.time() + delay
            await until_written(self.store, outbox.retry_later, item.id, later)
            return
        self.sender_log.exception(
            "Gave up on %s in %s after %d tries (ref %s)", item.action, item.room_id, tries, ref
        )
        record, trace = dataclasses.asdict(item), traceback.format_exc()

        def park(db: Database) -> None:
            self._give_up(db, item, f"ref {ref}: {type(err).__name__}: {err}")
            deadletters.add(db, ref, item.txn_id, item.room_id, self.user_id, record, trace)

        await until_written(self.store, park)


class Queueing:
    """The outbox rows every platform queues alike (a mixin of each adapter, first
    among its bases); each adapter queues its own kinds of message itself."""

    name: str
    config: Config

    def _queue(
        self,
        db: Database,
        action: str,
        room_id: str,
        content: dict[str, Any] | None = None,
        *,
        event_type: str | None = None,
        opens: str | None = None,
    ) -> str:
        """One row for this platform's sender; returns its transaction ID."""
        return outbox.enqueue(
            db, action, room_id, event_type, content, opens=opens, platform=self.name
        )

    def _queue_new_room(self, db: Database, key: str, content: dict[str, Any]) -> str:
        """The row that makes a room (``content``: the platform's); what is queued
        under ``key`` meanwhile waits for it, and goes there once it is made."""
        return self._queue(db, "create_room", key, content, opens=outbox.NEW_ROOM)

    def direct_room(self, db: Database, user_id: str) -> str:
        """The person's private direct chat (nobody else in it, as the platform last
        showed); if there is none, a new one is opened first.

        Until it exists, the outbox files things under the person's ID, so they
        go out in order once the chat is open.
        """
        room_id = rooms.find_direct(db, user_id)
        if room_id is not None:
            return room_id
        if not outbox.has_pending(db, "create_dm", user_id):
            self._queue(db, "create_dm", user_id, opens=outbox.PERSON)
        return user_id

    def queue_removal(self, db: Database, room_id: str, event_id: str) -> str:
        return self._queue(db, "redact", room_id, {"event_id": event_id})

    @property
    def files_dir(self) -> Path:
        return self.config.storage.data_dir / "outgoing"

    def queue_file(
        self, db: Database, room_id: str, file: Path, filename: str, mimetype: str
    ) -> str:
        content = {
            "path": str(file),
            "filename": filename,
            "mimetype": mimetype,
            "size": file.stat().st_size,
        }
        return self._queue(db, "file", room_id, content)

    def queue_invite(self, db: Database, room_id: str, user_id: str) -> str:
        return self._queue(db, "invite", room_id, {"user_id": user_id})

    def queue_kick(self, db: Database, room_id: str, user_id: str, reason: str) -> str:
        return self._queue(db, "kick", room_id, {"user_id": user_id, "reason": reason})

    def queue_join(self, db: Database, room_id: str) -> str:
        return self._queue(db, "join", room_id)

    def queue_leave(self, db: Database, room_id: str) -> str:
        return self._queue(db, "leave", room_id)

    def sent_event(self, db: Database, txn_id: str) -> str | None:
        return outbox.result_of(db, txn_id)

    def sent_txn(self, db: Database, event_id: str) -> str | None:
        return outbox.txn_of(db, event_id)
