"""A full disk or a locked database never loses anything and never lies.

The real worker, scheduler and sender over a real SQLite file (``LocalBot``), and
the whole bot on the fake Discord: the disk is made full with ``PRAGMA
max_page_count`` on the bot's own connection, and the database is locked by a
second real process holding ``BEGIN EXCLUSIVE``. While that lasts, what people
sent stays pending in the inbox, nobody is told "saved", nothing becomes a dead
letter and no job uses up a try; the store logs one plain warning. Once space is
back (or the lock is gone), everything is handled exactly once.

Unit tests lower the bot's busy timeout (the time a write waits for a lock) to a
tenth of a second, so that they do not wait five seconds a try; the end-to-end
test (tests/test_e2e_full_disk.py) keeps the real one.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from test_feedback import DMS, FeedbackBot
from test_polls import DAYS

from bot.signals import until_opened
from localbot import (
    CHRIS,
    GROUP,
    LEE,
    PAT,
    SAM,
    CannedAdapter,
    deliver,
    make_bots,
    person_named,
    say,
)
from storage import inbox, polls
from storage.db import StorageUnavailable, Store
from storage.outbox import OutboxItem

T = TypeVar("T")

WARNING = "The database cannot be written now"
HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


class Locker:
    """Another program that holds the database locked (``BEGIN EXCLUSIVE``) from
    ``hold`` until ``release``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.process: subprocess.Popen[str] | None = None

    def hold(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process is None:
            return
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.wait(timeout=10) == 0
        self.process = None


@pytest.fixture
def locker(tmp_path: Path) -> Iterator[Callable[[Path], Locker]]:
    made: list[Locker] = []

    def make(path: Path) -> Locker:
        made.append(Locker(path))
        return made[-1]

    yield make
    for lock in made:
        lock.release()


def fill_disk(store: Store) -> None:
    """The disk is full: the database may not grow by a page, and its free pages
    are used up (by a table only this test writes, not through the store)."""
    conn = store.db.conn
    conn.execute("CREATE TABLE IF NOT EXISTS test_filler (blob BLOB)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    try:
        while True:
            conn.execute("INSERT INTO test_filler VALUES (randomblob(500))")
    except sqlite3.OperationalError as err:
        assert err.sqlite_errorcode == sqlite3.SQLITE_FULL


def free_disk(store: Store) -> None:
    store.db.execute("PRAGMA max_page_count = 1073741823")


def short_busy_timeout(store: Store) -> None:
    store.set_busy_timeout(0.1)


async def until(check: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    """Wait until ``check()`` (a state of the database, a log line) holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return found


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(WARNING)]


def assert_plain_log(caplog: pytest.LogCaptureFixture) -> None:
    """One plain warning for the whole outage, no traceback, no error."""
    assert len(warnings(caplog)) == 1, [r.getMessage() for r in warnings(caplog)]
    assert all(r.exc_info is None for r in caplog.records)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def stopped(task: asyncio.Task[Any]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def running(task: asyncio.Task[Any]) -> bool:
    """The loop is still going (an exception that ended it is raised here)."""
    if task.done():
        task.result()
    return True


# ----- waiting for a lock -----------------------------------------------------------------------


class Ticker:
    """A coroutine that ticks every 20 ms: the largest gap between its ticks is how
    long the event loop was kept from everything else (sync, sends, the dashboard)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.02)
            now = loop.time()
            self.gaps.append(now - last)
            last = now

    async def stop(self) -> float:
        await stopped(self.task)
        return max(self.gaps)


async def note(store: Store, text: str) -> None:
    async with store.writing() as db:
        db.execute("CREATE TABLE IF NOT EXISTS test_notes (text TEXT)")
        db.execute("INSERT INTO test_notes VALUES (?)", [text])


async def test_a_write_waits_for_another_programs_lock_without_stopping_the_bot(
    tmp_path: Path, locker: Callable[[Path], Locker]
) -> None:
    store = Store.open(tmp_path / "copro.db")
    lock = locker(tmp_path / "copro.db")
    await asyncio.to_thread(lock.hold)
    loop = asyncio.get_running_loop()
    ticker, held = Ticker(), loop.time()
    write = asyncio.create_task(note(store, "after the lock"))
    await until(lambda: loop.time() - held >= 1.5, "the lock held 1.5 s")
    assert not write.done()  # still waiting for the lock, as it should
    await asyncio.to_thread(lock.release)
    await asyncio.wait_for(write, 5)
    assert await ticker.stop() < 0.5  # the bot went on all the while
    assert store.db.execute("SELECT text FROM test_notes").fetchall() == [("after the lock",)]
    assert store.failing_since is None
    store.close()


async def test_a_lock_held_past_the_busy_timeout_is_unavailable_and_stops_nothing(
    tmp_path: Path, locker: Callable[[Path], Locker], caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(tmp_path / "copro.db")
    await note(store, "before")
    store.set_busy_timeout(1.0)
    lock = locker(tmp_path / "copro.db")
    await asyncio.to_thread(lock.hold)
    ticker, began = Ticker(), time.monotonic()
    with pytest.raises(StorageUnavailable, match="another program holds the database locked"):
        await note(store, "while locked")
    assert time.monotonic() - began >= 1.0  # waited the whole busy timeout
    assert await ticker.stop() < 0.5
    assert not store.db.conn.in_transaction
    assert warnings(caplog) and store.failing_since is not None
    # What else uses the connection still waits as SQLite does (the command line).
    assert store.db.execute("PRAGMA busy_timeout").fetchone() == (1000,)
    await asyncio.to_thread(lock.release)
    await note(store, "after")
    assert store.db.execute("SELECT text FROM test_notes").fetchall() == [("before",), ("after",)]
    assert store.failing_since is None
    store.close()


# ----- the worker -------------------------------------------------------------------------------


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., FeedbackBot]]:
    with make_bots(FeedbackBot, tmp_path) as make:  # and no dead letters at the end
        yield make


VOTERS = [person_named(f"voter{i}") for i in range(40)]
# Long feedback: two pieces cannot share a page, so saving them needs the disk to grow.
LONG = "The bus to the day centre is always late, so I miss the start of lunch. " * 50


async def people_answer(bot: FeedbackBot) -> tuple[list[str], list[str]]:
    """Sam and Pat are asked whether to keep their name with their feedback; a poll
    is open in the group room. Then (stored, not yet handled) both say yes, and 40
    people answer the poll. Returns the two "yes" and the 40 answers."""
    bot.adapter.members[GROUP] = {CHRIS, SAM, PAT, LEE, *VOTERS}
    for person in (SAM, PAT):
        bot.agree(person)
        await bot.dm(LONG, sender=person)
    assert await bot.ask(f"!poll {DAYS}", sender=CHRIS, room_id=GROUP) == []
    poll = polls.newest_in_room(bot.db, GROUP)
    assert poll is not None and poll.start_txn
    start = deliver(bot.store)[poll.start_txn]
    yes = [bot.message("yes", sender=p, room_id=DMS[p]) for p in (SAM, PAT)]
    votes = [bot.answer_poll(start, "a1", sender=v, room_id=GROUP) for v in VOTERS]
    return yes, votes


def saved_messages(bot: FeedbackBot) -> int:
    """How many times someone was told their feedback is saved."""
    return len([o for o in bot.outbox() if o.body == say("feedback.saved")])


def votes_counted(bot: FeedbackBot) -> int:
    return len(polls.votes(bot.db, 1))


async def run_through(
    bot: FeedbackBot,
    caplog: pytest.LogCaptureFixture,
    trouble: Callable[[], None],
    over: Callable[[], None],
    handled: list[str],
) -> None:
    """The worker runs while ``trouble`` lasts, then after ``over``."""
    caplog.set_level(logging.INFO)
    trouble()
    worker = asyncio.create_task(bot.worker.run())
    try:
        await until(lambda: running(worker) and warnings(caplog), "the warning")
        # Stuck: nothing handled, nothing said, nothing a dead letter.
        assert {bot.inbox_state(e) for e in handled} == {"pending"}
        assert saved_messages(bot) == 0
        assert bot.count("dead_letters") == 0
        assert running(worker)
        over()
        bot.worker.signals.received.set()
        await until(
            lambda: running(worker) and not inbox.pending(bot.db, 1), "the backlog", timeout=60
        )
    finally:
        await stopped(worker)


async def test_a_full_disk_keeps_answers_waiting_and_says_nothing_until_there_is_space(
    make_bot: Callable[..., FeedbackBot], caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot()
    yes, votes = await people_answer(bot)
    await run_through(
        bot, caplog, lambda: fill_disk(bot.store), lambda: free_disk(bot.store), yes + votes
    )
    assert {bot.inbox_state(e) for e in yes + votes} == {"done"}
    assert saved_messages(bot) == 2  # each told once
    assert len(bot.feedback()) == 2
    assert votes_counted(bot) == len(VOTERS)
    assert bot.count("dead_letters") == 0
    assert_plain_log(caplog)


async def test_a_locked_database_keeps_answers_waiting_and_says_nothing_until_it_is_free(
    make_bot: Callable[..., FeedbackBot],
    caplog: pytest.LogCaptureFixture,
    locker: Callable[[Path], Locker],
) -> None:
    bot = make_bot()
    yes, votes = await people_answer(bot)
    short_busy_timeout(bot.store)
    lock = locker(bot.config.storage.database)
    await run_through(bot, caplog, lock.hold, lock.release, yes + votes)
    assert {bot.inbox_state(e) for e in yes + votes} == {"done"}
    assert saved_messages(bot) == 2
    assert votes_counted(bot) == len(VOTERS)
    assert bot.count("dead_letters") == 0
    assert_plain_log(caplog)


# ----- the scheduler ----------------------------------------------------------------------------

# A poll whose results are long: publishing them needs the disk to grow.
CHOICES = [f"Choice {n}: " + "a day out somewhere near the sea, with lunch " * 2 for n in range(20)]
BIG_POLL = "Where shall we go on the summer trip this year? | " + " | ".join(CHOICES)


async def a_poll_falls_due(bot: FeedbackBot) -> None:
    """A poll that closes in two hours, answered by 40 people; three hours pass."""
    bot.adapter.members[GROUP] = {CHRIS, *VOTERS}
    assert await bot.ask(f"!poll {BIG_POLL} | closes in 2h", sender=CHRIS, room_id=GROUP) == []
    poll = polls.newest_in_room(bot.db, GROUP)
    assert poll is not None and poll.start_txn
    start = deliver(bot.store)[poll.start_txn]
    for i, voter in enumerate(VOTERS):
        bot.answer_poll(start, f"a{i % 20 + 1}", sender=voter, room_id=GROUP)
    await bot.run()
    bot.later(hours=3)


def close_job(bot: FeedbackBot) -> tuple[str, int, str | None]:
    (row,) = bot.db.execute("SELECT state, attempts, error FROM jobs WHERE kind = 'poll.close'")
    return row[0], row[1], row[2]


def published(bot: FeedbackBot) -> int:
    return len([o for o in bot.outbox() if o.kind == "poll_end"])


async def closes_through(
    bot: FeedbackBot,
    caplog: pytest.LogCaptureFixture,
    trouble: Callable[[], None],
    over: Callable[[], None],
) -> None:
    caplog.set_level(logging.INFO)
    await a_poll_falls_due(bot)
    trouble()
    tick = asyncio.create_task(bot.tick())
    try:
        await until(lambda: running(tick) and warnings(caplog), "the warning")
        assert close_job(bot) == ("pending", 0, None)  # no try used up, no failure
        assert published(bot) == 0
        over()
        assert await asyncio.wait_for(tick, 60) >= 1
    finally:
        await stopped(tick)
    assert close_job(bot) == ("done", 0, None)
    assert published(bot) == 1
    assert_plain_log(caplog)


async def test_a_job_uses_up_no_try_on_a_full_disk(
    make_bot: Callable[..., FeedbackBot], caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot()
    store = bot.store
    await closes_through(bot, caplog, lambda: fill_disk(store), lambda: free_disk(store))


async def test_a_job_uses_up_no_try_while_the_database_is_locked(
    make_bot: Callable[..., FeedbackBot],
    caplog: pytest.LogCaptureFixture,
    locker: Callable[[Path], Locker],
) -> None:
    bot = make_bot()
    short_busy_timeout(bot.store)
    lock = locker(bot.config.storage.database)
    await closes_through(bot, caplog, lock.hold, lock.release)


# ----- starting up -------------------------------------------------------------------------------


def daily_jobs(bot: FeedbackBot) -> list[str]:
    rows = bot.db.execute("SELECT kind FROM jobs WHERE state = 'pending' ORDER BY kind")
    return [kind for (kind,) in rows]


async def test_started_on_a_locked_database_the_scheduler_adds_its_daily_jobs_once_it_is_free(
    make_bot: Callable[..., FeedbackBot],
    caplog: pytest.LogCaptureFixture,
    locker: Callable[[Path], Locker],
) -> None:
    """The scheduler of ``copro run`` starts while another program holds the
    database: it does not stop (nor the bot), it logs the plain warning, and adds
    the daily jobs, once each, once the lock is gone."""
    caplog.set_level(logging.INFO)
    bot = make_bot()
    short_busy_timeout(bot.store)
    lock = locker(bot.config.storage.database)
    await asyncio.to_thread(lock.hold)
    scheduler = asyncio.create_task(bot.scheduler.run())
    try:
        await until(lambda: running(scheduler) and warnings(caplog), "the warning")
        assert daily_jobs(bot) == []
        await asyncio.to_thread(lock.release)
        expected = sorted(bot.scheduler.registry.daily_jobs)
        await until(lambda: running(scheduler) and daily_jobs(bot) == expected, "the daily jobs")
        bot.scheduler.signals.scheduled.set()  # it goes on following: nothing twice
        await until(lambda: not bot.scheduler.signals.scheduled.is_set(), "the scheduler")
        assert daily_jobs(bot) == expected
    finally:
        await stopped(scheduler)
        bot.scheduler.stop()
    assert_plain_log(caplog)


async def test_a_new_database_locked_at_start_up_is_opened_once_it_is_free(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, locker: Callable[[Path], Locker]
) -> None:
    """``copro run`` opening a database it must write (new, or a schema to bring up
    to date) while another program holds it: it waits, with the plain warning,
    and opens it once it is free (each try waits the real busy timeout)."""
    caplog.set_level(logging.INFO)
    path = tmp_path / "copro.db"
    lock = locker(path)
    await asyncio.to_thread(lock.hold)  # an empty file, locked
    opening = asyncio.create_task(until_opened(path))
    try:
        await until(lambda: running(opening) and warnings(caplog), "the warning")
        await asyncio.to_thread(lock.release)
        store = await asyncio.wait_for(opening, 30)
    finally:
        await stopped(opening)
    assert store.db["jobs"].exists() and store.db.execute("PRAGMA journal_mode").fetchone() == (
        "wal",
    )
    store.close()
    assert_plain_log(caplog)


# ----- the sender -------------------------------------------------------------------------------


class Performing(CannedAdapter):
    """The real sender; only its network step is a stand-in, that counts what it
    sent and may run ``meanwhile`` just after (the database is locked then)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.performed: list[str] = []
        self.meanwhile: Callable[[], None] | None = None

    async def _perform(self, item: OutboxItem) -> str | None:
        self.performed.append(item.txn_id)
        if self.meanwhile is not None:
            self.meanwhile()
            self.meanwhile = None
        return f"$sent{item.id}"


class SendingBot(FeedbackBot):
    adapter_class = Performing


async def test_what_was_sent_while_the_database_is_locked_is_marked_sent_once_it_is_free(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, locker: Callable[[Path], Locker]
) -> None:
    """Sent, then the database is locked before the bot can note it: it is noted
    once the lock is gone, and sent only once."""
    with make_bots(SendingBot, tmp_path) as make:
        bot = make()
        adapter = bot.adapter
        assert isinstance(adapter, Performing)
        caplog.set_level(logging.INFO)
        event_id = bot.message("!ping", room_id=GROUP)
        await bot.run()
        (out,) = bot.outbox()
        assert out.reply_to == event_id
        short_busy_timeout(bot.store)
        lock = locker(bot.config.storage.database)
        adapter.meanwhile = lock.hold
        drain = asyncio.create_task(adapter._drain_room(GROUP))
        try:
            await until(lambda: running(drain) and warnings(caplog), "the warning")
            assert adapter.performed == [out.txn_id]
            assert [o.state for o in bot.outbox()] == ["pending"]
            lock.release()
            await asyncio.wait_for(drain, 30)
        finally:
            await stopped(drain)
        assert adapter.performed == [out.txn_id]  # once
        assert [o.state for o in bot.outbox()] == ["sent"]
        assert bot.count("dead_letters") == 0
        assert_plain_log(caplog)
