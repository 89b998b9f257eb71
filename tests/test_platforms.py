"""Two chat platforms at once, from one process and one database.

The core routes every call about a room, a person, an event or something sent to
the platform that owns its ID (``bot.platforms``), and answers from the platform
an event or a job is on. These tests run the real dispatcher, worker and
scheduler over the Matrix adapter and ``Tiny``: a second platform in a few
lines of pure logic, which owns the IDs that start ``discord:`` as Discord's
adapter will (its events are stored as Discord's are: the gateway's event name
as ``type``, the payload under ``"d"``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
from collections.abc import Coroutine, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

import harness
from bot.adapters import build_adapters, config_secrets
from bot.app import RedactSecrets
from bot.config import DISCORD_TOKEN_ENV, ConfigError, config_warnings, load_config
from bot.context import (
    Choices,
    EventId,
    Incoming,
    Message,
    PollAnswer,
    PollLayout,
    Reaction,
    RoomId,
    UserId,
)
from bot.dispatch import Dispatcher
from bot.matrix import MatrixAdapter
from bot.platforms import Happened, NoPlatform, Platforms
from bot.roles import Role, role_of
from bot.scheduler import Scheduler, schedule
from bot.signals import Signals, woken
from bot.worker import Worker
from localbot import ALICE, CHRIS, GROUP, MESSAGES, SAM, LocalBot, deliver, make_bots, say
from storage import inbox, jobs, outbox, rooms
from storage import polls as poll_store
from storage.db import Store
from storage.inbox import InboxEvent
from storage.schema import migrations

TOKEN = "MTIz.discord-bot-token.secret"  # made up
CHANNEL = "discord:100"  # a text channel
TEAM_CHANNEL = "discord:200"
DM_CHANNEL = "discord:300"  # Kim's direct messages with the bot
KIM = "discord:555"  # in the team, by her Discord ID
RIO = "discord:777"  # a champion, by his Discord ID
PAZ = "discord:888"  # nobody in particular
TEAM_ROOM = "!team:council.test"

DISCORD = f"""
[discord]
token = "{TOKEN}"
guild_id = 42
team_channel = 200
"""


class Tiny:
    """A second chat platform, just enough for the core: it reads what people
    sent (messages, reactions) and queues what the bot says in the outbox,
    marked as its own."""

    name = "discord"
    user_id = "discord:1"
    example_people = ("<@1001>", "<@1002>")
    uid_domain = "discord.test"

    def __init__(self, config_dir: Path) -> None:
        self.files_dir = config_dir

    def owns(self, id: str) -> bool:
        return id.startswith("discord:")

    def interpret(self, db: Database, event: InboxEvent) -> Happened | None:
        d = event.event["d"]
        ids = EventId(event.event_id), RoomId(event.room_id), UserId(event.sender)
        if event.type == "MESSAGE_CREATE":
            reply = d.get("message_reference")
            return Message(
                *ids,
                d["content"],
                "guild_id" not in d,
                EventId(f"discord:{reply}") if reply else None,
                event.origin_server_ts,
            )
        if event.type == "MESSAGE_REACTION_ADD":
            target = EventId(f"discord:{d['message_id']}")
            return Reaction(*ids, target, d["emoji"]["name"], event.origin_server_ts)
        return None

    # ----- people and links ---------------------------------------------------

    def person(self, text: str) -> UserId | None:
        found = re.fullmatch(r"<@(\d+)>|discord:(\d+)", text)
        return UserId(f"discord:{found[1] or found[2]}") if found else None

    def meant_as_person(self, word: str) -> bool:
        return word.startswith(("<@", "discord:"))

    def mention(self, user_id: str) -> str:
        return f"<@{user_id.removeprefix('discord:')}>"

    def link(self, room_id: str, event_id: str) -> str:
        return f"https://discord.test/{room_id}/{event_id}"

    def server_of(self, user_id: str) -> str:
        return ""

    # ----- queueing -----------------------------------------------------------

    def _queue(self, db: Database, action: str, room_id: str, **content: Any) -> str:
        return outbox.enqueue(db, action, room_id, content=content, platform=self.name)

    def queue_text(
        self,
        db: Database,
        room_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        thread: str | None = None,
    ) -> str:
        return self._queue(db, "send", room_id, content=text, reply_to=reply_to)

    def queue_reaction(self, db: Database, room_id: str, target: str, key: str) -> str:
        return self._queue(db, "react", room_id, target=target, key=key)

    def queue_question(
        self, db: Database, room_id: str, user_id: str, text: str, choices: Choices
    ) -> str:
        return self.queue_text(db, room_id, text)

    def direct_room(self, db: Database, user_id: str) -> str:
        found = rooms.find_direct(db, user_id)
        if found is not None:
            return found
        if not outbox.has_pending(db, "create_dm", user_id):
            outbox.enqueue(db, "create_dm", user_id, opens=outbox.PERSON, platform=self.name)
        return user_id

    def queue_direct(self, db: Database, user_id: str, text: str) -> str:
        return self.queue_text(db, self.direct_room(db, user_id), text)

    def queue_poll(self, db: Database, room_id: str, poll: PollLayout) -> str:
        return self._queue(db, "send", room_id, content=poll.fallback)

    def poll_not_native(self, room_id: str, poll: PollLayout) -> str | None:
        return None

    def queue_listing(self, db: Database, room_id: str, key: str, listing: object) -> None:
        return None

    def queue_poll_end(
        self,
        db: Database,
        room_id: str,
        poll_event: str,
        results: dict[str, int],
        text: str,
        *,
        summary: str | None = None,
    ) -> str:
        ended = self._queue(db, "send", room_id, content=text, poll_end=poll_event)
        if summary is not None:
            self.queue_text(db, room_id, summary)
        return ended

    def queue_removal(self, db: Database, room_id: str, event_id: str) -> str:
        return self._queue(db, "redact", room_id, target=event_id)

    def queue_file(
        self, db: Database, room_id: str, file: Path, filename: str, mimetype: str
    ) -> str:
        return self._queue(db, "file", room_id, path=str(file), filename=filename)

    def queue_create_room(
        self, db: Database, key: str, name: str, topic: str, invite: Sequence[str] = ()
    ) -> str:
        content = {"name": name, "invite": list(invite)}
        return outbox.enqueue(
            db, "create_room", key, content=content, opens=outbox.NEW_ROOM, platform=self.name
        )

    def queue_topic(self, db: Database, room_id: str, topic: str) -> str:
        return self._queue(db, "topic", room_id, topic=topic)

    def queue_invite(self, db: Database, room_id: str, user_id: str) -> str:
        return self._queue(db, "invite", room_id, user_id=user_id)

    def queue_kick(self, db: Database, room_id: str, user_id: str, reason: str) -> str:
        return self._queue(db, "kick", room_id, user_id=user_id)

    def queue_join(self, db: Database, room_id: str) -> str:
        return self._queue(db, "join", room_id)

    def queue_leave(self, db: Database, room_id: str) -> str:
        return self._queue(db, "leave", room_id)

    def queue_thread(self, db: Database, room_id: str, root_txn: str, name: str) -> str | None:
        return None

    def message_text(self, db: Database, event_id: str) -> str | None:
        found = inbox.get(db, event_id)
        return str(found.event["d"].get("content", "")) if found else None

    def sent_event(self, db: Database, txn_id: str) -> str | None:
        return outbox.result_of(db, txn_id)

    def sent_txn(self, db: Database, event_id: str) -> str | None:
        return outbox.txn_of(db, event_id)

    # ----- reading, and running ----------------------------------------------

    async def joined_members(self, room_id: str) -> set[str]:
        return set()

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]:
        return []

    async def held_answer(self, room_id: str, event_id: str) -> Incoming | None:
        return None

    def forget_held(self, event_id: str) -> None:
        pass

    async def user_exists(self, user_id: str) -> bool | None:
        return None

    async def login(self) -> None:
        pass

    def loops(self) -> list[Coroutine[Any, Any, None]]:
        return []

    async def close(self) -> None:
        pass

    @property
    def secrets(self) -> list[str]:
        return [TOKEN]

    @property
    def out_of_touch_since(self) -> datetime | None:
        return None


def send_all(store: Store, platform: str) -> dict[str, str]:
    """One platform's sender, reading the outbox as the real ones do: the head of
    each of its rooms, in order, only its own. Returns {txn ID: the ID it got}."""
    sent: dict[str, str] = {}
    with store.write() as db:
        while heads := outbox.heads(db, platform=platform):
            for item in heads:
                result = f"{platform}:{9000 + item.id}"
                outbox.mark_sent(db, item.id, result)
                if item.action == "create_dm":
                    rooms.upsert(db, result, state="joined", is_direct=True, dm_with=item.room_id)
                if item.action in ("create_dm", "create_room"):
                    outbox.move_room(db, item.room_id, result)  # what waited for it
                sent[item.txn_id] = result
    return sent


class TwoPlatformBot(LocalBot):
    """The LocalBot, on Matrix and on ``Tiny`` at once."""

    team = (ALICE, KIM)
    champions = (CHRIS, RIO)

    def __init__(self, directory: Path, settings: str = "") -> None:
        super().__init__(directory, team_room=TEAM_ROOM, settings=DISCORD + settings)

    def start(self, messages: Any = MESSAGES) -> None:
        super().start(messages)
        self.tiny = Tiny(self.config.storage.data_dir)
        self.platforms = Platforms([self.adapter, self.tiny])
        self.dispatcher = Dispatcher(self.config, messages, self.registry, self.platforms)
        self.worker = Worker(self.store, self.dispatcher, self.platforms, now=self.clock.now)
        self.scheduler = Scheduler(
            self.store, self.registry, self.platforms, self.config, messages, clock=self.clock
        )

    def on_discord(
        self, body: str, *, sender: str = PAZ, channel: str = CHANNEL, dm: bool = False
    ) -> str:
        """A message on the second platform, stored as its gateway brings it."""
        number = 5000 + self.count("inbox")
        d: dict[str, Any] = {"id": str(number), "channel_id": channel, "content": body}
        if not dm:
            d["guild_id"] = "42"
        return self._discord_event("MESSAGE_CREATE", number, channel, sender, d)

    def _discord_event(
        self, kind: str, number: int, channel: str, sender: str, d: dict[str, Any]
    ) -> str:
        event = {
            "event_id": f"discord:{number}",
            "sender": sender,
            "type": kind,
            "origin_server_ts": self._ts(None),
            "d": d,
        }
        with self.store.write() as db:
            inbox.add_events(db, channel, [event], platform="discord")
        return str(event["event_id"])

    def rows(self, platform: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(action, room, content) of what the bot queued for a platform, in order."""
        found = self.db.execute(
            "SELECT action, room_id, content FROM outbox WHERE platform = ? ORDER BY id",
            [platform],
        ).fetchall()
        return [(a, r, json.loads(c or "{}")) for a, r, c in found]

    def said_on_discord(self, room_id: str = CHANNEL) -> list[str]:
        return [c["content"] for a, r, c in self.rows("discord") if a == "send" and r == room_id]


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[TwoPlatformBot]:
    with make_bots(TwoPlatformBot, tmp_path) as make:
        yield make()


