"""A locked database on Discord: messages wait in Discord (nothing stored, nothing
said) and are answered once, once it is free; and a full one: the team channel is
told at once. Its helpers are tests/test_storage_full.py's."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from discordbot import content, discord_server
from test_storage_full import (
    Locker,
    assert_plain_log,
    fill_disk,
    free_disk,
    locker,
    short_busy_timeout,
    until,
    warnings,
)

from bot.alerts import MB, Alerts
from bot.config import load_config
from bot.messages import Messages
from bot.platforms import Platforms
from harness import PONG
from storage import inbox
from storage.db import StorageUnavailable

BIG = "A reply too long to fit in what is left of the disk. " * 400

__all__ = ["locker"]  # the fixture, used by name


async def test_discord_messages_wait_in_discord_while_the_database_is_locked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, locker: Callable[[Path], Locker]
) -> None:
    """The whole bot on the fake Discord: what Sam sends while another program
    holds the database is neither stored nor answered; once it is free, each
    message is answered once."""
    caplog.set_level(logging.INFO)
    async with discord_server(tmp_path, ("sam",)) as server:
        running_bot, sam = server.bot, server.people["sam"]
        assert running_bot.store is not None
        short_busy_timeout(running_bot.store)
        lock = locker(tmp_path / "copro.db")
        lock.hold()
        asked = [sam.send(server.general, f"!ping {n}") for n in range(3)]
        await until(lambda: warnings(caplog), "the warning")
        assert server.fake.posted(server.general) == []
        assert all(inbox.get(running_bot.db, f"discord:{a}") is None for a in asked)
        lock.release()
        replies = await server.fake.wait_posted(3, server.general, timeout=30)
        await running_bot.settled()
        assert sorted(r.reply_to or 0 for r in server.fake.posted(server.general)) == asked
        assert {r.content for r in replies} == {content(PONG)}
        assert running_bot.db.execute("SELECT count(*) FROM dead_letters").fetchone()[0] == 0
    assert_plain_log(caplog)


async def test_on_discord_the_team_channel_is_told_at_once_while_the_database_is_full(
    tmp_path: Path,
) -> None:
    """The real Discord adapter on the fake Discord posts the alert itself, at
    once; "working again" goes out through the outbox, from its sender."""
    async with discord_server(tmp_path, ("sam",)) as server:
        running = server.bot
        assert running.store is not None and running.adapter is not None
        path = tmp_path / "team.toml"
        text = (tmp_path / "config.toml").read_text()
        path.write_text(
            text.replace("[discord]\n", f"[discord]\nteam_channel = {server.general}\n")
        )
        clock = [datetime.now(UTC)]
        check = Alerts(
            running.store,
            Platforms([running.adapter]),
            load_config(path, env={}),
            Messages.load(),
            wake=running.adapter.signals.to_send,
            now=lambda: clock[0],
            free_space=lambda folder: 10_000 * MB,
        ).check

        async def a_write_fails() -> None:
            assert running.store is not None and running.adapter is not None
            with pytest.raises(StorageUnavailable):
                async with running.store.writing() as db:
                    running.adapter.queue_text(db, f"discord:{server.general}", BIG)

        fill_disk(running.store)
        await a_write_fails()
        assert await check() == 0
        clock[0] += timedelta(minutes=6)
        await a_write_fails()
        assert await check() == 1
        [alert] = await server.fake.wait_posted(1, server.general)
        assert alert.content.startswith(content("I can't save anything to my database"))
        assert await check() == 0
        free_disk(running.store)
        clock[0] += timedelta(minutes=2)
        async with running.store.writing() as db:
            running.adapter.queue_text(db, f"discord:{server.general}", "Hello")
        assert await check() == 1
        posted = await server.fake.wait_posted(3, server.general)
        assert [m.content for m in posted[1:]] == [
            content("Hello"),
            content(Messages.load().get("alerts.writable")),
        ]
