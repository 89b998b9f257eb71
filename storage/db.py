"""Opening the database, and the one writer connection.

Rules (see the design notes): WAL mode, ``synchronous=FULL``, one writer,
``BEGIN IMMEDIATE`` for every write, ``secure_delete`` so that what is deleted
or changed is overwritten rather than left in free pages. Async code writes through
``Store.writing()``, which also serialises writers on the event loop, and waits for
another program's lock in short pauses rather than blocking the loop.

A write the database cannot take now (the disk is full, or another program held
it locked past the busy timeout) is rolled back whole and raised as
``StorageUnavailable``: not the write's fault, so whoever wrote waits and tries
the same write again. The store logs one plain warning when that starts (at most
one every few minutes), and one line when a write works again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from storage.schema import migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000  # how long a write waits for another program's lock
FIRST_PAUSE, MOST_PAUSE = 0.005, 0.1  # s: an async write's pauses while the lock is held
WARN_EVERY = 300.0  # s: at most one warning this often while writes keep failing
WARNING = (
    "The database cannot be written now (%s); nothing is lost: "
    "what is waiting is tried again until it can be"
)
# What SQLite says (primary result codes) when it cannot take a write now, in plain words.
UNAVAILABLE = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_IOERR: "the disk could not be written",
    sqlite3.SQLITE_BUSY: "another program holds the database locked",
    sqlite3.SQLITE_LOCKED: "another program holds the database locked",
}
LOCKED = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}  # waited out, up to the busy timeout


class Reader(Protocol):
    """What runs a query: the bot's ``Database``, or a plain ``sqlite3`` connection
    (the export reads through its own read-only one, in a worker thread)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> sqlite3.Cursor: ...


class NewerDatabaseError(Exception):
    """The database was written by a newer version of copro-bot."""


class StorageUnavailable(Exception):
    """The database cannot take a write now (see the module's notes). Nothing of
    the write was kept; trying the same again later is right."""


def unavailable(err: BaseException) -> str | None:
    """Why the database could not be written, if that is what ``err`` (or an error
    it arose from) says; None if it is another error."""
    seen: BaseException | None = err
    for _ in range(10):  # the chain of causes, not forever
        if seen is None:
            return None
        if isinstance(seen, StorageUnavailable):
            return str(seen)
        if isinstance(seen, sqlite3.Error):
            reason = UNAVAILABLE.get(getattr(seen, "sqlite_errorcode", 0) & 0xFF)
            if reason is not None:
                return reason
        seen = seen.__cause__ or seen.__context__
    return None


def week_starts(now: datetime, timezone: str, weeks: int) -> tuple[list[date], list[str]]:
    """The Mondays of the last ``weeks`` weeks and the next one, and each as the
    moment it starts in ``timezone`` (00:00 there, clocks changing or not), in UTC."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    mondays = [first + timedelta(weeks=k) for k in range(weeks + 1)]
    starts = [
        datetime.combine(day, datetime.min.time(), tz)
        .astimezone(UTC)
        .isoformat(timespec="milliseconds")
        for day in mondays
    ]
    return mondays, starts


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def mention(user_id: str) -> re.Pattern[str]:
    """This exact ID in text, not the start of a longer one: more letters, dots or
    dashes after it, or a colon and a number (a port), make another person's ID."""
    return re.compile(re.escape(user_id) + r"(?![A-Za-z0-9.\-]|:[0-9])")