# ----- one worker, two platforms ------------------------------------------------


async def test_an_event_from_each_platform_is_answered_on_its_own(bot: TwoPlatformBot) -> None:
    from_matrix = bot.message("!ping", sender=SAM)
    from_discord = bot.on_discord("!ping")
    assert await bot.run() == 2
    assert bot.replies_to(from_matrix) == [say("ping.pong")]
    assert bot.rows("discord") == [
        ("send", CHANNEL, {"content": say("ping.pong"), "reply_to": from_discord})
    ]
    platforms = bot.db.execute("SELECT DISTINCT platform FROM inbox ORDER BY 1").fetchall()
    assert platforms == [("discord",), ("matrix",)]
    assert bot.inbox_state(from_matrix) == bot.inbox_state(from_discord) == "done"


async def test_each_platform_s_sender_sees_only_its_own_rows(bot: TwoPlatformBot) -> None:
    bot.message("!ping")
    bot.on_discord("!ping")
    bot.on_discord("!ping", channel="discord:101")
    await bot.run()
    assert [i.room_id for i in outbox.heads(bot.db, platform="matrix")] == [GROUP]
    assert [i.room_id for i in outbox.heads(bot.db, platform="discord")] == [
        CHANNEL,
        "discord:101",
    ]
    assert outbox.next_in_room(bot.db, CHANNEL, platform="matrix") is None
    assert outbox.next_in_room(bot.db, GROUP, platform="discord") is None
    ours = bot.db.execute("SELECT txn_id FROM outbox WHERE platform = 'discord'").fetchall()
    assert set(send_all(bot.store, "discord")) == {txn for (txn,) in ours}
    assert [i.room_id for i in outbox.heads(bot.db, platform="matrix")] == [GROUP]  # untouched
    assert set(deliver(bot.store).values()) <= {"$bot00001"}  # what Matrix still had


