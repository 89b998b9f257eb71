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

The daily backup raises and clears its own problem (``commands.backup``), through
``bot.team_alerts`` like the loop. Each alert is queued through the outbox in the
same transaction as its row in ``storage.alerts``: told once, even across a
restart, and one that cannot go now (the homeserver is down) waits there; with
Discord too, its team channel hears at once."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.config import Config
from bot.messages import Messages
from bot.platforms import Platforms
from bot.team_alerts import clear_alert, note_alert, raise_alert, since_words
from storage import deadletters, jobs, outbox
from storage.db import Store

log = logging.getLogger(__name__)

CHECK_MOST = 30.0  # s between checks, at most
CHECK_LEAST = 1.0  # s, for thresholds of a few seconds (tests)
RECENT = timedelta(days=1)  # dead letters and failed jobs older than this are not told
FREE_AGAIN = 1.1  # the disk is fine again with a tenth more than the threshold
MB = 1024 * 1024

FreeSpace = Callable[[Path], int]  # the bytes free on the disk holding a folder


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


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

    @property
    def every(self) -> float:
        """Seconds between checks: about 4 within the shortest time limit."""
        shortest = min(self.settings.unreachable_minutes, self.settings.waiting_minutes) * 60
        return max(CHECK_LEAST, min(CHECK_MOST, shortest / 4))

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # e.g. the disk is full: looked at again next time
                log.exception("Could not check for problems to tell the team")
            await asyncio.sleep(self.every)

    async def check(self) -> int:
        """Raise and clear what has changed; returns how many alerts were told."""
        now = self.now()
        folder = self.config.storage.database.parent
        free = await asyncio.to_thread(self.free_space, folder)
        async with self.store.writing() as db:
            told = self._unreachable(db, now) + self._waiting(db, now)
            told += self._dead_letters(db, now) + self._failed_jobs(db, now)
            told += self._disk(db, now, folder, free)
        if told:
            self.wake.set()
        return told

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
