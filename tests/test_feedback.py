"""Feedback through the real dispatcher, worker and adapter, with a real SQLite file.

People's messages go into the inbox as the adapter's sync would store them and
are handled by the real Worker; what the bot says is read back from the outbox (a ``LocalBot``, see
tests/localbot.py). ``deliver`` stands in for the sender, so threads can name the
bot's messages.
Covers: consent in a direct chat, the project and name questions, anonymous
feedback, ``!feedback``, feedback threads, edits and deletions, the team's
review / tag / "you said, we did", safeguarding, and ``!mydata`` / ``!forget me``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

import harness
from bot.registry import CommandSet
from commands.feedback_threads import THUMBS
from commands.safeguarding import is_concerning
from localbot import (
    ALICE,
    CHRIS,
    GROUP,
    PAT,
    SAM,
    LocalBot,
    Out,
    deliver,
    link,
    make_bots,
    room_named,
    say,
)
from storage import conversations
from storage import feedback as store
from storage import feedback_consents as consents
from storage.db import Store
from storage.export import feedback_rows as export_rows

TWIN = "@sam:council.test.uk"  # another person, whose ID starts with Sam's
TEAM = room_named("team")
PROJECT_ROOM = room_named("day-centres")
DMS = {
    SAM: room_named("dm-sam"),
    PAT: room_named("dm-pat"),
    ALICE: room_named("dm-alice"),
    CHRIS: room_named("dm-chris"),
    TWIN: room_named("dm-twin"),
}

SIGNPOSTING = "If you are in danger now, call 999. Adult social care: 01632 960000."
PHRASES = ("not safe", "hurt myself", "can't go on")
BUS = "The bus to the day centre comes too early."


def texts(outs: list[Out], room_id: str | None = None) -> list[str]:
    """The words of the messages among outbox rows (in one room, if given)."""
    return [
        o.body
        for o in outs
        if o.action == "send" and o.kind == "text" and (room_id is None or o.room_id == room_id)
    ]


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def mentions(value: Any, user_id: str) -> bool:
    """The whole ID, not a longer one that starts with it (@sam:council.test.uk)."""
    if not isinstance(value, str | bytes):
        return False
    text = value if isinstance(value, str) else value.decode(errors="replace")
    start = text.find(user_id)
    while start >= 0:
        end = start + len(user_id)
        following, after_that = text[end : end + 1], text[end + 1 : end + 2]
        longer = following.isalnum() or following in (".", "-")
        longer = longer or (following == ":" and after_that.isdigit())
        if not following or not longer:
            return True
        start = text.find(user_id, start + 1)
    return False


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def rows_naming(db: Database, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table with the ID anywhere in it (our own scan, not the bot's)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in db.table_names():
        if table.startswith("sqlite_"):
            continue
        rows = [r for r in db[table].rows if any(mentions(v, user_id) for v in r.values())]
        if rows:
            found[table] = rows
    return found


# ----- the bot, without a homeserver ------------------------------------------------


class FeedbackBot(LocalBot):
    """A bot with a team room, a project room and everyone's direct chat, where people's
    events arrive unless a test names a room."""

    groups = (GROUP, TEAM, PROJECT_ROOM)
    direct_chats = {dm: person for person, dm in DMS.items()}

    def __init__(
        self,
        directory: Path,
        *,
        team_room: str | None = TEAM,
        phrases: tuple[str, ...] = PHRASES,
        signposting: str = SIGNPOSTING,
        extra: CommandSet | None = None,
    ) -> None:
        settings = ""
        if phrases or signposting:
            settings += "[safeguarding]\n"
            if phrases:
                settings += f"phrases = {json.dumps(list(phrases))}\n"
            if signposting:
                settings += f"signposting = {json.dumps(signposting)}\n"
        super().__init__(directory, team_room=team_room, settings=settings, extra=extra)
        assert self.config.rooms.team_room == team_room
        self.config_path = directory / "config.toml"

    def room_for(self, sender: str) -> str:
        return DMS[sender]

    # --- what people do (stored in the inbox; ``run`` handles it) ---

    async def send(
        self, body: str, *, sender: str = SAM, room_id: str | None = None, thread: str | None = None
    ) -> list[Out]:
        """Send a message, handle it, and return the outbox rows it caused."""
        mark = self.mark()
        self.message(body, sender=sender, room_id=room_id, thread=thread)
        await self.run()
        return self.after(mark)

    async def dm(self, body: str, *, sender: str = SAM) -> list[str]:
        """Send a direct message; return everything the bot then said in that chat."""
        return texts(await self.send(body, sender=sender), DMS[sender])

    async def do(self, make: Callable[[], str]) -> list[Out]:
        """Store an event (edit, redaction...), handle it, return the outbox rows it caused."""
        mark = self.mark()
        make()
        await self.run()
        return self.after(mark)

    # --- what the bot did ---

    def feedback(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM feedback ORDER BY id"))

    def one(self) -> dict[str, Any]:
        (row,) = self.feedback()
        return row

    def inbox_row(self, event_id: str) -> dict[str, Any]:
        (row,) = self.db.query("SELECT * FROM inbox WHERE event_id = ?", [event_id])
        row["event"] = json.loads(row["event"])
        return row

    def consent(self, user_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM feedback_consents WHERE user_id = ?", [user_id]))
        return rows[0] if rows else None

    # --- shortcuts ---

    def agree(self, *people: str) -> None:
        """These people have already said yes to their direct messages being saved."""
        with self.store.write() as db:
            for person in people:
                consents.record_consent(db, person, True, "feedback.consent_intro#earlier")

    def add_project(self, name: str, *, stage: str = "design", room_id: str | None = None) -> int:
        """A project, its room made."""
        with self.store.write() as db:
            now = datetime.now(UTC).isoformat()
            values: dict[str, Any] = {
                "name": name,
                "name_key": name.casefold(),
                "summary": f"About {name}",
                "stage": stage,
                "state": "ready",
                "open": 1,
                "created_in": TEAM,
                "created_at": now,
                "stage_at": now,
                "room_id": room_id,
            }
            return int(db["projects"].insert(values).last_pk)

    async def named(self, text: str = BUS, *, sender: str = SAM) -> int:
        """Saved feedback, with the person's name, that they may be told about."""
        self.agree(sender)
        await self.dm(text, sender=sender)
        assert await self.dm("yes", sender=sender) == [say("feedback.saved")]
        return int(self.feedback()[-1]["id"])

    async def anonymous(self, text: str = BUS, *, sender: str = SAM) -> int:
        self.agree(sender)
        await self.dm(text, sender=sender)
        assert await self.dm("no", sender=sender) == [say("feedback.saved_anonymous")]
        return int(self.feedback()[-1]["id"])

    async def command(
        self, text: str, *, sender: str = SAM, room_id: str = GROUP, name: bool = True
    ) -> str:
        """``!feedback`` in a room, then the private answers: yes to saving (if they
        were never asked), and whether to keep their name. Returns its event ID."""
        event_id = self.message(f"!feedback {text}", sender=sender, room_id=room_id)
        await self.run()
        if consents.consent(self.db, sender) is None:
            assert await self.dm("yes", sender=sender) == [say("feedback.ask_name")]
        key = "feedback.saved" if name else "feedback.saved_anonymous"
        assert await self.dm("yes" if name else "no", sender=sender) == [say(key)]
        return event_id

    async def question(self, text: str = "What would make the day centre better?") -> str:
        """``!ask`` in the group room, delivered; returns the root's event ID."""
        outs = await self.send(f"!ask {text}", sender=CHRIS, room_id=GROUP)
        (root,) = outs
        sent = deliver(self.store)
        return sent[root.txn_id]


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., FeedbackBot]]:
    with make_bots(FeedbackBot, tmp_path) as make:
        yield make


@pytest.fixture
def bot(make_bot: Callable[..., FeedbackBot]) -> FeedbackBot:
    return make_bot()


