"""Words people actually type, and who may open a chat with the bot.

- In a direct chat, help, menu, hi, hello and stop (no prefix) get what a person
  expects, even while the bot waits for an answer.
- A command typed almost right gets "Did you mean ...?"; for !feedback the words
  go the way !feedback's do: kept only if the person says yes, asked privately.
- Direct-chat invites: from the bot's own server by default
  (rooms.accept_direct_chats_from), greeted once; one turned down is told why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.answers import everyday_word
from bot.config import load_config
from localbot import ALICE, GROUP, SAM, LocalBot, make_bots, person_named, room_named, say
from storage import conversations, rooms
from storage import feedback as store

SAM_DM = room_named("dm-sam")
ALICE_DM = room_named("dm-alice")
STRANGER = person_named("visitor", server="elsewhere.test")  # on another homeserver
BUS = "The bus is late"


class WordsBot(LocalBot):
    direct_chats = {SAM_DM: SAM, ALICE_DM: ALICE}

    def __init__(self, directory: Path, **kwargs: Any) -> None:
        super().__init__(directory, **kwargs)
        self.config_file = directory / "config.toml"

    def set_rooms(self, line: str) -> None:
        """Add a line to the [rooms] section of the config, and start again with it."""
        text = self.config_file.read_text().replace("[rooms]\n", f"[rooms]\n{line}\n", 1)
        self.config_file.write_text(text)
        self.config = load_config(self.config_file, env={})
        self.start()

    async def dm(self, body: str, sender: str = SAM) -> list[str]:
        """Write in the direct chat; everything the bot says because of it (replies or not)."""
        mark = self.mark()
        await self.ask(body, sender=sender, room_id=SAM_DM if sender == SAM else ALICE_DM)
        return [o.body for o in self.after(mark) if o.action == "send"]

    def actions(self, room_id: str) -> list[tuple[str, str]]:
        return [(o.action, o.body) for o in self.outbox() if o.room_id == room_id]


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., WordsBot]]:
    with make_bots(WordsBot, tmp_path) as make:
        yield make


@pytest.fixture
def bot(make_bot: Callable[..., WordsBot]) -> WordsBot:
    return make_bot()


# ----- help, menu, hi, hello, stop ---------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meaning"),
    [("help", "help"), ("Help?", "help"), ("MENU", "help"), ("hi", "hello"), ("Hello!", "hello"),
     ("hey.", "hello"), ("stop", "stop"), ("Stop!", "stop"), ("help me", None), ("hi there", None),
     ("yes", None), ("!help", None)],
)  # fmt: skip
def test_everyday_words(typed: str, meaning: str | None) -> None:
    assert everyday_word(typed) == meaning


@pytest.mark.parametrize("typed", ["help", "Help?", "menu", "MENU."])
async def test_help_and_menu_are_the_same_as_the_help_command(bot: WordsBot, typed: str) -> None:
    [expected] = await bot.dm("!help")
    assert await bot.dm(typed) == [expected]
    assert conversations.pending(bot.db, SAM) is None  # no consent question


@pytest.mark.parametrize("typed", ["hi", "Hello!", "hello", "Hey"])
async def test_hello_gets_a_greeting_not_the_consent_question(bot: WordsBot, typed: str) -> None:
    assert await bot.dm(typed) == [say("dm.welcome")]
    assert conversations.pending(bot.db, SAM) is None
    assert bot.count("feedback") == 0


async def test_the_words_win_over_a_waiting_question(bot: WordsBot) -> None:
    [asked] = await bot.dm(BUS)
    assert asked == say("feedback.consent_intro")
    [expected_help] = await bot.dm("!help")
    assert await bot.dm("help") == [expected_help]  # not "please reply yes or no"
    assert await bot.dm("hi") == [say("dm.welcome")]
    assert conversations.pending(bot.db, SAM) is not None  # still waiting
    assert await bot.dm("stop") == [say("dm.stopped")]
    assert conversations.pending(bot.db, SAM) is None
    assert bot.count("feedback") == 0  # nothing saved
    assert await bot.dm("stop") == [say("dm.nothing_to_stop")]


async def test_stop_ends_a_question_as_a_newer_question_would(bot: WordsBot) -> None:
    await bot.dm(BUS)
    await bot.dm("yes")  # consent: then "may we keep your name?"
    assert conversations.pending(bot.db, SAM).kind == "feedback.name"  # type: ignore[union-attr]
    assert await bot.dm("stop") == [say("dm.stopped")]
    assert conversations.pending(bot.db, SAM) is None
    # The feedback module's own rule for an unanswered name question: kept, not contactable.
    [saved] = store.recent(bot.db, None)
    assert (saved.text, saved.state, saved.contact_ok) == (BUS, "saved", False)


async def test_the_words_are_only_for_direct_chats(bot: WordsBot) -> None:
    assert await bot.ask("help", sender=SAM, room_id=GROUP) == []
    assert await bot.ask("stop", sender=SAM, room_id=GROUP) == []


# ----- commands typed almost right -----------------------------------------------------


async def test_a_typo_gets_the_nearest_command(bot: WordsBot) -> None:
    assert await bot.ask("!hepl") == [
        say("errors.did_you_mean", command="!hepl", suggestion="!help")
    ]
    assert await bot.ask("!workshp 3") == [
        say("errors.did_you_mean", command="!workshp", suggestion="!workshop 3")
    ]
    assert await bot.ask("!feedbak") == [
        say("errors.did_you_mean", command="!feedbak", suggestion="!feedback")
    ]
    assert await bot.ask("!forgt me") == [
        say("errors.did_you_mean", command="!forgt", suggestion="!forget me")
    ]
    assert await bot.ask("!xyzzy") == [say("errors.unknown_command", command="!xyzzy")]


async def test_only_commands_the_person_may_run_are_suggested(bot: WordsBot) -> None:
    assert await bot.ask("!champins", sender=SAM) == [
        say("errors.unknown_command", command="!champins")
    ]
    assert await bot.ask("!champins", sender=ALICE) == [
        say("errors.did_you_mean", command="!champins", suggestion="!champions")
    ]


async def test_feedback_typed_almost_right_in_a_room_is_kept_after_a_yes(bot: WordsBot) -> None:
    typo = bot.message("!feedbak " + BUS, sender=SAM, room_id=GROUP)
    await bot.run()
    assert bot.replies_to(typo) == [
        say("typos.asked_privately", command="!feedbak", suggestion="!feedback")
    ]
    # Privately, just as "!feedback The bus is late" typed in the room would be asked.
    assert [o.body for o in bot.outbox() if o.room_id == SAM_DM] == [
        say("feedback.consent_command")
    ]
    assert bot.count("feedback") == 0  # nothing saved before a yes

    assert await bot.dm("yes") == [say("feedback.ask_name")]
    mark = bot.mark()
    await bot.dm("yes")
    [saved] = store.recent(bot.db, None)
    assert (saved.text, saved.source, saved.room_id, saved.event_id, saved.user_id) == (
        BUS,
        "command",
        GROUP,
        typo,
        SAM,
    )
    assert saved.contact_ok
    assert say("feedback.saved") in [o.body for o in bot.after(mark)]
    assert conversations.pending(bot.db, SAM) is None


async def test_feedback_typed_almost_right_is_not_kept_after_a_no(bot: WordsBot) -> None:
    assert await bot.dm("!fedback " + BUS) == [  # in the direct chat: asked there
        say("errors.did_you_mean", command="!fedback", suggestion="!feedback"),
        say("feedback.consent_intro"),
    ]
    assert await bot.dm("no") == [say("feedback.consent_no")]
    assert bot.count("feedback") == 0
    assert BUS not in str(bot.db.execute("SELECT event FROM inbox").fetchall())


@pytest.mark.parametrize("answer", ["yes", "no"])
async def test_the_words_are_safeguarded_at_once(
    make_bot: Callable[..., WordsBot], answer: str
) -> None:
    bot = make_bot(settings='\n[safeguarding]\nphrases = ["not safe"]\nsignposting = "Call 999."\n')
    bot.message("!feedbak I am not safe at home", sender=SAM, room_id=GROUP)
    await bot.run()
    support = [o for o in bot.outbox() if "Call 999." in o.body]
    assert [o.room_id for o in support] == [SAM_DM]  # privately, before any answer
    await bot.dm(answer)
    assert len([o for o in bot.outbox() if "Call 999." in o.body]) == 1  # once


# ----- who may open a direct chat --------------------------------------------------------


async def test_a_resident_on_the_same_server_may_open_a_direct_chat(bot: WordsBot) -> None:
    bot.invite("!new-dm:council.test", SAM, direct=True)
    await bot.run()
    assert bot.actions("!new-dm:council.test") == [("join", ""), ("send", say("dm.welcome"))]
    room = rooms.get(bot.db, "!new-dm:council.test")
    assert room is not None and (room.state, room.is_direct, room.inviter) == ("invited", True, SAM)


async def test_group_rooms_stay_as_strict_as_before(bot: WordsBot) -> None:
    bot.invite("!their-group:council.test", SAM, direct=False)
    await bot.run()
    assert bot.actions("!their-group:council.test") == [("leave", "")]


async def test_a_direct_chat_turned_down_is_told_why(bot: WordsBot) -> None:
    bot.invite("!far-dm:elsewhere.test", STRANGER, direct=True)
    await bot.run()
    assert bot.actions("!far-dm:elsewhere.test") == [
        ("join", ""),
        ("send", say("dm.refused")),
        ("leave", ""),
    ]
    assert rooms.get(bot.db, "!far-dm:elsewhere.test").state == "refused"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("setting", "sam", "stranger"),
    [("same server", True, False), ("anyone", True, True), ("listed only", False, False),
     ("Same-Server", True, False)],
)  # fmt: skip
async def test_accept_direct_chats_from(
    make_bot: Callable[..., WordsBot], setting: str, sam: bool, stranger: bool
) -> None:
    bot = make_bot()
    bot.set_rooms(f'accept_direct_chats_from = "{setting}"')
    for room, person, accepted in (("!a:council.test", SAM, sam), ("!b:x", STRANGER, stranger)):
        bot.invite(room, person, direct=True)
        await bot.run()
        first = bot.actions(room)[1]
        assert first == ("send", say("dm.welcome" if accepted else "dm.refused")), setting
    # The team may always open one.
    bot.invite("!c:council.test", ALICE, direct=True)
    await bot.run()
    assert bot.actions("!c:council.test")[1] == ("send", say("dm.welcome"))


def test_check_config_knows_accept_direct_chats_from(tmp_path: Path) -> None:
    from bot.config import ConfigError, config_warnings

    bot_dir = tmp_path / "c"
    bot = WordsBot(bot_dir)
    try:
        assert bot.config.rooms.accept_direct_chats_from == "same server"
        assert not any("accept_direct_chats_from" in w for w in config_warnings(bot.config))
        for setting in ("anyone", "listed only"):
            text = bot.config_file.read_text()
            bot.config_file.write_text(
                text.replace("[rooms]\n", f'[rooms]\naccept_direct_chats_from = "{setting}"\n', 1)
            )
            config = load_config(bot.config_file, env={})
            assert any("accept_direct_chats_from" in w for w in config_warnings(config))
            bot.config_file.write_text(text)
        text = bot.config_file.read_text()
        bot.config_file.write_text(
            text.replace("[rooms]\n", '[rooms]\naccept_direct_chats_from = "friends"\n', 1)
        )
        with pytest.raises(ConfigError, match="accept_direct_chats_from"):
            load_config(bot.config_file, env={})
    finally:
        bot.store.close()
