"""Messages that arrive locked (encrypted) and whose keys come late, or never.

The real worker, scheduler and adapter over a real database; the adapter has no
encryption machine here, so every encrypted event stays locked until a test
hands it a way to open them (``bot.keys_arrive``). The real decryption is
covered end to end in tests/test_e2e_encryption.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.when import say_when
from commands.unreadable import UNREADABLE_AFTER, UNREADABLE_JOB
from localbot import DM, GROUP, PAT, SAM, LocalBot, make_bots, say
from storage import jobs


class Bot(LocalBot):
    """A bot in a direct chat with Sam, where people's messages arrive locked
    (``bot.locked``) until a test says the keys have come (``bot.keys_arrive``)."""

    direct_chats = {DM: SAM}

    def room_for(self, sender: str) -> str:
        return DM


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., Bot]]:
    with make_bots(Bot, tmp_path) as make:
        yield make


async def test_a_locked_message_waits_without_a_reply(make_bot) -> None:
    bot = make_bot()
    event_id = bot.locked("!ping")
    await bot.run()
    assert bot.inbox_state(event_id) == "locked"
    assert bot.replies() == []
    assert jobs.has_pending(bot.db, UNREADABLE_JOB)


async def test_keys_that_come_in_time_get_the_message_handled(make_bot) -> None:
    bot = make_bot()
    event_id = bot.locked("!ping")
    await bot.run()
    await bot.keys_arrive()
    assert bot.inbox_state(event_id) == "pending"
    await bot.run()
    assert [r.text for r in bot.replies()] == [say("ping.pong")]
    assert bot.inbox_state(event_id) == "done"
    # The reminder finds nothing to say.
    bot.later(seconds=UNREADABLE_AFTER.total_seconds() + 1)
    await bot.tick()
    assert [r.text for r in bot.replies()] == [say("ping.pong")]


async def test_a_message_that_stays_locked_is_told_about_once(make_bot) -> None:
    bot = make_bot()
    first = bot.locked("!ping")
    second = bot.locked("!help")
    await bot.run()
    bot.later(minutes=9)
    await bot.tick()
    assert bot.replies() == []  # not yet: keys often come a little late
    bot.later(minutes=2)
    await bot.tick()
    replies = bot.replies()
    assert [(r.room_id, r.text, r.reply_to) for r in replies] == [
        (DM, say("unreadable.direct"), first)
    ]
    assert bot.inbox_state(first) == bot.inbox_state(second) == "unreadable"
    bot.later(hours=1)
    await bot.tick()
    assert len(bot.replies()) == 1  # the second message's job has nothing to add


async def test_in_a_group_room_the_sender_is_told_privately(make_bot) -> None:
    bot = make_bot()
    sent_at = bot.clock.time
    event_id = bot.locked("Hello all", sender=PAT, room_id=GROUP)
    await bot.run()
    bot.later(minutes=11)
    await bot.tick()
    when = say_when(sent_at, ZoneInfo(bot.config.bot.timezone), bot.clock.time)
    outbox = [o for o in bot.outbox() if o.action == "send"]
    assert [o.room_id for o in outbox] == [PAT]  # waits for a direct chat with Pat
    assert outbox[0].body == say("unreadable.room", when=when)
    assert all(o.room_id != GROUP for o in bot.outbox())
    assert bot.inbox_state(event_id) == "unreadable"


async def test_keys_that_come_after_the_reminder_still_count(make_bot) -> None:
    bot = make_bot()
    event_id = bot.locked("!ping")
    await bot.run()
    bot.later(minutes=11)
    await bot.tick()
    await bot.keys_arrive()
    await bot.run()
    assert [r.text for r in bot.replies()] == [say("unreadable.direct"), say("ping.pong")]
    assert bot.inbox_state(event_id) == "done"


async def test_an_open_message_is_not_touched_by_a_late_retry(make_bot) -> None:
    bot = make_bot()
    event_id = bot.locked("!ping")
    await bot.run()
    await bot.keys_arrive()
    await bot.run()
    await bot.keys_arrive()  # more keys later: the handled message stays handled
    await bot.run()
    assert bot.inbox_state(event_id) == "done"
    assert [r.text for r in bot.replies()] == [say("ping.pong")]
