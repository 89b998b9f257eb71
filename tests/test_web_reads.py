"""The dashboard's reads (web/reads.py): worker threads with read-only connections,
and a thread of its own for exports, so a page never waits behind an export."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from storage.db import open_database
from web.reads import Reads


@pytest.fixture
def reads(tmp_path: Path) -> Reads:
    path = tmp_path / "copro.db"
    open_database(path).close()
    return Reads(path)


def saved(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM feedback").fetchone()[0])


async def test_pages_read_while_an_export_reads_and_a_second_export_waits(reads: Reads) -> None:
    started: list[str] = []
    began, release = threading.Event(), threading.Event()

    def export(conn: sqlite3.Connection, name: str) -> str:
        started.append(name)
        began.set()
        assert release.wait(10)
        return name

    try:
        first = asyncio.create_task(reads.run_long(export, "first"))
        second = asyncio.create_task(reads.run_long(export, "second"))
        assert await asyncio.to_thread(began.wait, 5)
        # Both page threads answer (twice each) while the export holds its thread.
        pages = [reads.run(saved) for _ in range(4)]
        assert await asyncio.wait_for(asyncio.gather(*pages), 5) == [0, 0, 0, 0]
        assert started == ["first"]  # the second export waits for the first
        release.set()
        assert await asyncio.wait_for(asyncio.gather(first, second), 5) == ["first", "second"]
        assert started == ["first", "second"]
    finally:
        release.set()
        reads.close()


async def test_reads_are_read_only(reads: Reads) -> None:
    def write(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM feedback")

    try:
        for run in (reads.run, reads.run_long):
            with pytest.raises(sqlite3.OperationalError):
                await run(write)
    finally:
        reads.close()
