"""The worker: pending inbox events, in order, one batch per transaction.

Each batch runs in one write transaction; each event in its own savepoint. What
a handler writes and what it says (the outbox) commit together with the event
being marked done, so a crash at any point replays the event and changes
nothing twice. One bad event never stops the bot: it is logged with a reference
number, kept in the dead letters, and the person hears that number. A database
that cannot take the batch now (a full disk, a lock held by another program) is
nobody's fault: the whole batch rolls back, nothing is said, and the same
events are tried again with back-off (``bot.signals.Backoff``) until it can.

Dependencies point one way. The worker asks the adapter of the event's platform
(the inbox row names it) only what a stored event means (``Adapter.interpret``,
in neutral terms) and hands the answer on, with the platforms bound to that one
(``bot.platforms``), so what is said in answer goes out where the event came from:
what people do to the dispatcher, an invitation or a replaced room to the
core's own policy (``bot.invites``), a message that cannot be read yet to the
features as ``Locked``. The adapter knows nothing of the worker: the two wake
each other only through ``bot.signals``.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from sqlite_utils import Database

from bot import invites
from bot.context import (
    EventId,
    Invitation,
    Locked,
    Message,
    NotReadableYet,
    RoomId,
    RoomReplaced,
    UserId,
)
from bot.dispatch import Dispatcher
from bot.platforms import Adapter, Happened, Platforms
from bot.signals import Backoff, Signals, woken
from storage import deadletters, inbox
from storage.db import StorageUnavailable, Store, unavailable
from storage.inbox import InboxEvent

log = logging.getLogger(__name__)

__all__ = ["Adapter", "Happened", "Worker"]

BATCH = 50  # events handled per transaction, at most


class Worker:
    """Handles pending inbox events, in order, one batch per transaction."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        platforms: Adapter | Platforms,
        *,
        signals: Signals | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.now = now
        self.dispatcher = dispatcher
        self.platforms = Platforms.of(platforms)
        self.signals = signals or Signals()

    async def run(self) -> None:
        """Handle what is in the inbox (what was left from before a crash, first),
        then whatever the sync brings, each time it says so."""
        waiting = Backoff()  # for the database, when it cannot take a batch
        while True:
            try:
                handled = await self.run_batch()
            except StorageUnavailable:  # rolled back: the same events again, later
                await asyncio.sleep(waiting.next_delay())
                continue
            waiting.reset()
            if handled < BATCH:  # a full batch: there may be more; a shorter one took all
                await woken(self.signals.received)

    async def run_batch(self, size: int = BATCH) -> int:
        """Handle up to ``size`` pending events. Returns how many were handled."""
        async with self.store.writing() as db:
            batch = inbox.pending(db, size, self.platforms.names)
            for event in batch:
                await self._handle_one(db, event)
        if batch:
            self.signals.to_send.set()
            self.signals.scheduled.set()
        return len(batch)

    async def _handle_one(self, db: Database, event: InboxEvent) -> None:
        happened: Happened | None = None
        home = self.dispatcher.on(self.platforms.at(event.platform))
        try:
            with db.atomic():
                happened = self._interpret(db, event)
                if happened is not None:
                    await _hand_on(home, db, happened)
                inbox.mark(db, event.seq, _state_after(happened))
        except Exception as err:
            if unavailable(err):
                raise  # not the event's fault: the whole batch is rolled back
            ref = deadletters.new_ref()
            log.exception(
                "Handling event %s in %s failed (ref %s)", event.event_id, event.room_id, ref
            )
            deadletters.add(
                db,
                ref,
                event.event_id,
                event.room_id,
                event.sender,
                event.event,
                traceback.format_exc(),
            )
            inbox.mark(db, event.seq, "failed")
            if not isinstance(happened, Message):  # nobody is waiting for an answer
                return
            home.platform.queue_text(
                db, event.room_id, home.text("errors.internal", ref=ref), reply_to=event.event_id
            )

    def _interpret(self, db: Database, event: InboxEvent) -> Happened | None:
        try:
            return self.platforms.adapter(event.platform).interpret(db, event)
        except NotReadableYet:
            log.info(
                "Cannot read %s in %s yet; it waits for its keys", event.event_id, event.room_id
            )
            found = int(self.now().timestamp() * 1000)
            return Locked(
                EventId(event.event_id), RoomId(event.room_id), UserId(event.sender), found
            )


async def _hand_on(dispatcher: Dispatcher, db: Database, happened: Happened) -> None:
    if isinstance(happened, Invitation):
        invites.answer(dispatcher, db, happened)
    elif isinstance(happened, RoomReplaced):
        invites.follow(dispatcher, db, happened)
    else:
        await dispatcher.handle(db, happened)


def _state_after(happened: Happened | None) -> str:
    """The inbox state of an event once handled. An invitation or a replaced room
    stays "ignored", as before the core decided on them: "done" counts what people
    did, and what the policy did with the room is in the outbox."""
    if happened is None or isinstance(happened, Invitation | RoomReplaced):
        return "ignored"
    return "locked" if isinstance(happened, Locked) else "done"
