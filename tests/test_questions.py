"""Questions the bot waits for never trap anyone: they wait in the chat where they
were asked, only an answer counts as one, "skip" leaves them, and they expire.

The real bot (``LocalBot``), with the real feedback, workshop and privacy features.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_workshops import NEW

from bot.context import Context, Message
from bot.dispatch import Dispatcher
from bot.messages import Messages
from bot.registry import CommandSet, Registry
from bot.worker import Worker
from commands import MODULES
from localbot import CHRIS, GROUP, MESSAGES, SAM, LocalBot, make_bots, room_named, say
from storage import conversations
from storage import feedback_consents as consents
from storage import workshops as workshop_store

HOME = room_named("home")  # two direct chats with the same person
PHONE = room_named("phone")
BINS = "The bins were not collected this week"


def noting_commands(notes: list[str]) -> CommandSet:
    """A listener that takes "note ..." in any chat without asking anything."""
    commands = CommandSet("test")

    @commands.on(Message)
    async def note(ctx: Context) -> bool:
        body = ctx.event.body  # type: ignore[union-attr]
        if not body.startswith("note "):
            return False
        notes.append(body)
        ctx.reply("ping.pong")
        return True

    return commands


class QuestionBot(LocalBot):
    """Sam has two direct chats with the bot; the outbox is always delivered."""

    champions = (CHRIS,)
    direct_chats = {HOME: SAM, PHONE: SAM}

    def __init__(self, directory: Path, *, minutes: int | None = None, **kwargs: object) -> None:
        super().__init__(directory, **kwargs)  # type: ignore[arg-type]
        if minutes is not None:
            bot = dataclasses.replace(self.config.bot, questions_expire_minutes=minutes)
            self.config = dataclasses.replace(self.config, bot=bot)
            self.start()

    def start(self, messages: Messages = MESSAGES) -> None:
        """As at start-up, but the made-up listener comes first (it sees messages
        before feedback does, as a feature that takes a message without asking would)."""
        super().start(messages)
        if self.extra is not None:
            self.registry = Registry([self.extra] + [m.commands for m in MODULES])
            self.dispatcher = Dispatcher(self.config, messages, self.registry, self.adapter)
            self.worker = Worker(self.store, self.dispatcher, self.adapter, now=self.clock.now)

    async def run(self) -> int:
        handled = await super().run()
        self.deliver()
        return handled

    def said(self, room_id: str, since: int) -> list[str]:
        return [o.body for o in self.after(since) if o.room_id == room_id and o.action == "send"]

    async def chat(self, room_id: str, body: str, *, reply_to: str | None = None) -> list[str]:
        """Sam writes in one of their direct chats; returns what the bot said there."""
        mark = self.mark()
        self.message(body, sender=SAM, room_id=room_id, reply_to=reply_to)
        await self.run()
        return self.said(room_id, mark)

    def agree(self) -> None:
        with self.store.write() as db:
            consents.record_consent(db, SAM, True, "feedback.consent_intro#earlier")

    async def going(self) -> None:
        """A workshop, and Sam says they are going (in the group room)."""
        assert await self.ask(NEW, sender=CHRIS) == []
        assert await self.ask("!going 1", sender=SAM) == [say("workshop.going_saved", number=1)]


@pytest.fixture
def notes() -> list[str]:
    return []


@pytest.fixture
def make_bot(tmp_path: Path, notes: list[str]) -> Iterator[object]:
    with make_bots(QuestionBot, tmp_path) as make:
        yield lambda **kwargs: make(extra=noting_commands(notes), **kwargs)


@pytest.fixture
def bot(make_bot) -> QuestionBot:  # type: ignore[no-untyped-def]
    return make_bot()


# ----- asked where the person is talking (item 9) ------------------------------------


async def test_a_confirmation_is_asked_in_the_chat_the_person_uses(bot: QuestionBot) -> None:
    mark = bot.mark()
    await bot.chat(PHONE, "!forget me")
    assert bot.said(PHONE, mark) == [say("privacy.forget_ask")]
    assert bot.said(HOME, mark) == []
    # A reply in the other chat is not the answer: nothing is forgotten.
    bot.agree()
    assert await bot.chat(HOME, "1") != [say("privacy.forgotten")]
    assert consents.consent(bot.db, SAM) is True
    assert await bot.chat(PHONE, "1") == [say("privacy.forgotten")]
    assert consents.consent(bot.db, SAM) is None


async def test_asked_from_a_group_room_it_goes_to_their_direct_chat(bot: QuestionBot) -> None:
    mark = bot.mark()
    assert await bot.ask("!forget me", sender=SAM, room_id=GROUP) == [say("privacy.forget_asked")]
    waiting = conversations.pending(bot.db, SAM)
    assert waiting is not None and waiting.room_id in (HOME, PHONE)
    assert bot.said(waiting.room_id, mark) == [say("privacy.forget_ask")]


# ----- one conversation per chat (item 8) ---------------------------------------------


async def test_held_messages_from_two_chats_are_never_merged(bot: QuestionBot) -> None:
    assert await bot.chat(HOME, "The bus is late.") == [say("feedback.consent_intro")]
    assert await bot.chat(PHONE, "The lift is broken.") == [say("feedback.consent_intro")]
    assert await bot.chat(PHONE, "yes") == [say("feedback.ask_name")]
    assert await bot.chat(PHONE, "yes") == [say("feedback.saved")]
    assert [r["text"] for r in bot.db.query("SELECT text FROM feedback")] == ["The lift is broken."]
    # The other chat's words are their own piece, once the person writes there again.
    assert await bot.chat(HOME, "And it is cold.") == [say("feedback.ask_name")]
    assert await bot.chat(HOME, "no") == [say("feedback.saved_anonymous")]
    texts = [r["text"] for r in bot.db.query("SELECT text FROM feedback ORDER BY id")]
    assert texts == ["The lift is broken.", "The bus is late.\n\nAnd it is cold."]


async def test_drafts_in_two_chats_wait_for_their_own_answers(bot: QuestionBot) -> None:
    bot.agree()
    assert await bot.chat(HOME, "The bus is late.") == [say("feedback.ask_name")]
    assert await bot.chat(PHONE, "The lift is broken.") == [say("feedback.ask_name")]
    assert await bot.chat(HOME, "yes") == [say("feedback.saved")]
    assert await bot.chat(PHONE, "no") == [say("feedback.saved_anonymous")]
    rows = list(bot.db.query("SELECT text, user_id, contact_ok, state FROM feedback ORDER BY id"))
    assert [(r["text"], r["user_id"], r["contact_ok"], r["state"]) for r in rows] == [
        ("The bus is late.", SAM, 1, "saved"),
        ("The lift is broken.", None, 0, "saved"),
    ]


# ----- only an answer is an answer, "skip", and expiry (item 7) ------------------------


async def test_feedback_minutes_later_is_not_an_access_need(bot: QuestionBot) -> None:
    """The case from the issue: eight minutes after !going, the person says something
    else in their direct chat. It is feedback, not what they need to take part."""
    bot.agree()
    await bot.going()
    bot.later(minutes=8)
    assert await bot.chat(HOME, BINS) == [say("feedback.ask_name")]
    assert workshop_store.needs(bot.db, 1, SAM) is None
    assert await bot.chat(HOME, "yes") == [say("feedback.saved")]
    assert [r["text"] for r in bot.db.query("SELECT text FROM feedback")] == [BINS]


async def test_own_words_count_as_an_answer_when_they_reply_to_the_question(
    bot: QuestionBot,
) -> None:
    await bot.going()
    waiting = conversations.pending(bot.db, SAM)
    assert waiting is not None and waiting.txn
    asked = bot.adapter.sent_event(bot.db, waiting.txn)
    words = "Somewhere quiet to sit, please"
    (said,) = await bot.chat(waiting.room_id, words, reply_to=asked)
    assert say("workshop.needs_saved_words", words=words) in said
    assert workshop_store.needs(bot.db, 1, SAM).words == words  # type: ignore[union-attr]


async def test_after_the_question_expires_nothing_is_taken_as_its_answer(
    make_bot,  # type: ignore[no-untyped-def]
) -> None:
    bot = make_bot(minutes=5)
    await bot.going()
    room = conversations.pending(bot.db, SAM).room_id  # type: ignore[union-attr]
    bot.later(minutes=8)
    assert await bot.chat(room, BINS) == [say("feedback.consent_intro")]
    assert workshop_store.needs(bot.db, 1, SAM) is None
    waiting = conversations.pending(bot.db, SAM)
    assert waiting is not None and waiting.kind == "feedback.consent"


async def test_an_answer_that_comes_too_late_is_not_misfiled(make_bot) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(minutes=5)
    await bot.going()
    room = conversations.pending(bot.db, SAM).room_id  # type: ignore[union-attr]
    bot.later(minutes=6)
    assert await bot.chat(room, "no") == [say("questions.expired")]
    assert workshop_store.needs(bot.db, 1, SAM) is None
    assert conversations.pending(bot.db, SAM) is None
    assert bot.count("feedback") == 0


async def test_expired_consent_keeps_nothing(make_bot) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(minutes=5)
    said = bot.message("The bus is late.", sender=SAM, room_id=HOME)
    await bot.run()
    bot.later(minutes=6)
    assert await bot.chat(HOME, "yes") == [say("questions.expired")]
    assert bot.count("feedback") == 0
    assert bot.kept(said) == "nothing"  # (it is in the inbox: kept says so otherwise)


async def test_skip_leaves_the_question(bot: QuestionBot) -> None:
    await bot.going()
    room = conversations.pending(bot.db, SAM).room_id  # type: ignore[union-attr]
    assert await bot.chat(room, "Skip.") == [say("questions.skipped")]
    assert conversations.pending(bot.db, SAM) is None
    assert workshop_store.needs(bot.db, 1, SAM) is None
    assert await bot.chat(room, "2") != []  # now just a message, not an answer
    assert workshop_store.needs(bot.db, 1, SAM) is None


async def test_skip_keeps_a_draft_without_a_way_to_contact(bot: QuestionBot) -> None:
    bot.agree()
    await bot.chat(HOME, "The bus is late.")
    assert await bot.chat(HOME, "skip") == [say("questions.skipped")]
    (row,) = bot.db.query("SELECT state, contact_ok FROM feedback")
    assert (row["state"], row["contact_ok"]) == ("saved", 0)


async def test_new_input_hears_once_that_a_question_waits(
    bot: QuestionBot, notes: list[str]
) -> None:
    await bot.going()
    room = conversations.pending(bot.db, SAM).room_id  # type: ignore[union-attr]
    about = say("questions.about.workshop.needs", number=1)
    waiting = say("questions.waiting_about", about=about)
    assert await bot.chat(room, "note the tea was cold") == [say("ping.pong"), waiting]
    assert await bot.chat(room, "note and the cake") == [say("ping.pong")]  # only once
    assert notes == ["note the tea was cold", "note and the cake"]
    assert workshop_store.needs(bot.db, 1, SAM) is None
    assert await bot.chat(room, "2") != []
    assert workshop_store.needs(bot.db, 1, SAM).codes == ("loop",)  # type: ignore[union-attr]
