"""How the Matrix adapter reads people's events and writes the bot's, through the whole bot.

The handler tests speak of people and what they do (tests/localbot.py); the
Matrix driver (tests/matrix_driver.py) turns that into Matrix events and reads
the outbox back. Here are the tests that are about Matrix itself: events the
driver would never build (notices, display names, encrypted messages), the exact
content of what the bot sends, and the driver checked against the real parser.
The adapter's pure parts are in tests/test_matrix_unit.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_echo_limit import HUGE_CLOSES

from bot.context import Edit, Incoming, Message, PollAnswer, PollLayout, Reaction, Removal
from bot.matrix import MAX_CONTENT_BYTES, POLL_END, POLL_START, notice, to_incoming
from bot.messages import ELLIPSIS
from localbot import ALICE, BOT, CHRIS, DM, GROUP, SAM, LocalBot, make_bots, say
from matrix_driver import MatrixDriver
from storage import inbox


class Bot(LocalBot):
    """A bot in a group room and a direct chat (with whom, it does not know)."""

    direct_chats = {DM: None}


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with make_bots(Bot, tmp_path, handlers_may_fail=True) as make:
        yield make()


def outbox_content(bot: LocalBot) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    """The outbox as the adapter wrote it: (action, room, event type, content)."""
    rows = bot.db.execute(
        "SELECT action, room_id, event_type, content FROM outbox ORDER BY id"
    ).fetchall()
    return [(a, r, e, json.loads(c) if c else {}) for a, r, e, c in rows]


# ----- the driver builds what Matrix clients send --------------------------------------------

ACTIONS: list[Incoming] = [
    Message("$m", GROUP, SAM, "!going 1", False, ts=5),
    Message("$r", GROUP, SAM, "2", False, reply_to="$poll", ts=5),
    Message("$t", GROUP, SAM, "More trips.", False, ts=5, thread="$root"),
    Edit("$ed", GROUP, SAM, "$m", "!going 2", 5),
    Reaction("$re", GROUP, SAM, "$poll", "1️⃣", 5),
    Removal("$rm", GROUP, SAM, "$re", 5),
    PollAnswer("$pa", GROUP, SAM, "$poll", ("a1", "a2"), 5),
    PollAnswer("$back", GROUP, SAM, "$poll", (), 5),
]


@pytest.mark.parametrize("action", ACTIONS, ids=[a.event_id for a in ACTIONS])
def test_what_the_driver_builds_the_adapter_reads_back_unchanged(action: Incoming) -> None:
    raw = MatrixDriver().encode(action)
    assert to_incoming(raw, action.room_id, is_direct=False) == action


def test_a_reply_carries_the_quote_element_puts_above_it() -> None:
    raw = MatrixDriver().encode(ACTIONS[1])
    assert raw["content"]["body"].startswith("> <")
    assert raw["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": "$poll"}}


# ----- events that are not what they seem ----------------------------------------------------


async def test_a_notice_is_ignored(bot: Bot) -> None:
    raw = {
        "event_id": "$notice",
        "sender": "@otherbot:council.test",
        "type": "m.room.message",
        "content": {"msgtype": "m.notice", "body": "!ping"},
    }
    with bot.store.write() as db:
        inbox.add_events(db, DM, [raw])
    await bot.run()
    assert bot.replies() == []
    assert bot.inbox_state("$notice") == "ignored"


async def test_display_names_never_matter(bot: Bot) -> None:
    """A stranger who calls themselves by a team member's ID is still a stranger."""
    event_id = "$pretender"
    raw = {
        "event_id": event_id,
        "sender": "@mallory:elsewhere.test",
        "type": "m.room.message",
        "content": {"msgtype": "m.text", "body": "!champions", "displayname": ALICE},
        "unsigned": {"displayname": ALICE},
    }
    with bot.store.write() as db:
        inbox.add_events(db, GROUP, [raw])
    await bot.run()
    assert [r.text for r in bot.replies()] == [say("errors.not_allowed", who=say("roles.team"))]


# ----- the size of what the bot sends --------------------------------------------------------

MATRIX_EVENT_LIMIT = 65_536


def size(content: dict[str, object]) -> int:
    return len(json.dumps(content).encode())


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


async def test_a_huge_setting_still_gets_a_reply_that_can_be_sent(bot: Bot) -> None:
    event_id = bot.message(HUGE_CLOSES, sender=CHRIS, room_id=GROUP)
    await bot.run()
    [reply] = [o for o in bot.outbox() if o.reply_to == event_id]
    assert "twice" in reply.body and ELLIPSIS in reply.body
    [(_, _, _, content)] = outbox_content(bot)
    assert size(content) <= MAX_CONTENT_BYTES
    assert bot.count("polls") == 0


# ----- polls, as Element shows them ----------------------------------------------------------

QUESTION = "Which day suits you?"
DAYS = f"{QUESTION} | Tuesday morning | Thursday afternoon"


