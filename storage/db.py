"""Opening the database, and the one writer connection.

Rules (see the design notes): WAL mode, ``synchronous=FULL``, one writer,
``BEGIN IMMEDIATE`` for every write, ``secure_delete`` so that what is deleted
or changed is overwritten rather than left in free pages. Async code writes through
``Store.writing()``, which also serialises writers on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database

from storage.schema import migrations


class Reader(Protocol):
    """What runs a query: the bot's ``Database``, or a plain ``sqlite3`` connection
    (the export reads through its own read-only one, in a worker thread)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> sqlite3.Cursor: ...


class NewerDatabaseError(Exception):
    """The database was written by a newer version of copro-bot."""


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
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA secure_delete=ON")
    db = Database(conn, execute_plugins=False)
    known = {m.name for m in migrations._migrations}
    unknown = [m.name for m in migrations.applied(db) if m.name not in known]
    if unknown:
        conn.close()
        raise NewerDatabaseError(
            f"{path} was written by a newer version of copro-bot "
            f"(it has schema changes {', '.join(unknown)} that this version does not know). "
            "Upgrade copro-bot, or restore a backup."
        )
    migrations.apply(db)
    return db


class Store:
    """The one writer. Holds the connection and a lock for async writers."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = asyncio.Lock()

    @classmethod
    def open(cls, path: str | Path) -> Store:
        return cls(open_database(path))

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def write(self) -> Iterator[Database]:
        """A synchronous write transaction (for the command line and tests)."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Database]:
        """A write transaction for async code: one writer at a time."""
        async with self._lock:
            with self.write() as db:
                yield db
