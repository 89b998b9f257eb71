"""Alerts to the team: plain words in every team room (``config.team_rooms()``) when
something is wrong, one message per problem and one when it is over.

A loop looks every few seconds (``Alerts.check``) at what the bot can see of itself:

- a platform out of touch (``Adapter.out_of_touch_since``) for longer than
  ``[alerts] unreachable_minutes``; "working again" once it answers;
- something on a platform that answers waiting to be sent for longer than
  ``waiting_minutes`` (while the platform is out of touch, that is the problem;
  once it is back, or the bot has started, the sender has that long again);
- a new dead letter: its reference number, never the person's words;
- a scheduled job that failed for good (the scheduler gave up on it);
- less free space than ``min_free_mb`` on the disk with the database; over once
  there is a tenth more than that, so a disk near the line does not flood the room.
- writes to the database failing (a full disk, a lock held by another program:
  ``Store.failed_at``) for longer than ``unreachable_minutes``. That alert cannot
  be queued (the outbox is in that database): it is sent at once through each
  team room's adapter (``Adapter.send_now``), once per problem while the bot
  runs, and is not kept; "working again" goes through the outbox once no write
  has failed for a minute and the loop's own write works.

The daily backup raises and clears its own problem (``commands.backup``), through
``bot.team_alerts`` like the loop. Each alert is queued through the outbox in the
same transaction as its row in ``storage.alerts``: told once, even across a
restart, and one that cannot go now (the homeserver is down) waits there; with
Discord too, its team channel hears at once."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.config import Config
from bot.messages import Messages
from bot.platforms import NoPlatform, Platforms
from bot.team_alerts import clear_alert, note_alert, raise_alert, since_words, tell_team
from storage import deadletters, jobs, outbox
from storage.db import StorageUnavailable, Store

log = logging.getLogger(__name__)

CHECK_MOST = 30.0  # s between checks, at most
CHECK_LEAST = 1.0  # s, for thresholds of a few seconds (tests)
RECENT = timedelta(days=1)  # dead letters and failed jobs older than this are not told
FREE_AGAIN = 1.1  # the disk is fine again with a tenth more than the threshold
MB = 1024 * 1024
LATELY = timedelta(seconds=2 * CHECK_MOST)  # a write failed this lately: they fail still

FreeSpace = Callable[[Path], int]  # the bytes free on the disk holding a folder


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


@dataclass
class Unwritable:
    """Writes to the database fail since ``since`` (the latest ``lately``), for
    ``why``; the team rooms told of it."""

    since: datetime
    why: str
    lately: datetime
    told: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        """The same for each try at telling of this problem (``Adapter.send_now``)."""
        return f"copro-db-{self.since.timestamp():.0f}"  # (short: a Discord nonce)


class Alerts:
    def __init__(
        self,
        store: Store,
        platforms: Platforms,
        config: Config,
        messages: Messages,
        *,
        wake: asyncio.Event | None = None,
        now: Callable[[], datetime] | None = None,
        free_space: FreeSpace = free_bytes,
    ) -> None:
        """``wake``: set when alerts were queued (the senders' ``signals.to_send``);
        ``now``: the clock; ``free_space``: how the free space is read."""
        self.store = store
        self.platforms = platforms
        self.config = config
        self.settings = config.alerts
        self.messages = messages
        self.wake = wake or asyncio.Event()
        self.now = now or (lambda: datetime.now(UTC))
        self.free_space = free_space
        # Waiting is counted from when the bot started, or from when each platform
        # was back after it was out of touch (None: out of touch now).
        self._started = self.now()
        self._back: dict[str, datetime | None] = {}
        self._unwritable: Unwritable | None = None  # the database's writes fail
        self._failure_seen: float | None = None  # the store's failed_at, as last seen

    @property
    def every(self) -> float:
        """Seconds between checks: about 4 within the shortest time limit."""
        shortest = min(self.settings.unreachable_minutes, self.settings.waiting_minutes) * 60
        return max(CHECK_LEAST, min(CHECK_MOST, shortest / 4))

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # looked at again next time
                log.exception("Could not check for problems to tell the team")
            await asyncio.sleep(self.every)

    async def check(self) -> int:
        """Raise and clear what has changed; returns how many alerts were told."""
        now = self.now()
        problem = self._unwritable_now(now)
        told = 0 if problem is None else await self._tell_unwritable(problem, now)
        folder = self.config.storage.database.parent
        free = await asyncio.to_thread(self.free_space, folder)
        try:
            async with self.store.writing() as db:
                told += 0 if problem is not None else self._writable_again(db)
                told += self._unreachable(db, now) + self._waiting(db, now)
                told += self._dead_letters(db, now) + self._failed_jobs(db, now)
                told += self._disk(db, now, folder, free)
        except StorageUnavailable:  # the store has said why, in the log
            return told
        if problem is None:
            self._unwritable = None  # over, and said so
        if told:
            self.wake.set()
        return told

    def _unwritable_now(self, now: datetime) -> Unwritable | None:
        """The database's problem, while its writes fail: one failed since the last
        check, or within ``LATELY`` (the loops try again at least that often). A
        write that works meanwhile does not end it (a disk nearly full takes small
        writes and refuses the rest, and what it refuses is tried again and again)."""
        store = self.store
        if store.failed_at is not None and store.failed_at != self._failure_seen:
            self._failure_seen = store.failed_at
            if self._unwritable is None:
                began = store.failing_since or store.failed_at
                since = now - timedelta(seconds=time.monotonic() - began)
                self._unwritable = Unwritable(since, store.failing_because or "", now)
            self._unwritable.lately = now
            self._unwritable.why = store.failing_because or self._unwritable.why
        problem = self._unwritable
        return problem if problem is not None and now - problem.lately <= LATELY else None

    async def _tell_unwritable(self, problem: Unwritable, now: datetime) -> int:
        """Tell each team room at once that the database cannot be written, once it
        has lasted ``unreachable_minutes``; a room that could not be told now is
        tried again at the next check. Returns how many rooms were told now."""
        if now - problem.since < timedelta(minutes=self.settings.unreachable_minutes):
            return 0
        since = self._when(problem.since, now)
        text = self.messages.get("alerts.unwritable", why=problem.why, since=since)
        told = 0
        for name, room in self.config.team_rooms().items():
            if room in problem.told:
                continue
            try:
                # Sent straight away, not stored: the outbox is in the very database
                # that cannot be written, so an alert queued there would never go.
                await self.platforms.adapter(name).send_now(room, text, problem.key)
            except NoPlatform:
                continue
            except Exception as err:  # e.g. the homeserver is down too: next time
                log.info("Could not tell the team on %s at once (%s)", name, err)
                continue
            problem.told.add(room)
            told += 1
        if told:
            log.info("Alert raised: unwritable database (told at once, not stored)")
        return told

    def _writable_again(self, db: Database) -> int:
        """The database takes writes again: if the team was told it could not, say
        it can (the problem is forgotten once this is committed)."""
        problem = self._unwritable
        if problem is None or not problem.told:
            return 0
        tell_team(db, self.platforms, self.config, self.messages.get("alerts.writable"))
        log.info("Alert cleared: unwritable database")
        return 1

    def _when(self, moment: datetime, now: datetime) -> str:
        return since_words(self.config, moment, now)

    def _platform(self, name: str) -> str:
        key = f"alerts.platform.{name}"
        return self.messages.get(key) if key in self.messages else name

    def _raise(self, db: Database, kind: str, ref: str, text: str, now: datetime) -> int:
        return int(raise_alert(db, self.platforms, self.config, kind, ref, text, now))

    def _clear(self, db: Database, kind: str, ref: str, text: str, now: datetime) -> int:
        return int(clear_alert(db, self.platforms, self.config, kind, ref, text, now))

    def _note(self, db: Database, kind: str, ref: str, text: str, now: datetime) -> int:
        return int(note_alert(db, self.platforms, self.config, kind, ref, text, now))

    def _unreachable(self, db: Database, now: datetime) -> int:
        told = 0
        limit = timedelta(minutes=self.settings.unreachable_minutes)
        for adapter in self.platforms.adapters:
            since, platform = adapter.out_of_touch_since, self._platform(adapter.name)
            if since is not None and now - since >= limit:
                text = self.messages.get(
                    "alerts.unreachable", platform=platform, since=self._when(since, now)
                )
                told += self._raise(db, "unreachable", adapter.name, text, now)
            elif since is None:
                text = self.messages.get("alerts.reachable", platform=platform)
                told += self._clear(db, "unreachable", adapter.name, text, now)
        return told

    def _waiting(self, db: Database, now: datetime) -> int:
        told = 0
        limit = timedelta(minutes=self.settings.waiting_minutes)
        oldest = outbox.oldest_waiting(db)
        for adapter in self.platforms.adapters:
            if adapter.out_of_touch_since is not None:
                self._back[adapter.name] = None  # that is the problem, told as such
                continue
            if self._back.get(adapter.name, self._started) is None:
                self._back[adapter.name] = now  # back: the sender gets its time again
            counting_from = self._back.get(adapter.name) or self._started
            platform = self._platform(adapter.name)
            waiting = oldest.get(adapter.name)
            since = datetime.fromisoformat(waiting) if waiting is not None else now
            if now - max(since, counting_from) >= limit:
                text = self.messages.get(
                    "alerts.waiting", platform=platform, since=self._when(since, now)
                )
                told += self._raise(db, "waiting", adapter.name, text, now)
            elif now - since < limit / 2:  # not at once: a queue near the limit is no flood
                text = self.messages.get("alerts.sending_again", platform=platform)
                told += self._clear(db, "waiting", adapter.name, text, now)
        return told

    def _dead_letters(self, db: Database, now: datetime) -> int:
        told = 0
        for ref in deadletters.refs_since(db, _iso(datetime.now(UTC) - RECENT)):
            text = self.messages.get("alerts.dead_letter", ref=ref)
            told += self._note(db, "dead_letter", ref, text, now)
        return told

    def _failed_jobs(self, db: Database, now: datetime) -> int:
        told = 0
        for job_id, kind, tries in jobs.failed_since(db, _iso(datetime.now(UTC) - RECENT)):
            text = self.messages.get("alerts.job_failed", kind=kind, number=job_id, tries=tries)
            told += self._note(db, "job_failed", str(job_id), text, now)
        return told

    def _disk(self, db: Database, now: datetime, folder: Path, free: int) -> int:
        least = self.settings.min_free_mb * MB
        free_mb = round(free / MB)
        if free < least:
            text = self.messages.get("alerts.disk_low", folder=folder, free=free_mb)
            return self._raise(db, "disk", str(folder), text, now)
        if free >= least * FREE_AGAIN:
            text = self.messages.get("alerts.disk_ok", folder=folder, free=free_mb)
            return self._clear(db, "disk", str(folder), text, now)
        return 0


def _iso(moment: datetime) -> str:
    """A time as ``storage.db.utcnow`` writes it, to compare with stored ones."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
