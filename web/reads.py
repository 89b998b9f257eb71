"""Reading for the dashboard without holding up the bot.

Pages read through a read-only SQLite connection in a worker thread (WAL lets it
read while the bot writes), so paging through 100,000 rows never blocks the
event loop the bot receives and sends on. Writes go through the one writer
(``Store.writing``), in the event loop, as everything else's do.

Exports read for seconds, so they have a thread of their own (``run_long``): one
export at a time, and pages never wait behind one."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class Reads:
    """A small pool of read-only connections, one per worker thread, and one more
    thread for long reads."""

    def __init__(self, database: Path, *, threads: int = 2) -> None:
        self._uri = f"file:{database}?mode=ro"
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web-read")
        self._long = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-read-long")
        self._opened: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._guard:
                self._opened.append(conn)
        return conn

    async def run(self, read: Callable[..., T], *args: object, **kwargs: object) -> T:
        """``read(connection, *args, **kwargs)`` in a worker thread, in one read
        transaction (a consistent snapshot)."""
        return await self._in(self._pool, read, *args, **kwargs)

    async def run_long(self, read: Callable[..., T], *args: object, **kwargs: object) -> T:
        """As ``run``, in the thread for long reads (an export): a second waits for
        the first to end, and ``run`` never waits for either."""
        return await self._in(self._long, read, *args, **kwargs)

    async def _in(
        self, pool: ThreadPoolExecutor, read: Callable[..., T], *args: object, **kwargs: object
    ) -> T:
        def call() -> T:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                return read(conn, *args, **kwargs)
            finally:
                conn.execute("ROLLBACK")

        return await asyncio.get_running_loop().run_in_executor(pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._long.shutdown(wait=True)
        with self._guard:
            for conn in self._opened:
                conn.close()
            self._opened.clear()
