"""The bot asks a person something in their direct chat; their reply reaches the asker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answers import choice_number, yes_or_no
from bot.context import Context
from bot.registry import CommandSet
from localbot import ALICE, DM, GROUP, SAM, LocalBot, make_bots, say
from storage import conversations
from storage.conversations import Pending


def asking_commands(answers: list[tuple[str, bool | None]]) -> CommandSet:
    commands = CommandSet("test")

    @commands.command("consent", summary="ping.summary")
    async def consent(ctx: Context) -> None:
        ctx.ask(ctx.sender, "test.consent", "project-1", "Do you agree? Reply yes or no.")

    @commands.answer("test.consent")
    async def got_answer(ctx: Context, waiting: Pending) -> bool:
        assert isinstance(ctx.event.body, str)  # type: ignore[union-attr]
        said = yes_or_no(ctx.event.body)  # type: ignore[union-attr]
        if said is None:
            return False  # not an answer: let it be anything else
        answers.append((waiting.ref, said))
        conversations.finish(ctx.db, ctx.sender, waiting.kind)
        ctx.reply("ping.pong")
        return True

    return commands


@pytest.fixture
def answers() -> list[tuple[str, bool | None]]:
    return []


class Bot(LocalBot):
    """A bot in a group room and a direct chat (with whom, it does not know)."""

    direct_chats = {DM: None}


@pytest.fixture
def asking_bot(tmp_path: Path, answers: list[tuple[str, bool | None]]) -> Iterator[Bot]:
    with make_bots(Bot, tmp_path, handlers_may_fail=True) as make:
        yield make(extra=asking_commands(answers))


async def test_the_next_direct_reply_is_the_answer(asking_bot: Bot, answers) -> None:
    await asking_bot.ask("!consent", sender=SAM, room_id=GROUP)
    waiting = conversations.pending(asking_bot.db, SAM)
    assert waiting is not None
    # Asked by direct message, before the bot knew of a direct chat with Sam.
    assert (waiting.kind, waiting.ref, waiting.data, waiting.room_id) == (
        "test.consent",
        "project-1",
        {},
        SAM,
    )
    assert await asking_bot.ask("Yes please", sender=SAM, room_id=DM) == [say("ping.pong")]
    assert answers == [("project-1", True)]
    assert conversations.pending(asking_bot.db, SAM) is None
    # Once answered, the same words are ordinary text again (here: feedback).
    assert await asking_bot.ask("yes", sender=SAM, room_id=DM) == []
    assert asking_bot.replies()[-1].text == asking_bot.dispatcher.text("feedback.consent_intro")


async def test_only_the_person_asked_and_only_in_a_direct_chat(asking_bot: Bot, answers) -> None:
    await asking_bot.ask("!consent", sender=SAM, room_id=GROUP)
    await asking_bot.ask("yes", sender=SAM, room_id=GROUP)  # in a group room: not an answer
    await asking_bot.ask("yes", sender=ALICE, room_id=DM)  # someone else: not an answer
    assert answers == []
    assert conversations.pending(asking_bot.db, SAM) is not None


async def test_commands_still_work_and_other_replies_fall_through(asking_bot: Bot, answers) -> None:
    await asking_bot.ask("!consent", sender=SAM, room_id=GROUP)
    assert await asking_bot.ask("!ping", sender=SAM, room_id=DM) == [say("ping.pong")]
    await asking_bot.ask("what is this about?", sender=SAM, room_id=DM)
    assert asking_bot.replies()[-1].text == asking_bot.dispatcher.text("feedback.consent_intro")
    assert answers == []
    # That message was new feedback, so the newest question (may I save it?) is
    # the one a "no" now answers.
    assert await asking_bot.ask("no", sender=SAM, room_id=DM) == [
        asking_bot.dispatcher.text("feedback.consent_no")
    ]
    assert answers == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("yes", True), ("Yes!", True), ("OK.", True), ("✅", True), ("👍", True),
     ("no", False), ("No thanks", False), ("❌", False), ("maybe", None), ("yes no", None)],
)  # fmt: skip
def test_yes_or_no(text: str, expected: bool | None) -> None:
    assert yes_or_no(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 2), (" 2. ", 2), ("#3", 3), ("4", None), ("0", None), ("two", None)],
)
def test_choice_number(text: str, expected: int | None) -> None:
    assert choice_number(text, 3) == expected