# ----- a direct chat: consent first -------------------------------------------------


async def test_first_contact_asks_first_and_saves_nothing(bot: FeedbackBot) -> None:
    assert await bot.dm(BUS) == [say("feedback.consent_intro")]
    assert bot.feedback() == []
    assert bot.consent(SAM) is None
    waiting = conversations.pending(bot.db, SAM)
    assert waiting is not None and waiting.kind == "feedback.consent"


async def test_messages_before_yes_are_saved_as_one_piece(bot: FeedbackBot) -> None:
    await bot.dm(BUS)
    await bot.dm("And the driver never waits.")
    assert bot.feedback() == []
    assert await bot.dm("Yes") == [say("feedback.ask_name")]
    (row,) = bot.feedback()
    assert row["text"] == f"{BUS}\n\nAnd the driver never waits."
    assert (row["state"], row["user_id"], row["source"]) == ("draft", SAM, "direct")

    assert await bot.dm("yes") == [say("feedback.saved")]
    row = bot.one()
    assert (row["state"], row["user_id"], row["contact_ok"]) == ("saved", SAM, 1)
    # The consent is kept with which words the person agreed to.
    consent = bot.consent(SAM)
    assert consent is not None and consent["agreed"] == 1
    fingerprint = hashlib.sha256(say("feedback.consent_intro").encode()).hexdigest()[:12]
    assert consent["wording"] == f"feedback.consent_intro#{fingerprint}"


async def test_one_message_then_yes_keeps_its_event(bot: FeedbackBot) -> None:
    await bot.dm(BUS)
    await bot.dm("yes")
    row = bot.one()
    assert (row["text"], row["room_id"], row["state"]) == (BUS, DMS[SAM], "draft")
    assert row["event_id"] is not None  # so an edit or deletion can find it


async def test_a_second_message_before_any_answer_gets_a_reminder(bot: FeedbackBot) -> None:
    await bot.dm(BUS)
    assert await bot.dm("And the driver never waits.") == [say("feedback.consent_remind")]
    assert bot.feedback() == []


async def test_no_scrubs_the_waiting_messages_and_saves_nothing(bot: FeedbackBot) -> None:
    name = "My name is Sam Smith, flat 4."
    first = bot.message(BUS)
    second = bot.message(name)
    await bot.run()
    assert await bot.dm("no") == [say("feedback.consent_no")]
    assert bot.feedback() == []
    consent = bot.consent(SAM)
    assert consent is not None and consent["agreed"] == 0
    for event_id, words in ((first, BUS), (second, name)):
        assert bot.kept(event_id) == "nothing"
        assert words not in json.dumps(bot.inbox_row(event_id), ensure_ascii=False)
    assert conversations.pending(bot.db, SAM) is None


async def test_after_no_a_new_message_is_not_saved_until_yes(bot: FeedbackBot) -> None:
    await bot.dm(BUS)
    await bot.dm("no")
    assert await bot.dm("The lift is broken again.") == [say("feedback.not_saved")]
    assert bot.feedback() == []
    assert await bot.dm("yes") == [say("feedback.ask_name")]
    assert bot.one()["text"] == "The lift is broken again."  # not the scrubbed first one
    assert bot.consent(SAM)["agreed"] == 1  # type: ignore[index]


async def test_after_no_replying_yes_changes_the_answer(bot: FeedbackBot) -> None:
    await bot.dm(BUS)
    assert await bot.dm("no") == [say("feedback.consent_no")]  # "...just reply yes."
    assert await bot.dm("yes") == [say("feedback.consent_yes")]
    assert bot.consent(SAM)["agreed"] == 1  # type: ignore[index]
    assert bot.feedback() == []


async def test_other_words_while_asked_are_added_to_what_waits(bot: FeedbackBot) -> None:
    await bot.dm("one")
    await bot.dm("two")
    await bot.dm("three")
    waiting = conversations.pending(bot.db, SAM)
    assert waiting is not None and len(waiting.data["events"]) == 3
    await bot.dm("ok")
    assert bot.one()["text"] == "one\n\ntwo\n\nthree"


# ----- after consent: which project, and the name -------------------------------------


async def test_one_project_is_not_asked_about(bot: FeedbackBot) -> None:
    project = bot.add_project("Day centres")
    bot.agree(SAM)
    assert await bot.dm(BUS) == [say("feedback.ask_name")]
    assert bot.one()["project_id"] == project


async def test_several_projects_get_a_numbered_question(bot: FeedbackBot) -> None:
    bot.add_project("Day centres")
    buses = bot.add_project("Community transport")
    bot.add_project("Old library", stage="done")  # finished: not offered
    bot.agree(SAM)
    (question,) = await bot.dm(BUS)
    assert question.split("\n") == [
        say("feedback.ask_project"),
        say("feedback.choice", number=1, name="Day centres"),
        say("feedback.choice", number=2, name="Community transport"),
        say("feedback.ask_project_how"),
    ]
    assert bot.one()["state"] == "draft"
    assert await bot.dm("2.") == [say("feedback.ask_name")]
    assert bot.one()["project_id"] == buses
    assert await bot.dm("yes") == [say("feedback.saved")]
    row = bot.one()
    assert (row["state"], row["project_id"], row["contact_ok"]) == ("saved", buses, 1)


async def test_zero_is_no_project(bot: FeedbackBot) -> None:
    bot.add_project("Day centres")
    bot.add_project("Community transport")
    bot.agree(SAM)
    await bot.dm(BUS)
    assert await bot.dm("0") == [say("feedback.ask_name")]
    await bot.dm("yes")
    assert (bot.one()["project_id"], bot.one()["state"]) == (None, "saved")


@pytest.mark.parametrize("other", ["3", "the other one"])
async def test_not_a_project_number_saves_the_draft_and_starts_anew(
    bot: FeedbackBot, other: str
) -> None:
    bot.add_project("Day centres")
    bot.add_project("Community transport")
    bot.agree(SAM)
    await bot.dm(BUS)
    (question,) = await bot.dm(other)
    assert question.startswith(say("feedback.ask_project"))  # about the new feedback
    first, second = bot.feedback()
    assert (first["text"], first["state"], first["user_id"], first["contact_ok"]) == (
        BUS,
        "saved",
        SAM,
        0,
    )
    assert first["project_id"] is None
    assert (second["text"], second["state"]) == (other, "draft")
    waiting = conversations.pending(bot.db, SAM)
    assert waiting is not None and waiting.ref == str(second["id"])


async def test_projects_that_failed_are_not_offered(bot: FeedbackBot) -> None:
    bot.add_project("Day centres")
    failed = bot.add_project("Community transport")
    with bot.store.write() as db:
        db.execute("UPDATE projects SET state = 'failed' WHERE id = ?", [failed])
    bot.agree(SAM)
    assert await bot.dm(BUS) == [say("feedback.ask_name")]  # one project left