async def test_the_bot_speaks_to_each_person_in_their_platform_s_own_form(
    bot: TwoPlatformBot,
) -> None:
    bot.on_discord("!champion add Sam", sender=KIM)
    await bot.run()
    assert bot.said_on_discord() == [say("champion.bad_id", text="Sam", someone="<@1001>")]
    bot.on_discord("!champion add <@4242>", sender=KIM)
    bot.message("!champion add @lee:council.test", sender=ALICE)
    await bot.run()
    assert bot.said_on_discord()[-1] == say("champion.added", person="<@4242>")
    assert role_of(bot.config, bot.db, "discord:4242") == Role.CHAMPION
    assert role_of(bot.config, bot.db, "@lee:council.test") == Role.CHAMPION


async def test_people_in_the_config_by_their_discord_id_have_their_roles(
    bot: TwoPlatformBot,
) -> None:
    assert role_of(bot.config, bot.db, KIM) == Role.TEAM
    assert role_of(bot.config, bot.db, RIO) == Role.CHAMPION
    assert role_of(bot.config, bot.db, PAZ) == Role.MEMBER
    assert role_of(bot.config, bot.db, "555") == Role.MEMBER  # the exact ID, never the number
    bot.on_discord("!champions", sender=PAZ)
    bot.on_discord("!champions", sender=KIM)
    await bot.run()
    refused, listed = bot.said_on_discord()
    assert refused == say("errors.not_allowed", who=say("roles.team"))
    assert "<@777>" in listed