async def test_a_poll_its_companion_and_its_end_as_matrix_writes_them(bot: Bot) -> None:
    bot.adapter.members[GROUP] = {BOT, CHRIS, SAM}
    assert await bot.ask(f"!poll {DAYS}", sender=CHRIS) == []
    (_, room_id, kind, content), (_, _, companion_kind, companion) = outbox_content(bot)
    assert (room_id, kind) == (GROUP, POLL_START)
    assert content == {
        POLL_START: {
            "question": {
                "org.matrix.msc1767.text": QUESTION,
                "body": QUESTION,
                "msgtype": "m.text",
            },
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [
                {"id": "a1", "org.matrix.msc1767.text": "Tuesday morning"},
                {"id": "a2", "org.matrix.msc1767.text": "Thursday afternoon"},
            ],
        },
        "org.matrix.msc1767.text": f"{QUESTION}\n1. Tuesday morning\n2. Thursday afternoon",
        "m.mentions": {},
    }
    assert companion_kind == "m.room.message"
    assert companion["msgtype"] == "m.notice"
    assert companion["m.mentions"] == {}

    start = bot.deliver()[bot.outbox()[0].txn_id]
    bot.answer_poll(start, "a1", sender=SAM)
    await bot.run()
    await bot.ask("!poll close", sender=CHRIS)
    await bot.tick()
    (end,) = [o for o in bot.outbox() if o.kind == "poll_end"]
    ((_, _, _, content),) = [row for row in outbox_content(bot) if row[2] == POLL_END]
    assert content == {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start},
        POLL_END: {},
        "m.poll.results": {"a1": 1, "a2": 0},
        "org.matrix.msc1767.text": end.body,
        "body": end.body,
        "msgtype": "m.text",
        "m.mentions": {},
    }


async def test_a_hidden_poll_with_more_choices(bot: Bot) -> None:
    await bot.ask(
        "!poll Where shall we meet? | Library | Town hall | Café | up to 2 | hidden | closes in 2h",
        sender=CHRIS,
    )
    (_, _, _, content), _ = outbox_content(bot)
    assert content[POLL_START]["kind"] == "org.matrix.msc3381.poll.undisclosed"
    assert content[POLL_START]["max_selections"] == 2


# ----- the driver reads back what the adapter queued -----------------------------------------


async def test_the_driver_reads_back_what_the_adapter_queued(bot: Bot, tmp_path: Path) -> None:
    layout = PollLayout("Which day?", (("a1", "Tuesday"), ("a2", "Thursday")), 2, False, "…")
    file = tmp_path / "report.csv"
    file.write_text("a,b\n")
    platform = bot.adapter
    with bot.store.write() as db:
        platform.queue_text(db, GROUP, "Hello", mentions=[SAM])
        platform.queue_text(db, GROUP, "A reply", reply_to="$said")
        platform.queue_text(db, GROUP, "In the thread", thread="$root")
        platform.queue_text(db, GROUP, "A reply in the thread", reply_to="$said", thread="$root")
        platform.queue_reaction(db, GROUP, "$said", "👍")
        platform.queue_poll(db, GROUP, layout)
        platform.queue_poll_end(db, GROUP, "$poll", {"a1": 1, "a2": 0}, "Tuesday")
        platform.queue_file(db, GROUP, file, "report.csv", "text/csv")
        platform.queue_removal(db, GROUP, "$said")
        platform.queue_invite(db, GROUP, SAM)
        platform.queue_kick(db, GROUP, SAM, "left the project")
        platform.queue_create_room(db, "project:1", "Buses", "Better buses", invite=[SAM])
        platform.queue_topic(db, GROUP, "Better buses")
    said = [
        (o.kind, o.body, o.reply_to, o.thread, o.mentions, o.notice, o.formatted)
        for o in bot.outbox()[:4]
    ]
    assert said == [
        ("text", "Hello", None, None, (SAM,), True, False),
        ("text", "A reply", "$said", None, (), True, False),
        ("text", "In the thread", None, "$root", (), True, False),
        ("text", "A reply in the thread", "$said", "$root", (), True, False),
    ]
    reaction, poll, end, sent, removal, invite, kick, room, topic = bot.outbox()[4:]
    assert (reaction.kind, reaction.target, reaction.key) == ("reaction", "$said", "👍")
    assert (poll.kind, poll.poll) == ("poll", layout)
    assert (end.kind, end.target, end.results, end.body) == (
        "poll_end",
        "$poll",
        {"a1": 1, "a2": 0},
        "Tuesday",
    )
    assert (sent.kind, sent.file, sent.filename, sent.mimetype, sent.size) == (
        "file",
        file,
        "report.csv",
        "text/csv",
        4,
    )
    assert (removal.kind, removal.target) == ("removal", "$said")
    assert (invite.kind, invite.user) == ("invite", SAM)
    assert (kick.kind, kick.user, kick.reason) == ("kick", SAM, "left the project")
    assert (room.kind, room.room_id, room.name, room.topic, room.invite) == (
        "create_room",
        "project:1",
        "Buses",
        "Better buses",
        (SAM,),
    )
    assert (topic.kind, topic.topic) == ("topic", "Better buses")
