"""After a 429 on a limit that is the bot's account as a whole (Synapse's
rc_message), rooms take turns, each after the wait the 429 asked for: they do
not all try again at once and each meet a 429 of their own."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bot.matrix.http import MatrixError
from localbot import CannedAdapter, LocalBot, person_named, room_named
from storage.outbox import OutboxItem

PEOPLE = [person_named(f"p{n}") for n in range(8)]


class Limited(CannedAdapter):
    """The real sender; its network step is a homeserver's token bucket for the
    bot's account: ``burst`` at once, then one every ``every`` seconds."""

    burst, every = 2, 0.1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens, self.refilled = float(self.burst), time.monotonic()
        self.sent: list[str] = []
        self.refused = 0

    async def _perform(self, item: OutboxItem) -> str | None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) / self.every)
        self.refilled = now
        if self.tokens < 1:
            self.refused += 1
            wait = (1 - self.tokens) * self.every
            raise MatrixError(429, "M_LIMIT_EXCEEDED", "Too Many Requests", wait)
        self.tokens -= 1
        self.sent.append(item.txn_id)
        return f"$sent{item.id}"


class PacedBot(LocalBot):
    adapter_class = Limited
    direct_chats = {room_named(f"dm-p{n}"): person for n, person in enumerate(PEOPLE)}


async def test_rooms_take_turns_after_a_429_so_each_send_meets_few(tmp_path: Path) -> None:
    bot = PacedBot(tmp_path / "bot")
    for person in PEOPLE:  # one answer waiting in each of eight direct chats
        bot.message("!ping", sender=person, room_id=bot.direct_chat(person))
    await bot.run()
    adapter = bot.adapter
    assert isinstance(adapter, Limited)
    waiting = [o for o in bot.outbox() if o.state == "pending"]
    assert len(waiting) == len(PEOPLE)
    sender = asyncio.create_task(adapter.sender_loop())
    try:
        for _ in range(400):
            if len(adapter.sent) == len(PEOPLE):
                break
            await asyncio.sleep(0.05)
    finally:
        sender.cancel()
        for task in [sender, *adapter._room_tasks.values()]:
            task.cancel()
        await asyncio.gather(sender, *adapter._room_tasks.values(), return_exceptions=True)
    assert sorted(adapter.sent) == sorted(o.txn_id for o in waiting)  # each once
    # Six sends had to wait for a token. Taking turns, each meets at most about one
    # 429; all trying again at once, they meet dozens between them.
    assert adapter.refused <= len(PEOPLE)
    bot.store.close()


class Held(CannedAdapter):
    """The real sender; its network step waits until the test lets it go."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go = asyncio.Event()

    async def _perform(self, item: OutboxItem) -> str | None:
        await self.go.wait()
        return f"$sent{item.id}"


class HeldBot(LocalBot):
    adapter_class = Held
    direct_chats = PacedBot.direct_chats


async def test_the_rooms_sending_are_counted_while_their_sends_are_on_their_way(
    tmp_path: Path,
) -> None:
    """What the sync loop asks before it syncs again (it waits a moment while ten
    or more rooms are sending): the rooms with something on its way, no others."""
    bot = HeldBot(tmp_path / "bot")
    for person in PEOPLE:
        bot.message("!ping", sender=person, room_id=bot.direct_chat(person))
    await bot.run()
    adapter = bot.adapter
    assert isinstance(adapter, Held)
    assert adapter.rooms_sending() == 0
    sender = asyncio.create_task(adapter.sender_loop())
    try:
        for _ in range(100):
            if adapter.rooms_sending() == len(PEOPLE):
                break
            await asyncio.sleep(0.02)
        assert adapter.rooms_sending() == len(PEOPLE)
        adapter.go.set()
        for _ in range(100):
            if adapter.rooms_sending() == 0:
                break
            await asyncio.sleep(0.02)
        assert adapter.rooms_sending() == 0
    finally:
        sender.cancel()
        for task in [sender, *adapter._room_tasks.values()]:
            task.cancel()
        await asyncio.gather(sender, *adapter._room_tasks.values(), return_exceptions=True)
    bot.store.close()