async def test_a_job_asked_for_on_discord_runs_there(bot: TwoPlatformBot) -> None:
    bot.on_discord("!poll Where shall we meet? | Library | Town hall | closes in 2h", sender=RIO)
    await bot.run()
    assert bot.db.execute("SELECT kind, platform FROM jobs").fetchall() == [
        ("poll.close", "discord")
    ]
    send_all(bot.store, "discord")
    before = len(bot.rows("discord"))
    bot.later(hours=2, minutes=1)
    assert await bot.tick() >= 1
    closing = bot.rows("discord")[before:]
    assert closing and all(room == CHANNEL for _, room, _ in closing)
    assert any("poll_end" in content for _, _, content in closing)
    assert bot.rows("matrix") == []  # nothing of it went to Matrix


async def test_a_poll_closes_while_another_platform_s_events_wait(bot: TwoPlatformBot) -> None:
    poll = "!poll Where shall we meet? | Library | Town hall | closes in 2h"
    assert await bot.ask(poll, sender=CHRIS) == []
    deliver(bot.store)
    bot.on_discord("!ping")  # sent before the close, on the other platform, not handled yet
    bot.later(hours=2, minutes=1)
    await bot.tick()
    closed = poll_store.get(bot.db, 1)
    assert closed is not None and closed.state == "closed"


async def test_a_job_is_handed_the_platforms_at_home_on_its_own(bot: TwoPlatformBot) -> None:
    seen: list[tuple[str, str, tuple[str, str]]] = []

    async def look(job: Any) -> None:
        seen.append((job.ref, job.platform.name, job.platform.example_people))

    bot.registry.jobs["test.look"] = look
    with bot.store.write() as db:
        schedule(db, "test.look", "a", bot.clock.now(), platform="discord")
        schedule(db, "test.look", "b", bot.clock.now(), platform="matrix")
    assert await bot.tick() == 2
    assert seen == [
        ("a", "discord", ("<@1001>", "<@1002>")),
        ("b", "matrix", ("@sam:council.org", "@pat:council.org")),
    ]


