"""A reply that echoes a person's very long words still reaches them (real Synapse)."""

from __future__ import annotations

import json

import pytest

from harness import Person

pytestmark = pytest.mark.e2e

# A poll's second "closes" setting (the case: the reply quoted it whole,
# Synapse refused the reply with 413, and the person heard nothing).
COMMAND = "!poll Q | a | b | closes 1h | closes "


async def longest_message(person: Person, room: str, start: str) -> str:
    """``start`` and as many x's as the homeserver takes in one message."""
    taken, refused = 60_000, 65_536
    while refused - taken > 8:
        middle = (taken + refused) // 2
        try:
            await person.send(room, start + "x" * middle)
            taken = middle
        except AssertionError:  # 413: too big
            refused = middle
    return start + "x" * taken


async def test_a_reply_quoting_huge_words_is_shortened_and_arrives(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")
    bot = await make_bot(synapse, team=[alex.user_id]).run()
    await alex.listen()
    longest = await longest_message(alex, await alex.create_room([]), COMMAND)
    room = await alex.create_room([bot.user_id])
    await alex.wait_for_member(room, bot.user_id)

    reply = await alex.ask(room, longest, bot.user_id)
    body = reply["content"]["body"]
    assert "twice" in body and "…" in body and body.count("x") < 3_000
    assert len(json.dumps(reply["content"]).encode()) < 65_536
    # And the bot goes on answering.
    assert (await alex.ask(room, "!polls", bot.user_id))["content"]["body"]
    assert bot.query("SELECT count(*) FROM outbox WHERE state = 'failed'") == [(0,)]
