"""People's words echoed back never make a message too big to send (Matrix: 64 KB).

What the Matrix adapter itself does with a message that is still too big is in
tests/test_matrix_events.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.messages import ELLIPSIS, VALUE_LIMIT, Entry, Messages
from localbot import CHRIS, GROUP, LocalBot, make_bots

# The setting the issue found: a poll's second "closes", 64,000 characters long.
HUGE_CLOSES = (
    "!poll Which day suits you? | Tuesday | Thursday | closes in 2h | closes " + "x" * 64_000
)


def test_a_long_value_is_shortened_where_it_is_filled_in() -> None:
    messages = Messages({"m": Entry("m", "You gave {setting} twice.", {"setting": "closes"})})
    text = messages.get("m", setting="y" * 100_000)
    assert text == "You gave " + "y" * (VALUE_LIMIT - 1) + ELLIPSIS + " twice."
    assert messages.get("m", setting="closes in 2h") == "You gave closes in 2h twice."


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[LocalBot]:
    with make_bots(LocalBot, tmp_path) as make:
        yield make()


async def test_a_huge_setting_still_gets_a_reply_that_can_be_sent(bot: LocalBot) -> None:
    event_id = bot.message(HUGE_CLOSES, sender=CHRIS, room_id=GROUP)
    await bot.run()
    [reply] = [o for o in bot.outbox() if o.reply_to == event_id]
    assert "twice" in reply.body and ELLIPSIS in reply.body
    assert bot.count("polls") == 0  # its size on Matrix: tests/test_matrix_events.py
