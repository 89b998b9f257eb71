"""Things to do at a set time: closing a poll, sending a reminder.

Due times live in the ``jobs`` table; APScheduler only wakes the bot up at the
earliest one. At start-up the wake-up is rebuilt from the rows, and anything
that fell due while the bot was down runs once, straight away. The daily jobs
(``@commands.daily``) each have their next run waiting; the running bot adds
them with back-off, so a database it cannot write at start-up does not stop it.

A job handler does its network reads first, then its writes inside
``async with job.writing() as db:``, which marks the job done in the same
transaction: a crash before the commit runs the job again, after it never.

Each job belongs to the chat platform it was asked for on (``schedule``'s
``platform``: the event's); its handler is given the platforms bound to that
one, and jobs of a platform the bot does not run on now wait for it.

The scheduler hears that jobs may have been added through ``bot.signals``
(``scheduled``, set after each worker batch), and says through it that jobs may
have written to the outbox (``to_send``).

A database that cannot take a job's writes now (a full disk, a lock held by
another program: ``StorageUnavailable``) is not the job's failure: it uses up
none of its tries, and the jobs due are run again with back-off until it can.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlite_utils import Database

from bot.config import Config
from bot.context import Platform, Speaking
from bot.messages import Messages
from bot.platforms import Adapter, Platforms
from bot.registry import Registry
from bot.signals import Backoff, Signals, until_written, woken
from storage import jobs
from storage.db import StorageUnavailable, Store, unavailable

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=1)
MOST_ATTEMPTS = 5
WAKE_ID = "copro-wake"


class Clock(Protocol):
    def now(self) -> datetime:
        """The time now, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class JobCancelled(Exception):
    """The job was cancelled or done while it ran; nothing it did is kept."""


class NotYet(Exception):
    """The job cannot run yet (e.g. answers it must count are still arriving).
    It runs again in a few seconds; this is not a failure."""


SOON = timedelta(seconds=2)
FIRST_DAILY = timedelta(minutes=1)


def schedule(db: Database, kind: str, ref: str, due: datetime, *, platform: str) -> int:
    """Add a job inside the caller's transaction. The scheduler picks it up after commit.
    ``platform``: the one it belongs to (``ctx.platform.name``, ``job.platform.name``)."""
    return jobs.add(db, kind, ref, due.timestamp(), platform=platform)


@dataclass
class Job(Speaking):
    """What a job handler receives."""

    id: int
    kind: str
    ref: str
    due_at: datetime
    store: Store
    platform: Platform
    config: Config
    messages: Messages
    now: datetime

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Database]:
        """A write transaction that also marks this job done."""
        async with self.store.writing() as db:
            if not jobs.is_pending(db, self.id):
                raise JobCancelled(self.id)
            yield db
            jobs.mark_done(db, self.id)


class Scheduler:
    def __init__(
        self,
        store: Store,
        registry: Registry,
        platforms: Adapter | Platforms,
        config: Config,
        messages: Messages,
        clock: Clock | None = None,
        signals: Signals | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.platforms = Platforms.of(platforms)
        self.config = config
        self.messages = messages
        self.clock = clock or SystemClock()
        self.signals = signals or Signals()
        self._aps: AsyncIOScheduler | None = None
        self._armed_for: float | None = None  # the due time the wake-up is set for

    def start(self) -> None:
        """Set the wake-up, with the daily jobs added now (tests, a quick start)."""
        self._start_waking()
        self.ensure_daily()
        self.refresh()

    async def run(self) -> None:
        """The running bot's scheduler: ``start``, except that the daily jobs are
        added as every loop writes (``until_written``), so that a bot started on a
        full disk or a locked database comes up and adds them once it can; then
        ``follow``."""
        self._start_waking()
        self.refresh()  # the jobs already waiting
        await until_written(self.store, self._add_daily)
        self.refresh()
        await self.follow()

    def _start_waking(self) -> None:
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.start()

    def ensure_daily(self) -> None:
        """Each daily job has its next run waiting (the first a minute after start)."""
        with self.store.write() as db:
            self._add_daily(db)

    def _add_daily(self, db: Database) -> None:
        first = self.clock.now() + FIRST_DAILY
        for kind in sorted(self.registry.daily_jobs):
            if not jobs.has_pending(db, kind, self.platforms.names):
                schedule(db, kind, "daily", first, platform=self.platforms.name)

    async def follow(self) -> None:
        """Set the wake-up again each time jobs may have been added (after start)."""
        while True:
            await woken(self.signals.scheduled)
            self.refresh()

    def stop(self) -> None:
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)

    def refresh(self) -> None:
        """Set the wake-up for the earliest pending job (call after adding jobs).
        A wake-up already set for that time is left as it is: most batches add no
        job, and setting it again costs more than the reply the sender is making."""
        if self._aps is None:
            return
        due = jobs.next_due(self.store.db, self.platforms.names)
        if due is not None and due == self._armed_for and self._aps.get_job(WAKE_ID):
            return
        self._armed_for = due
        if due is None:
            if self._aps.get_job(WAKE_ID):
                self._aps.remove_job(WAKE_ID)
            return
        when = max(datetime.fromtimestamp(due, UTC), datetime.now(UTC))
        self._aps.add_job(
            self.run_due,
            "date",
            run_date=when,
            id=WAKE_ID,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def run_due(self) -> int:
        """Run every job that is due now. Returns how many ran."""
        ran, waiting = 0, Backoff()  # waiting: for the database
        while True:
            now = self.clock.now()
            due = await until_written(self.store, jobs.due, now.timestamp(), self.platforms.names)
            if not due:
                break
            try:
                for row in due:
                    await self._run(row, now)
                    ran += 1
            except StorageUnavailable:  # what was not written runs again, later
                await asyncio.sleep(waiting.next_delay())
                continue
            waiting.reset()
        self.refresh()
        if ran:
            self.signals.to_send.set()
        return ran

    async def _run(self, row: jobs.JobRow, now: datetime) -> None:
        handler = self.registry.jobs.get(row.kind)
        job = Job(
            row.id,
            row.kind,
            row.ref,
            datetime.fromtimestamp(row.due_at, UTC),
            self.store,
            self.platforms.at(row.platform),
            self.config,
            self.messages,
            now,
        )
        try:
            if handler is None:
                raise LookupError(f"nothing handles jobs of kind {row.kind!r}")
            await handler(job)
        except JobCancelled:
            return
        except NotYet as why:
            log.info("Job %s (%s %s) waits: %s", row.id, row.kind, row.ref, why)
            async with self.store.writing() as db:
                jobs.postpone(db, row.id, (now + SOON).timestamp())
            return
        except Exception as err:
            if (reason := unavailable(err)) is not None:  # not the job's failure
                raise StorageUnavailable(reason) from err
            give_up = row.attempts + 1 >= MOST_ATTEMPTS
            log.exception(
                "Job %s (%s %s) failed%s",
                row.id,
                row.kind,
                row.ref,
                "; giving up" if give_up else "",
            )
            async with self.store.writing() as db:
                jobs.retry_later(
                    db, row.id, (now + RETRY_AFTER).timestamp(), traceback.format_exc(), give_up
                )
            return
        async with self.store.writing() as db:
            jobs.mark_done(db, row.id)  # for handlers that wrote nothing
            daily = row.kind in self.registry.daily_jobs
            if daily and not jobs.has_pending(db, row.kind, self.platforms.names):
                next_day = datetime.fromtimestamp(row.due_at, UTC) + timedelta(days=1)
                schedule(
                    db, row.kind, row.ref, max(next_day, now + FIRST_DAILY), platform=row.platform
                )