async def test_the_team_hears_on_every_platform(tmp_path: Path) -> None:
    settings = '[safeguarding]\nphrases = ["hurt myself"]\nsignposting = "Call 111"\n'
    with make_bots(TwoPlatformBot, tmp_path) as make:
        bot = make(settings=settings)
        bot.on_discord("some days I want to hurt myself", channel=DM_CHANNEL, dm=True)
        await bot.run()
        alerts = [o for o in bot.outbox() if o.room_id == TEAM_ROOM]
        assert len(alerts) == 1 and "discord.test" in alerts[0].body
        assert len(bot.said_on_discord(TEAM_CHANNEL)) == 1
        (support,) = bot.said_on_discord(PAZ)  # in Paz's direct messages, once they open
        assert support == say("safeguarding.private_intro") + "\nCall 111"


async def test_feedback_is_reviewed_in_either_team_room(bot: TwoPlatformBot) -> None:
    bot.on_discord("!review", sender=KIM, channel=TEAM_CHANNEL)
    bot.on_discord("!review", sender=KIM, channel=CHANNEL)
    await bot.run()
    here, elsewhere = bot.said_on_discord(TEAM_CHANNEL), bot.said_on_discord(CHANNEL)
    assert here and here[0] != say("feedback.team_room_only")
    assert elsewhere == [say("feedback.team_room_only")]


# ----- the router ---------------------------------------------------------------


def test_each_id_goes_to_the_platform_that_owns_it(bot: TwoPlatformBot) -> None:
    router = bot.platforms
    assert router.owner(CHANNEL) is bot.tiny and router.owner(GROUP) is bot.adapter
    assert router.mention(KIM) == "<@555>" and router.mention(SAM) == SAM
    assert router.at("discord").name == "discord" and router.name == "matrix"
    assert router.at("discord").user_id == "discord:1"
    assert router.at("discord").owner(GROUP) is bot.adapter  # a home changes no owner
    with pytest.raises(NoPlatform):
        Platforms([bot.tiny]).owner(GROUP)


def test_a_typed_person_is_read_as_at_home_first(bot: TwoPlatformBot) -> None:
    assert bot.platforms.at("discord").person("<@42>") == "discord:42"
    assert bot.platforms.at("matrix").person("<@42>") == "discord:42"  # Matrix reads no <@..>
    assert bot.platforms.at("discord").person("@sam:council.test") == "@sam:council.test"
    assert bot.platforms.meant_as_person("<@x") and bot.platforms.meant_as_person("@x")


def test_what_waits_for_a_room_goes_to_the_platform_making_it(bot: TwoPlatformBot) -> None:
    router = bot.platforms.at("discord")
    with bot.store.write() as db:
        made = router.queue_create_room(db, "project:7", "Better buses", "About buses")
        router.at("matrix").queue_text(db, "project:7", "Welcome")  # the key, not a room yet
        router.queue_direct(db, PAZ, "Hello")  # opens Paz's direct messages first
        assert router.sent_event(db, made) is None
    assert [(a, r) for a, r, _ in bot.rows("discord")] == [
        ("create_room", "project:7"),
        ("send", "project:7"),
        ("create_dm", PAZ),
        ("send", PAZ),
    ]
    assert bot.rows("matrix") == []
    sent = send_all(bot.store, "discord")
    assert bot.platforms.sent_event(bot.db, made) == sent[made]  # asked of the sender


# ----- what waits, and when the bot is synced ----------------------------------------


async def test_events_and_jobs_of_a_platform_not_running_wait_for_it(
    bot: TwoPlatformBot,
) -> None:
    waiting = bot.on_discord("!ping")
    with bot.store.write() as db:
        schedule(db, "poll.close", "99", bot.clock.now(), platform="discord")
    matrix_only = Worker(bot.store, bot.dispatcher, bot.adapter)
    handled = bot.message("!ping")
    assert await matrix_only.run_batch() == 1
    assert bot.inbox_state(handled) == "done" and bot.inbox_state(waiting) == "pending"
    assert jobs.due(bot.db, bot.clock.now().timestamp() + 1, ["matrix"]) == []
    assert jobs.next_due(bot.db, ["matrix"]) is None
    assert await bot.run() == 1  # both platforms again: it is handled now
    assert bot.inbox_state(waiting) == "done"


async def test_synced_only_once_every_platform_has_synced() -> None:
    signals = Signals()
    matrix, discord = signals.part(), signals.part()
    assert matrix.received is signals.received and discord.scheduled is signals.scheduled
    waiting = asyncio.ensure_future(signals.all_synced())
    matrix.synced.set()
    await asyncio.sleep(0)
    assert not signals.synced.is_set() and not waiting.done()
    discord.synced.set()
    await asyncio.wait_for(waiting, 5)
    assert signals.synced.is_set()


