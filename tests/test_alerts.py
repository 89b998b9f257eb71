"""Alerts to the team room: each problem told once however often the bot looks,
once when it is over, nothing for a problem shorter than its limit; a dead letter
by its reference only; a job that failed for good; the disk; the daily backup.

The bot is the real one (``LocalBot``: dispatcher, worker, scheduler, the Matrix
adapter never logged in) over a real database; only the disk's free space is a
reading the test gives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_storage_full import Locker, fill_disk, free_disk, locker, short_busy_timeout

import harness
from bot.alerts import MB, Alerts
from bot.config import ConfigError, load_config
from bot.context import Context
from bot.platforms import Platforms
from bot.registry import CommandSet
from bot.scheduler import MOST_ATTEMPTS, Job, schedule
from bot.when import say_when
from localbot import GROUP, MESSAGES, SAM, CannedAdapter, LocalBot, Out, make_bots, say
from matrix_driver import room_named
from storage import alerts, outbox
from storage.db import StorageUnavailable, Store

__all__ = ["locker"]  # the fixture, used by name

TEAM = room_named("team")
MATRIX = MESSAGES.get("alerts.platform.matrix")

extra = CommandSet("alert tests")


@extra.command("boom", summary="basics.ping_summary")
async def boom(ctx: Context) -> None:
    raise RuntimeError("the handler broke")


@extra.job("test.always_fails")
async def always_fails(job: Job) -> None:
    raise RuntimeError("this job never works")


class TellingAdapter(CannedAdapter):
    """The real adapter, never logged in: only its network step for what it says at
    once (``send_now``) is a stand-in, that notes what it said, or fails while
    ``down``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.said_now: list[tuple[str, str, str]] = []  # (room, text, key)
        self.down = False

    async def send_now(self, room_id: str, text: str, key: str) -> None:
        if self.down:
            raise ConnectionError("the homeserver does not answer")
        self.said_now.append((room_id, text, key))


class AlertBot(LocalBot):
    groups = (GROUP, TEAM)
    adapter_class = TellingAdapter

    def __init__(self, directory: Path, **kwargs: object) -> None:
        super().__init__(directory, team_room=TEAM, extra=extra, **kwargs)  # type: ignore[arg-type]
        self.at(datetime.now(UTC))  # stored times are the real ones: the clock starts there
        self.free_mb = 10_000.0  # the disk's free space, as the test says
        self.alerts = Alerts(
            self.store,
            Platforms.of(self.adapter),
            self.config,
            MESSAGES,
            now=self.clock.now,
            free_space=lambda folder: int(self.free_mb * MB),
        )

    async def check(self) -> list[Out]:
        """Look once, as the loop does; what it told the team. What it told goes out
        at once (the sender is not what these tests are about), what else waits stays."""
        mark = self.mark()
        told = await self.alerts.check()
        said = self.after(mark)
        assert told == len(said)  # one team room: one message per alert
        assert all(o.room_id == TEAM and o.kind == "text" for o in said)
        with self.store.write() as db:
            for out in said:
                outbox.mark_sent(db, out.id, f"$told{out.id}")
        return said

    async def check_often(self, times: int = 5) -> list[str]:
        said: list[str] = []
        for _ in range(times):
            said += [o.body for o in await self.check()]
        return said


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., AlertBot]]:
    with make_bots(AlertBot, tmp_path, handlers_may_fail=True) as make:
        yield make


def since(moment: datetime | None) -> str:
    """When a problem began, as the alert says it."""
    assert moment is not None
    return say_when(moment, ZoneInfo("Europe/London"), moment)


# ----- the homeserver out of reach ----------------------------------------------------


async def test_an_outage_longer_than_the_limit_is_told_once_and_its_end_once(make_bot) -> None:
    bot = make_bot()
    bot.adapter._in_touch(False)  # a sync could not reach the homeserver
    lost = bot.adapter.out_of_touch_since
    bot.later(minutes=4)
    assert await bot.check_often() == []  # under 5 minutes: nothing yet
    bot.later(minutes=2)
    assert await bot.check_often() == [
        say("alerts.unreachable", platform=MATRIX, since=since(lost))
    ]
    bot.later(minutes=30)
    assert await bot.check_often() == []  # still down: no more
    bot.adapter._in_touch(True)  # a sync was answered
    assert await bot.check_often() == [say("alerts.reachable", platform=MATRIX)]
    assert alerts.open_alerts(bot.db) == []


