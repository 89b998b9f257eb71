"""People's words echoed back never make a message too big to send (Matrix: 64 KB)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from localbot import CHRIS, GROUP, LocalBot, make_bots

from bot.matrix import MAX_CONTENT_BYTES, notice
from bot.messages import ELLIPSIS, VALUE_LIMIT, Entry, Messages

MATRIX_EVENT_LIMIT = 65_536
# The setting the issue found: a poll's second "closes", 64,000 characters long.
HUGE_CLOSES = (
    "!poll Which day suits you? | Tuesday | Thursday | closes in 2h | closes " + "x" * 64_000
)


def size(content: dict[str, object]) -> int:
    return len(json.dumps(content).encode())


def test_a_long_value_is_shortened_where_it_is_filled_in() -> None:
    messages = Messages({"m": Entry("m", "You gave {setting} twice.", {"setting": "closes"})})
    text = messages.get("m", setting="y" * 100_000)
    assert text == "You gave " + "y" * (VALUE_LIMIT - 1) + ELLIPSIS + " twice."
    assert messages.get("m", setting="closes in 2h") == "You gave closes in 2h twice."


@pytest.mark.parametrize("character", ["x", "é", "😀", '"'])
def test_no_message_the_bot_builds_is_too_big_to_send(character: str) -> None:
    """The last guard, whatever the words: measured as JSON with everything escaped."""
    content = notice(character * 70_000, "$reply", ["@sam:council.test"], thread="$root")
    assert size(content) <= MAX_CONTENT_BYTES
    assert content["body"].startswith(character * 100) and content["body"].endswith(ELLIPSIS)
    assert content["m.relates_to"]["event_id"] == "$root"
    # Even encrypted (base64: a third more) it stays under Matrix's limit.
    assert MAX_CONTENT_BYTES * 4 / 3 + 4_000 < MATRIX_EVENT_LIMIT
    assert notice("Hello", None, ()) == {"msgtype": "m.notice", "body": "Hello", "m.mentions": {}}


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[LocalBot]:
    with make_bots(LocalBot, tmp_path) as make:
        yield make()


async def test_a_huge_setting_still_gets_a_reply_that_can_be_sent(bot: LocalBot) -> None:
    event_id = bot.message(HUGE_CLOSES, sender=CHRIS, room_id=GROUP)
    await bot.run()
    [reply] = [o for o in bot.outbox() if o.reply_to == event_id]
    assert "twice" in reply.body and ELLIPSIS in reply.body
    assert size(reply.content) <= MAX_CONTENT_BYTES
    assert bot.count("polls") == 0