async def test_each_sender_is_woken_and_none_takes_another_s_wake_up() -> None:
    signals = Signals()
    matrix, discord = signals.part(), signals.part()
    signals.to_send.set()  # the worker or the scheduler wrote to the outbox
    await woken(matrix.to_send)  # Matrix's sender wakes, and clears its own
    assert discord.to_send.is_set()  # Discord's is still to wake
    await woken(discord.to_send)
    matrix.to_send.set()  # a sender wakes itself (a room was made): only itself
    assert not discord.to_send.is_set()
    discord.received.set()  # what either receives wakes the one worker
    assert signals.received.is_set() and matrix.received.is_set()


# ----- config -------------------------------------------------------------------

MATRIX = """
[matrix]
homeserver = "https://matrix.council.test"
user_id = "@copro:council.test"
password = "a real secret"
"""
REST = """
[storage]
database = "copro.db"
data_dir = "data"
[people]
team = ["@alex:council.test", "discord:80351110224678912"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env=env or {})
    return info.value.problems


def test_matrix_only_discord_only_and_both(tmp_path: Path) -> None:
    matrix_only = load_config(write(tmp_path, MATRIX + REST), env={})
    assert matrix_only.matrix is not None and matrix_only.discord is None
    discord_only = load_config(write(tmp_path, DISCORD + REST), env={})
    assert discord_only.matrix is None and discord_only.discord is not None
    assert discord_only.discord.guild_id == 42 and discord_only.discord.team_channel == 200
    assert discord_only.discord.api_url == "https://discord.com/api/v10"
    assert discord_only.team_rooms() == {"discord": TEAM_CHANNEL}
    both = load_config(write(tmp_path, MATRIX + DISCORD + REST), env={})
    assert both.matrix is not None and both.discord is not None
    assert both.people.team == {"@alex:council.test", "discord:80351110224678912"}


def test_the_example_s_discord_section_loads_once_filled_in(tmp_path: Path) -> None:
    example = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()
    start, end = example.index("# [discord]"), example.index("[storage]")
    section = re.sub(r"(?m)^# (\[discord\]|\w+ = .*)$", r"\1", example[start:end])
    text = example[:start] + section + example[end:]
    assert "\n[discord]\n" in text and "\napi_url = " in text
    text = text.replace("example.org", "council.test").replace("CHANGE-ME", "s3cret")
    config = load_config(write(tmp_path, text), env={})
    assert config.discord is not None and config.discord.token == "s3cret"
    assert config.discord.guild_id == config.discord.team_channel == 123456789012345678
    assert config.discord.api_url == "https://discord.com/api/v10"


def test_the_discord_section_is_checked(tmp_path: Path) -> None:
    text = '[discord]\nguild_id = "the council"\nteam_channel = -3\napi_url = "discord.com"\n'
    assert problems(tmp_path, text + REST) == [
        "discord.token: missing; set discord.token or the COPRO_DISCORD_TOKEN environment variable",
        "discord.guild_id: must be a Discord ID, a whole number like 80351110224678912",
        "discord.api_url: must be a web address starting with https:// (or http://), "
        "like https://discord.com/api/v10",
        "discord.team_channel: must be a Discord ID, a whole number like 80351110224678912",
    ]
    text = '[discord]\ntoken = "x"\n'
    assert problems(tmp_path, text + REST) == ["discord.guild_id: missing"]
    text = DISCORD.replace("guild_id = 42", 'guild_id = "42"\nbogus = 1')
    assert problems(tmp_path, text + REST) == ["discord.bogus: unknown key"]


def test_the_token_may_come_from_the_environment(tmp_path: Path) -> None:
    text = DISCORD.replace(f'token = "{TOKEN}"\n', "") + REST
    config = load_config(write(tmp_path, text), env={DISCORD_TOKEN_ENV: "from-env"})
    assert config.discord is not None and config.discord.token == "from-env"
    assert "from-env" not in repr(config)
    assert problems(tmp_path, text, {DISCORD_TOKEN_ENV: "CHANGE-ME"}) == [
        "discord.token: still has the example value; put in your own (from COPRO_DISCORD_TOKEN)"
    ]


@pytest.mark.parametrize("entry", ["discord:", "discord:sam", "discord:12a", "<@123>", "123"])
def test_people_on_discord_are_written_by_their_id(tmp_path: Path, entry: str) -> None:
    found = problems(tmp_path, MATRIX + REST.replace('"@alex:council.test"', json.dumps(entry)))
    assert len(found) == 1 and found[0].startswith("people.team[0]: must be a full Matrix ID")
    assert "discord:80351110224678912" in found[0]


def test_neither_platform_asks_for_matrix_as_before(tmp_path: Path) -> None:
    found = problems(tmp_path, REST)
    assert found[:2] == ["matrix.homeserver: missing", "matrix.user_id: missing"]


def test_a_matrix_team_room_needs_matrix(tmp_path: Path) -> None:
    text = DISCORD + REST + '[rooms]\nteam_room = "!team:council.test"\n'
    assert problems(tmp_path, text) == [
        "rooms.team_room: is a Matrix room, but there is no [matrix] section"
    ]


@pytest.mark.parametrize("sections", [MATRIX, DISCORD, MATRIX + DISCORD])
def test_check_config_on_each_platform_never_shows_the_token(tmp_path: Path, sections: str) -> None:
    result = harness.copro("check-config", "-c", str(write(tmp_path, sections + REST)))
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "looks good" in out
    assert ("sign in as @copro:council.test" in out) == ("[matrix]" in sections)
    assert ("serve the server 42" in out) == ("[discord]" in sections)
    assert TOKEN not in out and "a real secret" not in out
    assert ("encrypted" in out) == ("[matrix]" in sections)


def test_warnings_about_matrix_are_for_matrix_only(tmp_path: Path) -> None:
    rooms = '[rooms]\nencrypt_new_rooms = false\naccept_direct_chats_from = "anyone"\n'
    on_discord = config_warnings(load_config(write(tmp_path, DISCORD + REST + rooms), env={}))
    assert not [w for w in on_discord if w.startswith("rooms.")]
    on_both = config_warnings(load_config(write(tmp_path, MATRIX + DISCORD + REST + rooms), env={}))
    assert {w.split(":")[0] for w in on_both} >= {
        "rooms.encrypt_new_rooms",
        "rooms.accept_direct_chats_from",
    }
    no_team_room = DISCORD.replace("team_channel = 200\n", "") + REST
    (unset,) = [w for w in config_warnings(load_config(write(tmp_path, no_team_room), env={}))
                if "nowhere to go" in w]  # fmt: skip
    assert unset.startswith("discord.team_channel: not set")


def test_check_config_warns_of_a_token_sent_unencrypted(tmp_path: Path) -> None:
    text = DISCORD + 'api_url = "http://discord.council.test/api"\n' + REST
    result = harness.copro("check-config", "-c", str(write(tmp_path, text)))
    assert "discord.api_url: uses http://" in result.stdout
    local = DISCORD + 'api_url = "http://127.0.0.1:5000/api/v10/"\n' + REST
    config = load_config(write(tmp_path, local), env={})
    assert config.discord is not None and config.discord.api_url == "http://127.0.0.1:5000/api/v10"


def test_the_token_never_reaches_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = load_config(write(tmp_path, MATRIX + DISCORD + REST), env={})
    redact = RedactSecrets()
    redact.add(config_secrets(config))
    record = logging.LogRecord("discord", logging.INFO, __file__, 1, "sent %s", (TOKEN,), None)
    assert redact.filter(record) and record.getMessage() == "sent [hidden]"
    assert "a real secret" in config_secrets(config)


def test_short_lived_tokens_in_url_paths_never_reach_the_log() -> None:
    """discord.py logs the URLs of answers to presses and slash commands at DEBUG;
    the token in them lets anyone answer as the bot for 15 minutes."""
    redact = RedactSecrets()
    urls = (
        "POST https://discord.com/api/v10/interactions/1234/aW50ZXJhY3Rpb24.x-y_z/callback",
        "PATCH https://discord.com/api/v10/webhooks/5678/aW50ZXJhY3Rpb24.x-y_z/messages/@original",
    )
    for url in urls:
        record = logging.LogRecord(
            "discord.http", logging.DEBUG, __file__, 1, "%s done", (url,), None
        )
        assert redact.filter(record)
        assert "aW50ZXJhY3Rpb24" not in record.getMessage()
        assert "/[hidden]/" in record.getMessage()
    plain = logging.LogRecord("discord", logging.INFO, __file__, 1, "channel %s", ("1234",), None)
    assert redact.filter(plain) and plain.getMessage() == "channel 1234"


def test_a_matrix_only_bot_never_loads_discord(tmp_path: Path) -> None:
    path = write(tmp_path, MATRIX + REST)
    script = (
        "import sys\n"
        "from bot.adapters import build_adapters\n"
        "from bot.config import load_config\n"
        "from bot.signals import Signals\n"
        "from storage.db import Store\n"
        f"config = load_config({str(path)!r}, env={{}})\n"
        f"store = Store.open({str(tmp_path / 'x.db')!r})\n"
        "adapters = build_adapters(config, store, Signals())\n"
        "print([a.name for a in adapters], 'discord' in sys.modules,\n"
        "      'bot.discord' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["['matrix']", "False", "False"]


def test_build_adapters_gives_each_its_own_synced(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MATRIX + REST), env={})
    store = Store.open(tmp_path / "x.db")
    try:
        signals = Signals()
        (matrix,) = build_adapters(config, store, signals)
        assert matrix.name == "matrix" and matrix.owns(GROUP) and not matrix.owns(CHANNEL)
        assert isinstance(matrix, MatrixAdapter)
        assert matrix.signals.received is signals.received
        assert matrix.signals.synced is not signals.synced  # set when Matrix has synced
    finally:
        store.close()


# ----- storage ------------------------------------------------------------------


def test_positions_are_kept_per_platform(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "copro.db")
    try:
        with store.write() as db:
            assert inbox.get_position(db, "discord", "channel:100") is None
            inbox.set_position(db, "discord", "channel:100", "1234")
            inbox.set_position(db, "discord", "channel:100", "1240")
            inbox.set_position(db, "other", "channel:100", "7")
        assert inbox.get_position(store.db, "discord", "channel:100") == "1240"
        assert inbox.get_position(store.db, "other", "channel:100") == "7"
    finally:
        store.close()


def test_a_platform_s_times_are_bounded_by_its_own_syncs(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "copro.db")
    try:
        came = LocalBot.clock_start
        with store.write() as db:
            inbox.set_sync_token(db, "s1", came=came)  # Matrix synced just now
            event = {"event_id": "discord:1", "sender": KIM, "type": "MESSAGE_CREATE"}
            claimed = int((came - timedelta(minutes=5)).timestamp() * 1000)
            inbox.add_events(
                db, CHANNEL, [{**event, "origin_server_ts": claimed}], now=came,
                platform="discord",
            )  # fmt: skip
        stored = inbox.get(store.db, "discord:1")
        assert stored is not None and stored.origin_server_ts == claimed
        assert stored.platform == "discord"
    finally:
        store.close()


MIGRATION = "discord_platform_columns_and_positions"


def test_an_older_database_is_all_matrix(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before=MIGRATION)
    with old.conn:
        old.execute(
            "INSERT INTO inbox (event_id, room_id, sender, type, origin_server_ts, event, "
            "state, received_at) VALUES ('$a', ?, ?, 'm.room.message', 0, '{}', 'pending', '')",
            [GROUP, SAM],
        )
        old.execute(
            "INSERT INTO outbox (txn_id, action, room_id, state, created_at) "
            "VALUES ('copro-1', 'send', ?, 'pending', '')",
            [GROUP],
        )
        old.execute(
            "INSERT INTO jobs (kind, ref, due_at, state) VALUES ('poll.close', '1', 0, 'pending')"
        )
    old.close()
    store = Store.open(path)
    try:
        for table in ("inbox", "outbox", "jobs"):
            assert store.db.execute(f"SELECT platform FROM {table}").fetchall() == [("matrix",)]
        assert [i.room_id for i in outbox.heads(store.db, platform="matrix")] == [GROUP]
        assert outbox.heads(store.db, platform="discord") == []
        assert [e.platform for e in inbox.pending(store.db)] == ["matrix"]
        assert [j.platform for j in jobs.due(store.db, 1, ["matrix"])] == ["matrix"]
    finally:
        store.close()