async def test_an_outage_shorter_than_the_limit_is_not_told(make_bot) -> None:
    bot = make_bot()
    bot.adapter._in_touch(False)
    bot.later(minutes=4, seconds=50)
    assert await bot.check_often() == []
    bot.adapter._in_touch(True)
    bot.later(minutes=20)
    assert await bot.check_often() == []
    assert bot.count("alerts") == 0


async def test_a_second_outage_is_a_new_problem(make_bot) -> None:
    bot = make_bot()
    for _ in range(2):
        bot.adapter._in_touch(False)
        bot.later(minutes=6)
        assert len(await bot.check_often()) == 1
        bot.adapter._in_touch(True)
        assert len(await bot.check_often()) == 1


# ----- something waiting to be sent --------------------------------------------------


async def test_something_waiting_too_long_is_told_once_and_when_it_has_gone(make_bot) -> None:
    bot = make_bot()
    with bot.store.write() as db:
        bot.adapter.queue_text(db, GROUP, "Hello")
    queued = datetime.fromisoformat(bot.db.execute("SELECT created_at FROM outbox").fetchone()[0])
    bot.later(minutes=9)
    assert await bot.check_often() == []
    bot.later(minutes=2)
    assert await bot.check_often() == [say("alerts.waiting", platform=MATRIX, since=since(queued))]
    bot.deliver()
    assert await bot.check_often() == [say("alerts.sending_again", platform=MATRIX)]


async def test_waiting_while_out_of_reach_is_the_outage_only(make_bot) -> None:
    bot = make_bot()
    with bot.store.write() as db:
        bot.adapter.queue_text(db, GROUP, "Hello")
    bot.adapter._in_touch(False)
    bot.later(minutes=30)
    said = await bot.check_often()
    assert len(said) == 1 and said[0].startswith("I can't reach")


# ----- a dead letter -------------------------------------------------------------------


async def test_a_dead_letter_is_told_once_by_its_reference_never_its_words(make_bot) -> None:
    bot = make_bot()
    words = "!boom my private words about my care"
    bot.message(words, sender=SAM)
    await bot.run()
    ref = bot.db.execute("SELECT ref FROM dead_letters").fetchone()[0]
    said = await bot.check_often()
    assert said == [say("alerts.dead_letter", ref=ref)]
    assert "private" not in said[0] and SAM not in said[0]


# ----- a job that failed for good -------------------------------------------------------


async def test_a_job_that_failed_for_good_is_told_once(make_bot) -> None:
    bot = make_bot()
    with bot.store.write() as db:
        job_id = schedule(db, "test.always_fails", "1", bot.clock.now(), platform="matrix")
    said: list[str] = []
    for attempt in range(1, MOST_ATTEMPTS + 1):
        await bot.tick()
        said += await bot.check_often(2)
        if attempt < MOST_ATTEMPTS:
            assert said == []  # it is tried again: nothing to tell yet
        bot.later(minutes=2)
    await bot.tick()  # it is not tried again
    said += await bot.check_often()
    assert said == [
        say("alerts.job_failed", tries=MOST_ATTEMPTS, number=job_id, kind="test.always_fails")
    ]


# ----- the disk --------------------------------------------------------------------------


async def test_low_disk_space_is_told_once_and_over_with_room_to_spare(make_bot) -> None:
    bot = make_bot()
    folder = bot.config.storage.database.parent
    bot.free_mb = 600
    assert await bot.check_often() == []
    bot.free_mb = 400
    assert await bot.check_often() == [say("alerts.disk_low", free=400, folder=folder)]
    bot.free_mb = 520  # above the line, but only just: not over yet
    assert await bot.check_often() == []
    bot.free_mb = 560
    assert await bot.check_often() == [say("alerts.disk_ok", free=560, folder=folder)]


# ----- the database itself cannot be written ---------------------------------------------

BIG = "A reply too long to fit in what is left of the disk. " * 400


async def a_write_fails(bot: AlertBot) -> None:
    """What a loop does while the disk is full: its write (a long reply) is refused."""
    with pytest.raises(StorageUnavailable):
        async with bot.store.writing() as db:
            bot.adapter.queue_text(db, GROUP, BIG)


async def a_write_works(bot: AlertBot) -> None:
    """The loops go on: the long reply is stored, and sent."""
    async with bot.store.writing() as db:
        bot.adapter.queue_text(db, GROUP, BIG)
    bot.deliver()


def told_at_once(bot: AlertBot) -> list[tuple[str, str, str]]:
    assert isinstance(bot.adapter, TellingAdapter)
    return bot.adapter.said_now