async def test_yes_to_the_name_keeps_it_and_may_tell_them(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    event_id = bot.message(BUS)
    await bot.run()
    assert await bot.dm("Yes please") == [say("feedback.saved")]
    row = bot.one()
    assert (row["user_id"], row["room_id"], row["event_id"]) == (SAM, DMS[SAM], event_id)
    assert (row["contact_ok"], row["state"]) == (1, "saved")
    assert len(row["created_at"]) > 10  # the full time
    assert bot.kept(event_id) == "all"  # the words stay in the inbox
    assert conversations.pending(bot.db, SAM) is None


async def test_no_to_the_name_keeps_no_link_to_the_person(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    said = bot.message(BUS)
    await bot.run()
    no = bot.message("no")
    await bot.run()
    assert texts(bot.outbox())[-1] == say("feedback.saved_anonymous")
    row = bot.one()
    assert row["text"] == BUS
    assert (row["user_id"], row["room_id"], row["event_id"]) == (None, None, None)
    assert (row["contact_ok"], row["state"]) == (0, "saved")
    assert row["created_at"] == today() and row["updated_at"] == today()
    for event_id in (said, no):  # the words and the "no" that came just after them
        stored = bot.inbox_row(event_id)
        assert stored["sender"] == ""
        assert stored["origin_server_ts"] == 0
        assert bot.kept(event_id) == "nothing"
        assert not bot.kept_sender(event_id)
        assert BUS not in json.dumps(stored)
    assert conversations.pending(bot.db, SAM) is None


async def test_other_words_instead_of_the_name_answer(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    await bot.dm(BUS)
    assert await bot.dm("Also the café shuts at 2.") == [say("feedback.ask_name")]
    first, second = bot.feedback()
    assert (first["state"], first["user_id"], first["contact_ok"]) == ("saved", SAM, 0)
    assert (second["text"], second["state"]) == ("Also the café shuts at 2.", "draft")


async def test_no_to_the_name_scrubs_every_message_of_a_combined_piece(
    bot: FeedbackBot,
) -> None:
    bot.add_project("Day centres")
    bot.add_project("Community transport")
    first = bot.message(BUS)
    second = bot.message("And the driver never waits.")
    await bot.run()
    yes = bot.message("yes")
    await bot.run()
    project = bot.message("2")
    await bot.run()
    no = bot.message("no")
    await bot.run()
    assert texts(bot.outbox())[-1] == say("feedback.saved_anonymous")
    row = bot.one()
    assert row["text"] == f"{BUS}\n\nAnd the driver never waits."
    assert (row["user_id"], row["event_id"], row["project_id"]) == (None, None, 2)
    for event_id in (first, second, yes, project, no):
        assert bot.inbox_row(event_id)["sender"] == "" and bot.kept(event_id) == "nothing"


async def test_commands_still_work_and_keep_the_draft(bot: FeedbackBot) -> None:
    bot.add_project("Day centres")
    bot.add_project("Community transport")
    bot.agree(SAM)
    await bot.dm(BUS)
    outs = await bot.send("!help")
    assert texts(outs)[0].startswith(say("help.intro"))
    outs = await bot.send("!mydata")
    assert [o.action for o in outs] == ["send", "file"]
    waiting = conversations.pending(bot.db, SAM)
    assert waiting is not None and waiting.kind == "feedback.project"
    assert await bot.dm("1") == [say("feedback.ask_name")]
    assert await bot.dm("yes") == [say("feedback.saved")]
    (draft,) = bot.feedback()
    assert (draft["text"], draft["state"], draft["contact_ok"]) == (BUS, "saved", 1)


async def test_feedback_command_in_a_direct_chat_follows_its_rules(bot: FeedbackBot) -> None:
    """Like any message there: a new piece, with its own questions (the draft waiting
    for an answer is kept, named, not contactable, as when another question comes)."""
    bot.add_project("Day centres")
    bot.add_project("Community transport")
    bot.agree(SAM)
    await bot.dm(BUS)
    said = await bot.dm("!feedback The toilets need fixing.")
    assert said[0].startswith(say("feedback.ask_project"))
    assert await bot.dm("0") == [say("feedback.ask_name")]
    assert await bot.dm("yes") == [say("feedback.saved")]
    draft, command = bot.feedback()
    assert (draft["text"], draft["state"], draft["contact_ok"]) == (BUS, "saved", 0)
    assert (command["text"], command["state"], command["contact_ok"]) == (
        "The toilets need fixing.",
        "saved",
        1,
    )


async def test_a_cancelled_forget_me_does_not_lose_the_draft(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    await bot.dm(BUS)
    await bot.dm("!forget me")
    assert await bot.dm("0") == [say("privacy.forget_cancelled")]
    waiting = conversations.pending(bot.db, SAM)
    assert bot.one()["state"] == "saved" or (
        waiting is not None and waiting.ref == str(bot.one()["id"])
    )


# ----- what people write: long, empty, and anything at all ---------------------------


async def test_long_feedback_is_saved_shortened(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    long = "word " * 2_010  # 10,050 characters
    said = await bot.dm(long)
    assert said == [say("feedback.too_long", most=10_000), say("feedback.ask_name")]
    assert bot.one()["text"] == long[: store.MAX_TEXT]


async def test_long_feedback_sent_before_consent_is_saved_shortened(bot: FeedbackBot) -> None:
    await bot.dm("x" * 6_000)
    await bot.dm("y" * 6_000)
    said = await bot.dm("yes")
    assert said == [say("feedback.too_long", most=10_000), say("feedback.ask_name")]
    assert len(bot.one()["text"]) == store.MAX_TEXT


async def test_long_feedback_command_is_saved_shortened(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    outs = await bot.send("!feedback " + "z" * 12_000, room_id=GROUP)
    assert texts(outs, GROUP) == [
        say("feedback.too_long", most=10_000),
        say("feedback.asked_privately"),
    ]
    assert await bot.dm("yes") == [say("feedback.saved")]
    assert bot.one()["text"] == "z" * 10_000


@pytest.mark.parametrize("blank", ["   ", "\n\t\n"])
async def test_blank_messages_are_not_feedback(bot: FeedbackBot, blank: str) -> None:
    assert await bot.dm(blank) == [say("dm.hint")]
    assert conversations.pending(bot.db, SAM) is None
    bot.agree(SAM)
    assert await bot.dm(blank) == [say("dm.hint")]
    assert bot.feedback() == []


TRICKY = '<b>Bold</b> <a href="https://x.test">click</a> **stars** _under_ @room =1+1 ${x} `code`'


async def test_any_text_is_kept_exactly_and_never_echoed(bot: FeedbackBot) -> None:
    root = await bot.question()
    bot.agree(SAM)
    await bot.dm(TRICKY)
    await bot.dm("yes")
    await bot.command(TRICKY, sender=PAT)
    await bot.send(TRICKY, sender=CHRIS, room_id=GROUP, thread=root)
    assert [r["text"] for r in bot.feedback()] == [TRICKY, TRICKY, TRICKY]
    everything = "".join(o.stored for o in bot.outbox())
    for piece in ("<b>", "**stars**", "@room", "=1+1", "${x}"):
        assert piece not in everything

    # Only "you said, we did" shows the person their own words.
    await bot.send("!wedid 1 We fixed it.", sender=ALICE, room_id=TEAM)
    told = [o for o in bot.outbox() if "You said" in o.body]
    assert [o.room_id for o in told] == [DMS[SAM]]
    assert told[0].body == say("feedback.you_said_we_did", said=TRICKY, did="We fixed it.")
    assert told[0].notice
    assert told[0].mentions == ()  # "@room" pings nobody
    assert not told[0].formatted


# ----- !feedback ----------------------------------------------------------------


async def test_feedback_command_in_a_room(bot: FeedbackBot) -> None:
    """Someone who never said yes: nothing is kept but which message it was, until
    they say yes privately; then their name only if they say so."""
    event_id = bot.message("!feedback   The ramp is too steep.  ", room_id=GROUP)
    await bot.run()
    asked, reply = bot.outbox()[-2:]
    assert (reply.room_id, reply.reply_to, reply.body) == (
        GROUP,
        event_id,
        say("feedback.asked_privately"),
    )
    assert "ramp" not in reply.body
    assert (asked.room_id, asked.body) == (DMS[SAM], say("feedback.consent_command"))
    assert bot.feedback() == []
    assert await bot.dm("yes") == [say("feedback.ask_name")]
    row = bot.one()
    assert row["text"] == "The ramp is too steep."
    assert (row["source"], row["user_id"], row["room_id"], row["event_id"]) == (
        "command",
        SAM,
        GROUP,
        event_id,
    )
    assert (row["contact_ok"], row["state"], row["project_id"]) == (0, "draft", None)
    assert bot.consent(SAM)["wording"].startswith("feedback.consent_command#")  # type: ignore[index]
    assert await bot.dm("yes") == [say("feedback.saved")]
    assert (bot.one()["contact_ok"], bot.one()["state"]) == (1, "saved")


async def test_feedback_command_no_keeps_nothing(bot: FeedbackBot) -> None:
    event_id = bot.message("!feedback The ramp is too steep.", room_id=GROUP)
    await bot.run()
    assert await bot.dm("no") == [say("feedback.consent_no")]
    assert bot.feedback() == []
    assert bot.kept(event_id) == "nothing"


async def test_feedback_command_after_consent_asks_about_the_name(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    event_id = bot.message("!feedback The ramp is too steep.", room_id=GROUP)
    await bot.run()
    assert texts(bot.outbox(), GROUP) == [say("feedback.asked_privately")]
    assert texts(bot.outbox(), DMS[SAM]) == [say("feedback.ask_name")]
    assert (bot.one()["state"], bot.one()["contact_ok"]) == ("draft", 0)
    assert await bot.dm("no") == [say("feedback.saved_anonymous")]
    row = bot.one()
    assert (row["user_id"], row["event_id"], row["contact_ok"]) == (None, None, 0)
    assert bot.inbox_row(event_id)["sender"] == ""


async def test_feedback_command_names_in_the_export_only_if_they_said_so(
    bot: FeedbackBot,
) -> None:
    """``copro export --real-ids`` lists as agreed to be contacted only who said yes."""
    await bot.command("Keep my name.", sender=SAM, name=True)
    await bot.command("Not my name.", sender=PAT, name=False)
    bot.agree(CHRIS)
    await bot.send("!feedback Never answered.", sender=CHRIS, room_id=GROUP)  # still a draft
    bot.store.close()
    out = bot.config_path.parent / "report.json"
    args = ["export", "feedback", "-c", str(bot.config_path), "-o", str(out), "--real-ids"]
    result = await asyncio.to_thread(harness.copro, *args)
    bot.store = Store.open(bot.config.storage.database)
    assert result.returncode == 0, result.stderr
    people = {d["answer"]: d["person"] for d in json.loads(out.read_text())}
    assert people == {"Keep my name.": SAM, "Not my name.": "Anonymous"}


async def test_feedback_command_in_a_direct_chat_before_consent(bot: FeedbackBot) -> None:
    assert await bot.dm("!feedback The ramp is too steep.") == [say("feedback.consent_intro")]
    assert bot.feedback() == []
    assert await bot.dm("yes") == [say("feedback.ask_name")]
    assert await bot.dm("yes") == [say("feedback.saved")]
    assert (bot.one()["text"], bot.one()["contact_ok"]) == ("The ramp is too steep.", 1)


async def test_a_held_feedback_command_can_be_edited_or_taken_back(bot: FeedbackBot) -> None:
    kept = bot.message("!feedback The ramp is steep.", room_id=GROUP)
    gone = bot.message("!feedback Oops, wrong room.", room_id=GROUP)
    await bot.run()
    await bot.do(lambda: bot.edit(kept, "!feedback The ramp is far too steep.", room_id=GROUP))
    await bot.do(lambda: bot.remove(gone, room_id=GROUP))
    assert await bot.dm("yes") == [say("feedback.ask_name")]
    assert await bot.dm("yes") == [say("feedback.saved")]
    assert [r["text"] for r in bot.feedback()] == ["The ramp is far too steep."]


async def test_a_held_feedback_command_without_a_name_links_to_nobody(bot: FeedbackBot) -> None:
    said = bot.message("!feedback The ramp is too steep.", room_id=GROUP)
    await bot.run()
    yes = bot.message("yes")
    await bot.run()
    no = bot.message("no")
    await bot.run()
    assert texts(bot.outbox())[-1] == say("feedback.saved_anonymous")
    row = bot.one()
    assert (row["text"], row["user_id"], row["room_id"], row["event_id"]) == (
        "The ramp is too steep.",
        None,
        None,
        None,
    )
    for event_id in (said, yes, no):
        assert bot.inbox_row(event_id)["sender"] == ""


async def test_feedback_command_with_nothing_to_say(bot: FeedbackBot) -> None:
    outs = await bot.send("!feedback   ", room_id=GROUP)
    assert texts(outs) == [say("feedback.empty")]
    assert bot.feedback() == []


async def test_feedback_command_in_a_project_room_is_about_that_project(
    bot: FeedbackBot,
) -> None:
    bot.add_project("Community transport")
    project = bot.add_project("Day centres", room_id=PROJECT_ROOM)
    await bot.command("More trips out please.", room_id=PROJECT_ROOM)
    await bot.command("And from here.")
    in_project, elsewhere = bot.feedback()
    assert in_project["project_id"] == project
    assert elsewhere["project_id"] is None


# ----- feedback threads -------------------------------------------------------------


async def test_a_champion_asks_a_question(bot: FeedbackBot) -> None:
    outs = await bot.send(
        "!ask  What would make   the day centre better? ", sender=CHRIS, room_id=GROUP
    )
    (root,) = outs
    question = "What would make the day centre better?"
    assert (root.room_id, root.reply_to, root.thread) == (GROUP, None, None)
    assert root.body == say("feedback.ask_root", question=question, number=1)
    (row,) = bot.db.query("SELECT * FROM questions")
    assert (row["room_id"], row["asker"], row["text"], row["state"]) == (
        GROUP,
        CHRIS,
        question,
        "open",
    )
    assert row["root_txn"] == root.txn_id


async def test_a_member_cannot_ask(bot: FeedbackBot) -> None:
    outs = await bot.send("!ask Anything?", sender=SAM, room_id=GROUP)
    assert texts(outs) == [say("errors.not_allowed", who=say("roles.champion"))]
    assert bot.count("questions") == 0


async def test_a_question_needs_words_and_not_too_many(bot: FeedbackBot) -> None:
    assert texts(await bot.send("!ask", sender=CHRIS, room_id=GROUP)) == [
        say("feedback.question_needed")
    ]
    assert texts(await bot.send("!ask " + "q" * 501, sender=CHRIS, room_id=GROUP)) == [
        say("feedback.question_too_long", most=500)
    ]
    assert bot.count("questions") == 0


async def test_replies_in_the_thread_are_saved_and_acknowledged(bot: FeedbackBot) -> None:
    root = await bot.question()
    answer = bot.message(
        "More activities in the afternoon.", sender=PAT, room_id=GROUP, thread=root
    )
    await bot.run()
    (row,) = bot.feedback()
    assert (row["text"], row["question_id"], row["source"]) == (
        "More activities in the afternoon.",
        1,
        "thread",
    )
    assert (row["user_id"], row["room_id"], row["event_id"], row["contact_ok"]) == (
        PAT,
        GROUP,
        answer,
        1,
    )
    (ack,) = bot.outbox()[1:]
    assert (ack.action, ack.room_id, ack.kind) == ("react", GROUP, "reaction")
    assert (ack.target, ack.key) == (answer, THUMBS)
    # Members and non-members of the feature alike may answer; each answer is its own piece.
    await bot.send("A quiet room.", sender=SAM, room_id=GROUP, thread=root)
    assert [r["user_id"] for r in bot.feedback()] == [PAT, SAM]


async def test_a_question_in_a_project_room_is_about_that_project(bot: FeedbackBot) -> None:
    project = bot.add_project("Day centres", room_id=PROJECT_ROOM)
    outs = await bot.send("!ask What should change?", sender=CHRIS, room_id=PROJECT_ROOM)
    root = deliver(bot.store)[outs[0].txn_id]
    await bot.send("Longer hours.", room_id=PROJECT_ROOM, thread=root)
    assert bot.one()["project_id"] == project


async def test_other_threads_and_plain_messages_are_not_answers(bot: FeedbackBot) -> None:
    root = await bot.question()
    other = bot.message("Who is coming on Friday?", sender=PAT, room_id=GROUP)
    await bot.run()
    outs = await bot.send("Me!", room_id=GROUP, thread=other)
    outs += await bot.send("Not in the thread.", room_id=GROUP)
    outs += await bot.send("In a thread we don't know.", room_id=GROUP, thread="$unknown")
    assert outs == []
    assert bot.feedback() == []
    assert root


async def test_closing_posts_thanks_in_the_thread_and_stops_saving(bot: FeedbackBot) -> None:
    first = await bot.question("First question?")
    second = await bot.question("Second question?")
    outs = await bot.send("!ask close", sender=CHRIS, room_id=GROUP)
    (thanks,) = outs
    assert thanks.body == say("feedback.ask_closed")
    assert (thanks.room_id, thanks.thread) == (GROUP, second)  # the newest question
    assert store.question(bot.db, 2).state == "closed"  # type: ignore[union-attr]
    assert store.question(bot.db, 1).state == "open"  # type: ignore[union-attr]

    late = await bot.send("Too late?", sender=PAT, room_id=GROUP, thread=second)
    assert texts(late) == [say("feedback.question_closed")]
    assert late[0].thread == second
    assert [o.kind for o in late] == ["text"]  # no ✅
    assert bot.feedback() == []
    await bot.send("Still open.", sender=PAT, room_id=GROUP, thread=first)
    assert bot.one()["question_id"] == 1


async def test_closing_twice_or_a_question_that_is_not_there(bot: FeedbackBot) -> None:
    await bot.question()

    async def close(args: str = "", room_id: str = GROUP, sender: str = CHRIS) -> list[str]:
        return texts(await bot.send(f"!ask close {args}".strip(), sender=sender, room_id=room_id))

    assert await close("1", sender=SAM) == [say("errors.not_allowed", who=say("roles.champion"))]
    assert await close("99") == [say("feedback.no_such_question", number=99)]
    assert await close("1", room_id=TEAM) == [say("feedback.no_such_question", number=1)]
    assert await close("first") == [say("feedback.number_needed")]
    assert await close("#1") == [say("feedback.ask_closed")]
    assert await close("1") == [say("feedback.question_already_closed", number=1)]
    assert await close() == [say("feedback.no_question_open")]


async def test_closing_before_the_question_went_out(bot: FeedbackBot) -> None:
    await bot.send("!ask Anything?", sender=CHRIS, room_id=GROUP)
    (thanks,) = await bot.send("!ask close", sender=CHRIS, room_id=GROUP)
    assert thanks.body == say("feedback.ask_closed")
    assert thanks.thread is None  # no thread to post in yet: said in the room


# ----- edits and deletions ------------------------------------------------------------


async def test_the_author_edits_direct_feedback(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    said = bot.message(BUS)
    await bot.run()
    await bot.dm("yes")
    assert await bot.do(lambda: bot.edit(said, "The bus comes at 8, far too early.")) == []
    assert bot.one()["text"] == "The bus comes at 8, far too early."
    assert bot.one()["updated_at"] >= bot.one()["created_at"]


async def test_editing_feedback_command_drops_the_command_word(bot: FeedbackBot) -> None:
    said = await bot.command("The ramp is steep.")
    await bot.do(lambda: bot.edit(said, "!feedback The ramp is far too steep.", room_id=GROUP))
    assert bot.one()["text"] == "The ramp is far too steep."
    assert bot.count("feedback") == 1  # an edit never runs the command again


async def test_editing_feedback_command_in_any_case(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    said = bot.message("!Feedback The ramp is steep.", room_id=GROUP)
    await bot.run()
    await bot.dm("yes")
    assert bot.one()["text"] == "The ramp is steep."
    await bot.do(lambda: bot.edit(said, "!Feedback The ramp is far too steep.", room_id=GROUP))
    assert bot.one()["text"] == "The ramp is far too steep."


async def test_editing_a_thread_answer(bot: FeedbackBot) -> None:
    root = await bot.question()
    answer = bot.message("More trips.", sender=PAT, room_id=GROUP, thread=root)
    await bot.run()
    await bot.do(lambda: bot.edit(answer, "More trips out.", sender=PAT, room_id=GROUP))
    assert bot.one()["text"] == "More trips out."


async def test_an_edit_by_someone_else_changes_nothing(bot: FeedbackBot) -> None:
    said = await bot.command("The ramp is steep.")
    before = bot.one()
    outs = await bot.do(
        lambda: bot.edit(said, "!feedback Everything is fine.", sender=PAT, room_id=GROUP)
    )
    assert outs == []
    assert bot.one() == before


async def test_an_empty_edit_keeps_the_words(bot: FeedbackBot) -> None:
    said = await bot.command("The ramp is steep.")
    await bot.do(lambda: bot.edit(said, "!feedback", room_id=GROUP))
    assert bot.one()["text"] == "The ramp is steep."


async def test_deleting_the_message_deletes_the_feedback_and_its_themes(
    bot: FeedbackBot,
) -> None:
    said = await bot.command("The ramp is steep.")
    other = await bot.command("The café is great.", sender=PAT)
    for command in ("!tag 1 access", "!tag 2 food", "!wedid 1 We fixed the ramp."):
        await bot.send(command, sender=ALICE, room_id=TEAM)
    assert (bot.count("feedback_themes"), bot.count("outcomes")) == (2, 1)
    assert await bot.do(lambda: bot.remove(said, room_id=GROUP)) == []
    assert [r["event_id"] for r in bot.feedback()] == [other]
    assert bot.count("feedback_themes", "feedback_id = 1") == 0
    assert bot.count("outcomes", "feedback_id = 1") == 0
    assert bot.count("feedback_themes") == 1  # the other one keeps its theme


async def test_deleting_a_direct_message_deletes_its_feedback(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    said = bot.message(BUS)
    await bot.run()
    await bot.dm("yes")
    await bot.do(lambda: bot.remove(said))
    assert bot.feedback() == []


async def test_a_message_deleted_before_consent_is_not_saved(bot: FeedbackBot) -> None:
    oops = bot.message("My neighbour at number 12 is a thief.")
    bot.message(BUS)
    await bot.run()
    await bot.do(lambda: bot.remove(oops))
    await bot.dm("yes")
    assert "number 12" not in bot.one()["text"]


async def test_a_message_edited_before_consent_is_saved_as_edited(bot: FeedbackBot) -> None:
    said = bot.message("The bus is late.")
    await bot.run()
    await bot.do(lambda: bot.edit(said, "The bus is early."))
    await bot.dm("yes")
    assert bot.one()["text"] == "The bus is early."


async def test_a_moderator_deleting_feedback_leaves_it_to_the_team(bot: FeedbackBot) -> None:
    said = await bot.command("The ramp is steep.")
    other = await bot.command("The café is great.", sender=PAT)
    outs = await bot.do(lambda: bot.remove(said, sender=ALICE, room_id=GROUP))
    assert texts(outs) == [say("feedback.removed_by_other", number=1)]
    assert "ramp" not in texts(outs)[0]
    assert [r["text"] for r in bot.feedback()] == ["The ramp is steep.", "The café is great."]
    assert bot.feedback()[0]["removed_at"] is not None
    # Told once; left out of exports until the team decides.
    assert await bot.do(lambda: bot.remove(said, sender=CHRIS, room_id=GROUP)) == []
    exported = [r.answer for r in export_rows(bot.db, secret=b"k" * 32)]
    assert exported == ["The café is great."]
    (line,) = [x for x in await review(bot) if x.startswith("1. ")]
    assert line.endswith(say("feedback.review_removed", number=1))
    assert await review_command(bot, "!review keep 2") == [say("feedback.not_removed", number=2)]
    assert await review_command(bot, "!review keep 1") == [say("feedback.review_kept", number=1)]
    exported = [r.answer for r in export_rows(bot.db, secret=b"k" * 32)]
    assert exported == ["The ramp is steep.", "The café is great."]
    await bot.do(lambda: bot.remove(other, sender=ALICE, room_id=GROUP))
    assert await review_command(bot, "!review delete 2") == [
        say("feedback.review_deleted", number=2)
    ]
    assert [r["text"] for r in bot.feedback()] == ["The ramp is steep."]
    outs = await bot.send("!review delete 1", sender=SAM, room_id=TEAM)
    assert texts(outs) == [say("errors.not_allowed", who=say("roles.team"))]


async def review_command(bot: FeedbackBot, command: str) -> list[str]:
    return texts(await bot.send(command, sender=ALICE, room_id=TEAM))


# ----- the team: review, themes, you said / we did --------------------------------------


async def review(bot: FeedbackBot, args: str = "", room_id: str = TEAM) -> list[str]:
    outs = await bot.send(f"!review {args}".strip(), sender=ALICE, room_id=room_id)
    (text,) = texts(outs)
    return text.split("\n")


async def test_review_lists_one_line_per_piece(bot: FeedbackBot) -> None:
    centres = bot.add_project("Day centres")
    bot.add_project("Community transport")
    await bot.command("Short one.")
    await bot.command("long " * 100 + "\nsecond line", sender=PAT)
    bot.agree(SAM)
    await bot.dm("Still a draft.")  # waiting for the project: not shown
    with bot.store.write() as db:
        store.update(db, 1, project_id=centres)
    await bot.send("!tag 1 Access", sender=ALICE, room_id=TEAM)
    await bot.send("!tag 1 transport", sender=ALICE, room_id=TEAM)

    lines = await review(bot)
    assert lines[0] == say("feedback.review_intro")
    assert len(lines) == 3  # newest first, the draft left out
    flat = " ".join(("long " * 100 + "\nsecond line").split())
    # Nothing about, no themes: those parts are left out, never shown as "-".
    assert lines[1] == say("feedback.review_line", number=2, date=today(), text=flat[:199] + "…")
    assert lines[2] == (
        say(
            "feedback.review_line_about",
            number=1,
            date=today(),
            about="Day centres",
            text="Short one.",
        )
        + " "
        + say("feedback.review_themes", themes="access, transport")
    )
    assert "-" not in lines[1].replace(today(), "")
    assert await review(bot, str(centres)) == [lines[0], lines[2]]


async def test_review_names_a_project_that_has_finished(bot: FeedbackBot) -> None:
    project = bot.add_project("Day centres")
    await bot.named()
    assert bot.one()["project_id"] == project
    with bot.store.write() as db:
        db.execute("UPDATE projects SET stage = 'done' WHERE id = ?", [project])
    lines = await review(bot)
    assert lines[1] == say(
        "feedback.review_line_about", number=1, date=today(), about="Day centres", text=BUS
    )


async def test_review_with_nothing_yet(bot: FeedbackBot) -> None:
    assert await review(bot) == [say("feedback.review_none")]


async def test_review_is_for_the_team_room_or_a_direct_chat(bot: FeedbackBot) -> None:
    await bot.command("Something.")
    for command in ("!review", "!tag 1 x", "!wedid 1 Done."):
        outs = await bot.send(command, sender=ALICE, room_id=GROUP)
        assert texts(outs) == [say("feedback.team_room_only")]
    assert bot.count("feedback_themes") == 0 and bot.count("outcomes") == 0
    outs = await bot.send("!review", sender=ALICE)  # Alice's direct chat
    assert texts(outs, DMS[ALICE])[0].split("\n")[0] == say("feedback.review_intro")


async def test_review_without_a_team_room_stays_out_of_group_rooms(
    make_bot: Callable[..., FeedbackBot],
) -> None:
    bot = make_bot(team_room=None)
    await bot.command("Something private.")
    outs = await bot.send("!review", sender=ALICE, room_id=GROUP)
    assert "Something private." not in "".join(o.stored for o in outs)


async def test_members_and_champions_cannot_use_the_team_commands(bot: FeedbackBot) -> None:
    await bot.command("Something.")
    for person in (SAM, CHRIS):
        for command in ("!review", "!tag 1 x", "!wedid 1 Done."):
            outs = await bot.send(command, sender=person, room_id=TEAM)
            assert texts(outs) == [say("errors.not_allowed", who=say("roles.team"))]
    assert bot.count("feedback_themes") == 0 and bot.count("outcomes") == 0


async def test_tag(bot: FeedbackBot) -> None:
    await bot.command("The ramp is steep.")

    async def tag(args: str) -> list[str]:
        return texts(await bot.send(f"!tag {args}", sender=ALICE, room_id=TEAM))

    assert await tag("1   Step-Free   ACCESS  ") == [
        say("feedback.tagged", number=1, theme="step-free access")
    ]
    assert await tag("#1 " + "t" * 60) == [say("feedback.tagged", number=1, theme="t" * 40)]
    assert await tag("1 step-free access") == [
        say("feedback.tagged", number=1, theme="step-free access")
    ]  # again: still one
    assert store.themes(bot.db, 1) == ["step-free access", "t" * 40]
    assert await tag("7 access") == [say("feedback.not_found", number=7)]
    assert await tag("1") == [say("feedback.theme_needed")]
    assert await tag("one access") == [say("feedback.number_needed")]


async def test_tag_and_wedid_skip_drafts(bot: FeedbackBot) -> None:
    bot.agree(SAM)
    await bot.dm(BUS)  # a draft: the name question waits
    outs = await bot.send("!tag 1 transport", sender=ALICE, room_id=TEAM)
    assert texts(outs) == [say("feedback.not_found", number=1)]
    outs = await bot.send("!wedid 1 Done.", sender=ALICE, room_id=TEAM)
    assert texts(outs) == [say("feedback.not_found", number=1)]


async def test_wedid_tells_the_person_who_said_it(bot: FeedbackBot) -> None:
    await bot.named()
    outs = await bot.send("!wedid 1 We moved the start to 10am.", sender=ALICE, room_id=TEAM)
    assert texts(outs, TEAM) == [say("feedback.wedid_told", number=1)]
    assert texts(outs, DMS[SAM]) == [
        say("feedback.you_said_we_did", said=BUS, did="We moved the start to 10am.")
    ]
    (outcome,) = bot.db.query("SELECT * FROM outcomes")
    assert (outcome["feedback_id"], outcome["text"], outcome["by_user"]) == (
        1,
        "We moved the start to 10am.",
        ALICE,
    )


async def test_wedid_tells_thread_and_command_feedback_too(bot: FeedbackBot) -> None:
    root = await bot.question()
    await bot.send("More trips.", sender=PAT, room_id=GROUP, thread=root)
    await bot.command("The ramp.")
    outs = await bot.send("!wedid 1 Two trips a month.", sender=ALICE, room_id=TEAM)
    assert texts(outs, DMS[PAT]) == [
        say("feedback.you_said_we_did", said="More trips.", did="Two trips a month.")
    ]
    outs = await bot.send("!wedid 2 Fixed.", sender=ALICE, room_id=TEAM)
    assert texts(outs, DMS[SAM]) == [
        say("feedback.you_said_we_did", said="The ramp.", did="Fixed.")
    ]


async def test_wedid_you_said_is_one_shortened_line(bot: FeedbackBot) -> None:
    text = "first line\n" + "word " * 100
    await bot.command(text)
    outs = await bot.send("!wedid 1 Done.", sender=ALICE, room_id=TEAM)
    flat = " ".join(text.split())
    assert texts(outs, DMS[SAM]) == [
        say("feedback.you_said_we_did", said=flat[:299] + "…", did="Done.")
    ]


@pytest.mark.parametrize("how", ["anonymous", "not contactable"])
async def test_wedid_does_not_tell_when_it_may_not(bot: FeedbackBot, how: str) -> None:
    if how == "anonymous":
        await bot.anonymous()
    else:
        bot.agree(SAM)
        await bot.dm(BUS)
        await bot.dm("Another thing.")  # not an answer: the first is saved, not contactable
    assert bot.feedback()[0]["contact_ok"] == 0
    outs = await bot.send("!wedid 1 We moved the start to 10am.", sender=ALICE, room_id=TEAM)
    assert texts(outs) == [say("feedback.wedid_not_told", number=1)]
    assert [o.room_id for o in outs] == [TEAM]
    assert bot.count("outcomes") == 1


async def test_wedid_needs_a_number_and_words(bot: FeedbackBot) -> None:
    await bot.named()

    async def wedid(args: str) -> list[str]:
        return texts(await bot.send(f"!wedid {args}".strip(), sender=ALICE, room_id=TEAM))

    assert await wedid("1") == [say("feedback.outcome_needed")]
    assert await wedid("") == [say("feedback.number_needed")]
    assert await wedid("9 Done.") == [say("feedback.not_found", number=9)]
    assert bot.count("outcomes") == 0


# ----- safeguarding -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am not safe at home", True),
        ("I'm NOT SAFE.", True),
        ("not\n  safe", True),
        ("not safety", False),
        ("knot safe", False),
        ("I might hurt myself", True),
        ("hurt myselfish", False),
        ("I can't go on like this", True),
        ("The bus is late", False),
    ],
)
def test_is_concerning_matches_whole_words_in_any_case(text: str, expected: bool) -> None:
    assert is_concerning(text, PHRASES) is expected


def test_no_phrases_match_nothing() -> None:
    assert is_concerning("I am not safe", ()) is False


def test_is_concerning_matches_curly_apostrophes() -> None:
    assert is_concerning("I can\u2019t go on", PHRASES)


def check_safeguarding(bot: FeedbackBot, outs: list[Out], event_id: str, room_id: str) -> None:
    """Support for the person, and an alert for the team with a link, never the words."""
    assert texts(outs, DMS[SAM])[0] == say("safeguarding.private_intro") + "\n" + SIGNPOSTING
    (alert,) = texts(outs, TEAM)
    assert alert == say("safeguarding.alert", person=SAM, link=link(room_id, event_id))
    assert "safe" not in alert.replace("Safeguarding", "")


async def test_a_worrying_direct_message_before_consent(bot: FeedbackBot) -> None:
    mark = len(bot.outbox())
    event_id = bot.message("I am not safe at home.")
    await bot.run()
    outs = bot.outbox()[mark:]
    check_safeguarding(bot, outs, event_id, DMS[SAM])
    assert texts(outs, DMS[SAM])[1:] == [say("feedback.consent_intro")]
    assert bot.feedback() == []


async def test_a_worrying_thread_answer(bot: FeedbackBot) -> None:
    root = await bot.question()
    mark = len(bot.outbox())
    event_id = bot.message("Sometimes I want to HURT MYSELF", room_id=GROUP, thread=root)
    await bot.run()
    outs = bot.outbox()[mark:]
    check_safeguarding(bot, outs, event_id, GROUP)
    assert bot.count("feedback") == 1  # still saved


async def test_a_worrying_feedback_command(bot: FeedbackBot) -> None:
    mark = len(bot.outbox())
    event_id = bot.message("!feedback I'm not safe with my carer", room_id=GROUP)
    await bot.run()
    outs = bot.outbox()[mark:]
    check_safeguarding(bot, outs, event_id, GROUP)
    assert texts(outs, GROUP) == [say("feedback.asked_privately")]


async def test_without_signposting_the_person_is_told_the_team_knows(
    make_bot: Callable[..., FeedbackBot],
) -> None:
    bot = make_bot(signposting="")
    outs = await bot.send("!feedback I am not safe", room_id=GROUP)
    assert texts(outs, DMS[SAM])[0] == (
        say("safeguarding.private_intro") + "\n" + say("safeguarding.team_told")
    )
    assert len(texts(outs, TEAM)) == 1
    assert not any(ch.isdigit() for ch in texts(outs, DMS[SAM])[0])  # no made-up numbers


async def test_without_a_team_room_the_person_still_gets_support(
    make_bot: Callable[..., FeedbackBot],
) -> None:
    bot = make_bot(team_room=None)
    outs = await bot.send("!feedback I am not safe", room_id=GROUP)
    assert texts(outs, DMS[SAM])[0] == say("safeguarding.private_intro") + "\n" + SIGNPOSTING
    assert {o.room_id for o in outs} == {DMS[SAM], GROUP}


async def test_nothing_worrying_nothing_said(bot: FeedbackBot) -> None:
    outs = await bot.send("!feedback The safety rail is loose", room_id=GROUP)
    assert texts(outs) == [say("feedback.consent_command"), say("feedback.asked_privately")]
    outs = await bot.send("I feel safe here, not safety-first", room_id=GROUP)
    assert outs == []


async def test_without_phrases_nothing_is_flagged(make_bot: Callable[..., FeedbackBot]) -> None:
    bot = make_bot(phrases=())
    outs = await bot.send("!feedback I am not safe", room_id=GROUP)
    assert texts(outs) == [say("feedback.consent_command"), say("feedback.asked_privately")]


async def test_a_worrying_message_while_another_question_waits(bot: FeedbackBot) -> None:
    await bot.dm("!forget me")
    said = await bot.dm("I am not safe at home")
    assert said[0] == say("safeguarding.private_intro") + "\n" + SIGNPOSTING


SUPPORT = say("safeguarding.private_intro") + "\n" + SIGNPOSTING


async def test_editing_saved_feedback_into_a_disclosure(bot: FeedbackBot) -> None:
    await bot.named()
    said = bot.db.execute("SELECT event_id FROM inbox ORDER BY seq LIMIT 1").fetchone()[0]
    edit = bot.edit(said, "He hits me and I am not safe at home.")
    outs = await bot.do(lambda: edit)
    check_safeguarding(bot, outs, edit, DMS[SAM])
    assert bot.one()["text"] == "He hits me and I am not safe at home."
    # Once per disclosure: editing words that were already worrying alerts nobody again.
    assert await bot.do(lambda: bot.edit(said, "I am not safe, he takes my money.")) == []


async def test_editing_a_held_message_into_a_disclosure(bot: FeedbackBot) -> None:
    said = bot.message(BUS)
    await bot.run()
    edit = bot.edit(said, "I am not safe at home.")
    outs = await bot.do(lambda: edit)
    check_safeguarding(bot, outs, edit, DMS[SAM])
    assert bot.feedback() == []  # still nothing saved before a yes


async def test_editing_a_feedback_command_into_a_disclosure(bot: FeedbackBot) -> None:
    said = await bot.command("The ramp is steep.")
    edit = bot.edit(said, "!feedback I am not safe with my carer", room_id=GROUP)
    outs = await bot.do(lambda: edit)
    check_safeguarding(bot, outs, edit, GROUP)


async def test_editing_any_direct_message_into_a_disclosure(bot: FeedbackBot) -> None:
    await bot.dm("!forget me")
    said = bot.message("maybe later")
    await bot.run()
    edit = bot.edit(said, "I can't go on")
    outs = await bot.do(lambda: edit)
    check_safeguarding(bot, outs, edit, DMS[SAM])


async def test_an_edit_by_someone_else_is_not_a_disclosure_of_theirs(bot: FeedbackBot) -> None:
    said = await bot.command("The ramp is steep.")
    edit = lambda: bot.edit(said, "!feedback I am not safe", sender=PAT, room_id=GROUP)  # noqa: E731
    assert await bot.do(edit) == []
    assert await bot.do(lambda: bot.edit(said, "I am not safe", sender=PAT, room_id=GROUP)) == []


# ----- people's data: !mydata and !forget me ------------------------------------------


async def everyone_says_things(bot: FeedbackBot) -> dict[str, int]:
    """Sam and Pat give feedback every way, Sam votes in a poll; returns Sam's feedback IDs."""
    bot.agree(SAM, PAT)
    root = await bot.question()
    await bot.named("Sam's named words.")
    await bot.anonymous("Sam's anonymous words.")
    await bot.command("Sam's command words.")
    await bot.send("Sam's thread words.", room_id=GROUP, thread=root)
    await bot.named("Pat's named words.", sender=PAT)
    await bot.command("Pat's command words.", sender=PAT)
    await bot.send("!wedid 1 Sam was heard.", sender=ALICE, room_id=TEAM)
    await bot.send("!tag 1 heard", sender=ALICE, room_id=TEAM)
    poll = await bot.send("!poll Which day? | Tuesday | Thursday", sender=CHRIS, room_id=GROUP)
    sent = deliver(bot.store)
    start = next(o for o in poll if o.kind == "poll")
    await bot.do(lambda: bot.answer_poll(sent[start.txn_id], "a1", sender=SAM, room_id=GROUP))
    await bot.do(lambda: bot.answer_poll(sent[start.txn_id], "a2", sender=PAT, room_id=GROUP))
    assert bot.count("poll_votes", "voter = ?", [SAM]) >= 1
    return {r["text"]: r["id"] for r in bot.feedback()}


async def test_mydata_sends_a_file_of_their_own_rows(bot: FeedbackBot) -> None:
    await everyone_says_things(bot)
    outs = await bot.send("!mydata", room_id=GROUP)
    assert texts(outs, GROUP) == [say("privacy.mydata_sent")]
    (summary,) = texts(outs, DMS[SAM])  # plain words first, ending with the file's note
    assert summary.split("\n\n")[-1] == say("privacy.mydata_here")
    (file,) = [o for o in outs if o.action == "file"]
    assert file.room_id == DMS[SAM]
    assert (file.filename, file.mimetype) == (
        "my-data.json",
        "application/json",
    )
    path = file.file
    assert path is not None
    assert path.parent == bot.adapter.files_dir
    data = json.loads(read(path))
    assert data["person"] == SAM
    stored = data["stored"]
    mine = {r["text"] for r in stored["feedback"]}
    assert mine == {"Sam's named words.", "Sam's command words.", "Sam's thread words."}
    assert {r["user_id"] for r in stored["feedback"]} == {SAM}
    assert [r["voter"] for r in stored["poll_votes"]] == [SAM]
    assert stored["feedback_consents"][0]["user_id"] == SAM
    assert PAT not in json.dumps(data)
    assert "Pat's" not in json.dumps(data)


async def test_mydata_in_a_direct_chat_sends_the_file_there(bot: FeedbackBot) -> None:
    await bot.command("Something.")
    outs = await bot.send("!mydata")
    assert [(o.action, o.room_id) for o in outs] == [("send", DMS[SAM]), ("file", DMS[SAM])]


async def test_mydata_never_hands_over_someone_elses_words(bot: FeedbackBot) -> None:
    await bot.command(f"{SAM} shouts at me at the day centre.", sender=PAT)
    outs = await bot.send("!mydata", room_id=GROUP)
    (file,) = [o for o in outs if o.action == "file"]
    assert file.file is not None
    data = read(file.file)
    assert PAT not in data
    assert "shouts at me" not in data


async def test_forget_me_asks_first_and_may_be_cancelled(bot: FeedbackBot) -> None:
    await bot.command("Keep me.")
    outs = await bot.send("!forget me", room_id=GROUP)
    assert texts(outs, GROUP) == [say("privacy.forget_asked")]
    assert texts(outs, DMS[SAM]) == [say("privacy.forget_ask")]
    assert await bot.dm("maybe later") == [say("privacy.forget_how")]
    assert await bot.dm("0") == [say("privacy.forget_cancelled")]
    assert await bot.dm("!forget me") == [say("privacy.forget_ask")]
    assert await bot.dm("no") == [say("privacy.forget_cancelled")]
    assert bot.one()["user_id"] == SAM
    assert conversations.pending(bot.db, SAM) is None


def forgetting_commands(calls: list[str]) -> CommandSet:
    commands = CommandSet("test")

    @commands.forgets
    def forget_test_data(db: Database, user_id: str) -> None:
        calls.append(user_id)

    return commands


def others_snapshot(bot: FeedbackBot) -> dict[str, Any]:
    return {
        "feedback": list(bot.db.query("SELECT * FROM feedback WHERE user_id = ?", [PAT])),
        "consent": bot.consent(PAT),
        "votes": list(bot.db.query("SELECT * FROM poll_votes WHERE voter = ?", [PAT])),
        "inbox": list(bot.db.query("SELECT * FROM inbox WHERE sender = ?", [PAT])),
    }


async def test_forget_me_deletes_everything(make_bot: Callable[..., FeedbackBot]) -> None:
    calls: list[str] = []
    bot = make_bot(extra=forgetting_commands(calls))
    await everyone_says_things(bot)
    anonymous = bot.db.execute("SELECT id FROM feedback WHERE user_id IS NULL").fetchall()
    theirs = others_snapshot(bot)
    assert rows_naming(bot.db, SAM)

    await bot.dm("!forget me")
    assert await bot.dm("1") == [say("privacy.forgotten")]
    assert calls == [SAM]
    assert rows_naming(bot.db, SAM) == {}
    assert [r["text"] for r in bot.feedback()] == [
        "Sam's anonymous words.",  # it was never linked to them
        "Pat's named words.",
        "Pat's command words.",
    ]
    assert bot.db.execute("SELECT id FROM feedback WHERE user_id IS NULL").fetchall() == anonymous
    assert bot.count("feedback_themes") == 0 and bot.count("outcomes") == 0  # on Sam's words
    assert "Sam's named words" not in json.dumps(list(bot.db["inbox"].rows))
    assert others_snapshot(bot) == theirs


async def test_forget_me_may_keep_the_words_without_the_name(
    make_bot: Callable[..., FeedbackBot],
) -> None:
    calls: list[str] = []
    bot = make_bot(extra=forgetting_commands(calls))
    ids = await everyone_says_things(bot)
    theirs = others_snapshot(bot)

    await bot.dm("!forget me")
    assert await bot.dm("2") == [say("privacy.forgotten_kept_words")]
    assert calls == [SAM]
    assert rows_naming(bot.db, SAM) == {}
    kept = {r["text"]: r for r in bot.feedback()}
    for text in ("Sam's named words.", "Sam's command words.", "Sam's thread words."):
        row = kept[text]
        assert row["id"] == ids[text]
        assert (row["user_id"], row["room_id"], row["event_id"], row["contact_ok"]) == (
            None,
            None,
            None,
            0,
        )
    assert store.themes(bot.db, ids["Sam's named words."]) == ["heard"]  # the team's work stays
    assert others_snapshot(bot) == theirs


async def test_forget_me_keeps_the_date_the_words_were_said(bot: FeedbackBot) -> None:
    await bot.command("Said last year.")
    with bot.store.write() as db:
        db.execute("UPDATE feedback SET created_at = '2025-03-04T10:11:12.000+00:00'")
    await bot.dm("!forget me")
    await bot.dm("2")
    assert bot.one()["created_at"] == "2025-03-04"


async def test_forget_me_leaves_someone_whose_id_starts_the_same_alone(
    bot: FeedbackBot,
) -> None:
    await bot.command("Twin's words.", sender=TWIN)
    await bot.command("Sam's words.")
    await bot.dm("!forget me")
    await bot.dm("1")
    assert [(r["text"], r["user_id"]) for r in bot.feedback()] == [("Twin's words.", TWIN)]


async def test_feedback_waits_for_review_until_a_team_member_marks_it(tmp_path: Path) -> None:
    opened = Store.open(tmp_path / "copro.db")
    with opened.write() as db:
        first = store.add(db, "Late bus", user_id=SAM, source="direct", room_id=None, event_id="$a")
        store.add(db, "More seats", user_id=None, source="direct", room_id=None, event_id="$b")
    assert store.count_waiting_review(opened.db) == 2
    with opened.write() as db:
        store.mark_reviewed(db, first, ALICE)
    assert store.count_waiting_review(opened.db) == 1
    with opened.write() as db:
        store.mark_reviewed(db, first, ALICE, reviewed=False)
    assert store.count_waiting_review(opened.db) == 2
    opened.close()