def naming(
    db: Database,
    table: str,
    columns: Sequence[str],
    user_id: str,
    pattern: re.Pattern[str] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(rowid, row) for rows of ``table`` where one of the columns names the person
    exactly (for the table's owner, when it forgets someone). ``pattern``: how
    ``user_id`` is told from longer text, if not as ``mention`` tells it."""
    pattern = pattern or mention(user_id)
    where = " OR ".join(f"instr([{c}], ?) > 0" for c in columns)
    sql = f"SELECT rowid AS _rowid, * FROM [{table}] WHERE {where}"
    for row in db.query(sql, [user_id] * len(columns)):
        if any(isinstance(row[c], str) and pattern.search(row[c]) for c in columns):
            rowid = row.pop("_rowid")
            yield rowid, row


def dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    """A query's rows as dictionaries (for ``personal_data``)."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def open_database(path: str | Path) -> Database:
    """Open (or create) the database and bring its schema up to date.

    A new database file is made readable by its owner only (it holds people's
    words); SQLite gives its -wal and -shm files the same permissions."""
    if str(path) != ":memory:" and not Path(path).exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")
        db = Database(conn, execute_plugins=False)
        known = {m.name for m in migrations._migrations}
        unknown = [m.name for m in migrations.applied(db) if m.name not in known]
        if unknown:
            raise NewerDatabaseError(
                f"{path} was written by a newer version of copro-bot "
                f"(it has schema changes {', '.join(unknown)} that this version does "
                "not know). Upgrade copro-bot, or restore a backup."
            )
        migrations.apply(db)
    except BaseException:  # e.g. a full disk: opened again later, nothing left open
        conn.close()
        raise
    return db


class Store:
    """The one writer. Holds the connection and a lock for async writers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = asyncio.Lock()
        self.busy_timeout = BUSY_TIMEOUT_MS / 1000  # s: set_busy_timeout changes it
        self.failing_since: float | None = None  # monotonic: writes fail since then
        self.failed_at: float | None = None  # monotonic: when one failed last (kept)
        self.failing_because: str | None = None  # why, in plain words (kept)
        self._warned_at: float | None = None

    @classmethod
    def open(cls, path: str | Path) -> Store:
        return cls(open_database(path))

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def write(self) -> Iterator[Database]:
        """A synchronous write transaction (for the command line and tests): it waits
        for another program's lock as SQLite does, up to the busy timeout, blocking.
        Raises ``StorageUnavailable`` if the database cannot take it now."""
        with self._unavailable_raised(time.monotonic()):
            self.db.conn.execute("BEGIN IMMEDIATE")
            with self._committed() as db:
                yield db

    def set_busy_timeout(self, seconds: float) -> None:
        """How long a write waits for another program's lock (both ways of writing)."""
        self.busy_timeout = seconds
        self.db.conn.execute(f"PRAGMA busy_timeout = {round(seconds * 1000)}")

    @contextmanager
    def _unavailable_raised(self, began: float) -> Iterator[None]:
        """What the database cannot take now is raised as ``StorageUnavailable``."""
        try:
            yield
        except Exception as err:
            reason = unavailable(err)
            if reason is None:
                raise
            self._failed(reason, began)
            if isinstance(err, StorageUnavailable):
                raise
            raise StorageUnavailable(reason) from err

    @contextmanager
    def _committed(self) -> Iterator[Database]:
        """The body of a transaction already begun: committed, or rolled back whole."""
        conn = self.db.conn
        try:
            yield self.db
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._written()

    def _written(self) -> None:
        if self.failing_since is not None:
            log.info(
                "The database can be written again (after %.0f s); what waited goes on",
                time.monotonic() - self.failing_since,
            )
            self.failing_since = None

    def _failed(self, reason: str, began: float) -> None:
        """A write could not be made (it was tried from ``began`` on)."""
        now = time.monotonic()
        if self.failing_since is None:
            self.failing_since = began
        self.failed_at, self.failing_because = now, reason
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning(WARNING, reason)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Database]:
        """A write transaction for async code: one writer at a time. While another
        program holds the database locked it waits without blocking the event loop
        (the rest of the bot goes on), up to the same busy timeout as ``write``."""
        async with self._lock:
            with self._unavailable_raised(time.monotonic()):
                await self._begin_waiting()
                with self._committed() as db:
                    yield db

    async def _begin_waiting(self) -> None:
        """``BEGIN IMMEDIATE`` tried with no busy wait, and again after short, growing
        pauses that let the event loop run, until ``busy_timeout`` has passed; then
        SQLite's own "database is locked" is raised.

        Only the BEGIN ever waits: in WAL mode it takes the write lock, and once it
        holds it nothing else in the transaction waits for another connection
        (reads see their snapshot; the COMMIT's automatic checkpoint is a passive
        one, which skips what it cannot do rather than wait)."""
        conn = self.db.conn
        deadline = time.monotonic() + self.busy_timeout
        pause = FIRST_PAUSE
        while True:
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if err.sqlite_errorcode & 0xFF not in LOCKED or time.monotonic() >= deadline:
                    raise
            finally:  # between tries, and for what else uses the connection
                conn.execute(f"PRAGMA busy_timeout = {round(self.busy_timeout * 1000)}")
            await asyncio.sleep(max(0.0, min(pause, deadline - time.monotonic())))
            pause = min(pause * 2, MOST_PAUSE)