def unwritable(bot: AlertBot, why: str) -> str:
    """The alert, as said for the problem the loop is following now."""
    problem = bot.alerts._unwritable
    assert problem is not None
    return say("alerts.unwritable", why=why, since=since(problem.since))


async def test_a_full_disk_is_told_at_once_not_stored_once_and_its_end_through_the_outbox(
    make_bot,
) -> None:
    bot = make_bot()
    fill_disk(bot.store)
    await a_write_fails(bot)
    stored = bot.count("outbox")
    assert await bot.alerts.check() == 0  # under 5 minutes: nothing yet
    bot.later(minutes=4)
    await a_write_fails(bot)
    assert await bot.alerts.check() == 0
    bot.later(minutes=2)
    await a_write_fails(bot)  # the loops' writes fail still
    assert await bot.alerts.check() == 1
    [(room, text, key)] = told_at_once(bot)
    assert (room, text) == (TEAM, unwritable(bot, "the disk is full"))
    assert bot.count("outbox") == stored  # not stored: it could not be
    for _ in range(3):
        await a_write_fails(bot)
        assert await bot.alerts.check() == 0  # once per problem
    assert len(told_at_once(bot)) == 1
    free_disk(bot.store)
    await a_write_works(bot)
    assert await bot.check() == []  # not yet: a write failed a moment ago
    bot.later(minutes=1, seconds=1)  # and none since
    assert [o.body for o in await bot.check()] == [say("alerts.writable")]
    assert await bot.check_often() == []
    assert len(told_at_once(bot)) == 1 and bot.count("alerts") == 0
    # Full again later: a new problem, told again (tried again with its own key).
    fill_disk(bot.store)
    await a_write_fails(bot)
    assert await bot.alerts.check() == 0
    bot.later(minutes=6)
    await a_write_fails(bot)
    assert await bot.alerts.check() == 1
    assert len(told_at_once(bot)) == 2 and told_at_once(bot)[1][2] != key


async def test_a_database_unwritable_for_less_than_the_limit_is_not_told(make_bot) -> None:
    bot = make_bot()
    fill_disk(bot.store)
    await a_write_fails(bot)
    assert await bot.alerts.check() == 0
    bot.later(minutes=4, seconds=50)
    await a_write_fails(bot)
    assert await bot.alerts.check() == 0
    free_disk(bot.store)
    await a_write_works(bot)
    bot.later(minutes=20)
    assert await bot.check_often() == []
    assert told_at_once(bot) == []


async def test_a_locked_database_is_told_once_even_if_the_first_try_cannot_reach_the_team(
    make_bot, locker: Callable[[Path], Locker]
) -> None:
    """Another program holds the database: the loop's own writes fail. The
    homeserver does not answer the first time the team is to be told: it is
    tried again at the next check, and told once."""
    bot = make_bot()
    short_busy_timeout(bot.store)
    lock = locker(bot.config.storage.database)
    await asyncio.to_thread(lock.hold)
    assert await bot.alerts.check() == 0  # its write failed: the problem starts
    assert await bot.alerts.check() == 0
    bot.later(minutes=6)
    adapter = bot.adapter
    assert isinstance(adapter, TellingAdapter)
    adapter.down = True
    assert await bot.alerts.check() == 0
    adapter.down = False
    assert await bot.alerts.check() == 1
    assert await bot.alerts.check() == 0
    why = "another program holds the database locked"
    assert [text for _, text, _ in told_at_once(bot)] == [unwritable(bot, why)]
    await asyncio.to_thread(lock.release)
    assert await bot.check() == []  # its own write works: a write failed a moment ago
    bot.later(minutes=2)
    assert [o.body for o in await bot.check()] == [say("alerts.writable")]


# ----- the daily backup --------------------------------------------------------------------


async def test_a_failed_backup_is_told_at_once_and_the_next_that_works_says_so(
    tmp_path: Path, make_bot
) -> None:
    blocker = tmp_path / "not a folder"
    blocker.write_text("a file where the backups should go")
    bot = make_bot(settings=f'[backup]\ndir = "{blocker}"\n')
    with bot.store.write() as db:
        schedule(db, "backup.daily", "daily", bot.clock.now(), platform="matrix")
    mark = bot.mark()
    assert await bot.tick() == 1
    said = [o.body for o in bot.after(mark)]
    assert len(said) == 1 and said[0].startswith(f"Today's backup to {blocker} did not work")
    assert bot.count("jobs", "state = 'failed'") == 0  # done: tomorrow's is waiting
    assert await bot.check_often() == []  # not told again, nor as a failed job
    blocker.unlink()
    bot.later(days=1, minutes=1)
    mark = bot.mark()
    assert await bot.tick() == 1
    assert [o.body for o in bot.after(mark)] == [say("alerts.backup_working", folder=blocker)]


