"""A locked database on Discord: messages wait in Discord (nothing stored, nothing
said) and are answered once, once it is free. Its helpers are tests/test_storage_full.py's."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from discordbot import content, discord_server
from test_storage_full import (
    Locker,
    assert_plain_log,
    locker,
    short_busy_timeout,
    until,
    warnings,
)

from harness import PONG
from storage import inbox

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