# ----- the rows and the config ---------------------------------------------------------------


def test_a_problem_is_raised_once_and_cleared_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "copro.db")
    with store.write() as db:
        assert alerts.raise_once(db, "disk", "/data", 1.0)
        assert not alerts.raise_once(db, "disk", "/data", 2.0)
        assert alerts.open_alerts(db) == [alerts.OpenAlert("disk", "/data", 1.0)]
        assert alerts.clear(db, "disk", "/data", 3.0)
        assert not alerts.clear(db, "disk", "/data", 4.0)
        assert not alerts.clear(db, "unreachable", "matrix", 4.0)  # never raised
        assert alerts.raise_once(db, "disk", "/data", 5.0)  # again: a new problem
        assert alerts.note_once(db, "dead_letter", "ABC123", 6.0)
        assert not alerts.note_once(db, "dead_letter", "ABC123", 7.0)
        assert alerts.open_alerts(db) == [alerts.OpenAlert("disk", "/data", 5.0)]
    store.close()


async def test_the_daily_tidy_deletes_problems_long_over_and_keeps_open_ones(make_bot) -> None:
    bot = make_bot()
    now = bot.clock.now()

    def ago(**delta: float) -> float:
        return (now - timedelta(**delta)).timestamp()

    with bot.store.write() as db:
        alerts.raise_once(db, "unreachable", "matrix", ago(weeks=20))  # open still: kept
        alerts.raise_once(db, "disk", "/data", ago(weeks=12))
        alerts.clear(db, "disk", "/data", ago(weeks=9))  # over 9 weeks ago: deleted
        alerts.raise_once(db, "waiting", "matrix", ago(weeks=10))
        alerts.clear(db, "waiting", "matrix", ago(weeks=7))  # over 7 weeks ago: kept
        alerts.note_once(db, "dead_letter", "OLD123", ago(weeks=9))  # deleted
        alerts.note_once(db, "dead_letter", "NEW456", ago(days=2))  # kept
        schedule(db, "dashboard.tidy", "daily", now, platform="matrix")
    assert await bot.tick() == 1
    left = bot.db.execute("SELECT kind, ref FROM alerts ORDER BY kind, ref").fetchall()
    assert left == [("dead_letter", "NEW456"), ("unreachable", "matrix"), ("waiting", "matrix")]
    assert alerts.open_alerts(bot.db) == [alerts.OpenAlert("unreachable", "matrix", ago(weeks=20))]


def test_alerts_config_takes_fractions_and_refuses_nonsense(tmp_path: Path) -> None:
    path = harness.write_config(tmp_path / "config.toml")
    text = path.read_text()
    config = load_config(path, env={})
    assert (config.alerts.unreachable_minutes, config.alerts.waiting_minutes) == (5, 10)
    assert config.alerts.min_free_mb == 500
    path.write_text(text + "[alerts]\nunreachable_minutes = 0.05\nmin_free_mb = 1\n")
    assert load_config(path, env={}).alerts.unreachable_minutes == 0.05
    path.write_text(text + '[alerts]\nwaiting_minutes = 0\nmin_free_mb = "lots"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "alerts.waiting_minutes" in str(err.value) and "alerts.min_free_mb" in str(err.value)


def test_the_loop_looks_often_enough_for_its_shortest_limit(make_bot) -> None:
    assert make_bot().alerts.every == 30
    quick = make_bot(settings="[alerts]\nunreachable_minutes = 0.05\n")
    assert quick.alerts.every == 1


async def test_with_discord_too_its_team_channel_hears_that_matrix_is_down(make_bot) -> None:
    from bot.discord import DiscordAdapter  # only for this test: the bot on both platforms

    settings = '[discord]\ntoken = "a-test-token"\nguild_id = 1\nteam_channel = 2\n'
    bot = make_bot(settings=settings)
    discord = DiscordAdapter(bot.config, bot.store)  # never connected: it only queues
    bot.alerts.platforms = Platforms([bot.adapter, discord])
    bot.adapter._in_touch(False)
    bot.later(minutes=6)
    mark = bot.mark()
    assert await bot.alerts.check() == 1  # one alert, told in both team rooms
    rows = bot.db.execute(
        "SELECT platform, room_id FROM outbox WHERE id > ? ORDER BY id", [mark]
    ).fetchall()
    assert rows == [("matrix", TEAM), ("discord", "discord:2")]  # Discord's goes on its own
