"""The fake Discord against the real discord.py, over real sockets on loopback.

Each test starts a fake (a guild with two channels, two people, one bot) and, mostly, a
real ``discord.Client`` pointed at it the way the adapter points it at any Discord (the
REST base and the gateway address). Waits are on events, on either side.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket

from fakediscord import FakeDiscord, FakeError, Person, User
from fakediscord.process import FakeDiscordProcess
from fakediscord.shapes import problems, types

MESSAGES = "POST /channels/{channel_id}/messages"
FOLLOW_UP = "POST /webhooks/{application_id}/{interaction_token}"


class Seen:
    """What a client was told, by event name, with a wait that wakes on each new one."""

    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = defaultdict(list)
        self._new = asyncio.Event()

    def add(self, name: str, value: Any) -> None:
        self.events[name].append(value)
        self._new.set()
        self._new = asyncio.Event()

    async def wait(self, name: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        async with asyncio.timeout(timeout):
            while len(self.events[name]) < count:
                await self._new.wait()
        return self.events[name]


@dataclass
class Setup:
    fake: FakeDiscord
    bot: User
    guild: int
    general: int
    other: int
    alex: Person
    sam: Person


@pytest.fixture
async def setup(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Setup]:
    async with FakeDiscord() as fake:
        # what the adapter does with [discord] api_url and the URL from GET /gateway/bot
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        bot = fake.add_bot("copro-bot")
        guild = fake.add_guild("Council")
        general, other = guild.add_channel("general"), guild.add_channel("other")
        alex, sam = guild.add_person("alex"), guild.add_person("sam")
        yield Setup(fake, bot, guild.id, general, other, alex, sam)


def intents(content: bool = True) -> discord.Intents:
    chosen = discord.Intents.default()
    chosen.message_content = content
    chosen.members = True
    return chosen


@dataclass
class Running:
    client: discord.Client
    seen: Seen
    task: asyncio.Task[None]

    def channel(self, channel_id: int) -> Any:
        return self.client.get_channel(channel_id)


@pytest.fixture
async def connect(setup: Setup) -> AsyncIterator[Any]:
    started: list[Running] = []

    async def start(bot: User | None = None, **options: Any) -> Running:
        # on_ready comes this long after the last GUILD_CREATE (2 s by default); the fake
        # sends them all at once after READY
        options.setdefault("guild_ready_timeout", 0.5)
        client = discord.Client(intents=options.pop("intents", intents()), **options)
        seen = Seen()
        for name in (
            "message",
            "raw_message_edit",
            "raw_message_delete",
            "raw_reaction_add",
            "raw_reaction_remove",
            "thread_create",
            "guild_channel_create",
            "member_join",
            "resumed",
            "connect",
            "raw_poll_vote_add",
            "raw_poll_vote_remove",
            "scheduled_event_create",
            "scheduled_event_user_add",
            "scheduled_event_user_remove",
        ):
            client.event(_recorder(seen, name))
        task = asyncio.create_task(client.start((bot or setup.bot).token))
        running = Running(client, seen, task)
        started.append(running)
        await asyncio.wait_for(client.wait_until_ready(), 10)
        return running

    yield start
    for running in started:
        await running.client.close()
        await asyncio.gather(running.task, return_exceptions=True)


def _recorder(seen: Seen, name: str) -> Any:
    async def record(*args: Any) -> None:
        seen.add(name, args[0] if len(args) == 1 else args)

    record.__name__ = f"on_{name}"
    return record


# -- logging in ------------------------------------------------------------------------


async def test_login_and_ready_with_the_guild(setup: Setup, connect: Any) -> None:
    running = await connect()
    client, fake = running.client, setup.fake
    assert client.user.id == setup.bot.id and client.user.bot
    guild = client.get_guild(setup.guild)
    assert guild is not None and guild.name == "Council"
    assert [c.name for c in guild.text_channels] == ["general", "other"]
    assert guild.chunked and {m.name for m in guild.members} >= {"alex", "sam", "copro-bot"}
    routes = [c.route for c in fake.calls]
    assert routes[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    [login] = fake.identifies()
    assert login.intents == intents().value and login.path == "/gateway"
    _, _, limit = await client.http.get_bot_gateway()
    assert limit["remaining"] == limit["total"] - 1  # each IDENTIFY uses one up
    assert str(client.ws.gateway) == fake.gateway.resume_url  # READY's resume_gateway_url


async def test_rest_answers_as_discord_does(setup: Setup) -> None:
    fake, token = setup.fake, setup.bot.token
    async with aiohttp.ClientSession() as http:
        url = f"{fake.api_url}/gateway/bot"
        async with http.get(url, headers={"Authorization": f"Bot {token}"}) as response:
            assert response.headers["Content-Type"] == "application/json"  # no charset
            assert response.headers["X-RateLimit-Remaining"].isdigit()
            body = await response.json()
        assert body["url"] == fake.gateway_url
        assert body["session_start_limit"]["remaining"] == 1000
        async with http.get(url, headers={"Authorization": "Bot wrong"}) as response:
            assert response.status == 401


async def test_a_wrong_token_cannot_log_in(setup: Setup) -> None:
    client = discord.Client(intents=intents())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-a-token")
    await client.close()


async def test_intents_the_application_lacks_are_refused(setup: Setup) -> None:
    plain = setup.fake.add_bot("plain-bot", privileged_intents=0)
    client = discord.Client(intents=intents())
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(client.start(plain.token), 10)
    await client.close()


# -- messages ---------------------------------------------------------------------------


async def test_the_client_sees_what_people_say(setup: Setup, connect: Any) -> None:
    running = await connect()
    sent = setup.alex.send(setup.general, "!ping")
    [message] = await running.seen.wait("message")
    assert (message.id, message.content) == (sent, "!ping")
    assert message.author.id == setup.alex.id and message.channel.id == setup.general
    assert message.guild.id == setup.guild and isinstance(message.author, discord.Member)


async def test_without_the_content_intent_only_dms_and_mentions_show(
    setup: Setup, connect: Any
) -> None:
    running = await connect(intents=intents(content=False))
    setup.alex.send(setup.general, "private words")
    setup.alex.send(setup.general, f"<@{setup.bot.id}> hello")
    setup.alex.dm("in a DM")
    seen = await running.seen.wait("message", 3)
    assert [m.content for m in seen] == ["", f"<@{setup.bot.id}> hello", "in a DM"]


async def test_sends_reach_the_fake_and_a_nonce_posts_once(setup: Setup, connect: Any) -> None:
    running = await connect()
    channel = running.channel(setup.general)
    first = await channel.send("Hello", nonce="outbox-1")
    again = await channel.send("Hello", nonce="outbox-1")  # a retry after a crash
    other = await channel.send("Something else")
    assert again.id == first.id != other.id
    posted = setup.fake.posted(setup.general)
    assert [(m.id, m.content) for m in posted] == [
        (first.id, "Hello"),
        (other.id, "Something else"),
    ]
    assert setup.fake.calls_to(MESSAGES)[0].json["enforce_nonce"] is True
    # the bot's own message comes back over the gateway, as on Discord
    assert {m.id for m in await running.seen.wait("message", 2)} == {first.id, other.id}


async def test_a_network_delay_holds_each_frame_and_rest_call_on_its_way(
    setup: Setup, connect: Any
) -> None:
    """What the Discord benchmark's second latency figure stands on: half the round trip
    for a gateway frame, for a REST request and for its answer; frames keep their order."""
    running = await connect()
    setup.fake.gateway.network.one_way = 0.05  # a 100 ms round trip
    loop = asyncio.get_running_loop()
    start = loop.time()
    said = [setup.alex.send(setup.general, f"far away {n}") for n in range(3)]
    seen = await running.seen.wait("message", 3)
    assert loop.time() - start >= 0.05
    assert [m.id for m in seen] == said
    start = loop.time()
    await running.channel(setup.general).send("and back")
    assert loop.time() - start >= 0.1


async def test_a_lost_response_is_retried_with_the_same_nonce(setup: Setup, connect: Any) -> None:
    running = await connect()
    setup.fake.fail_next(MESSAGES, 502, after=True)  # posted, but the answer never came
    message = await running.channel(setup.general).send("Once only")
    assert [c.status for c in setup.fake.calls_to(MESSAGES)] == [502, 200]
    assert [m.id for m in setup.fake.posted()] == [message.id]


async def test_a_queued_429_is_waited_out_and_retried(setup: Setup, connect: Any) -> None:
    running = await connect()
    setup.fake.fail_next(MESSAGES, 429, retry_after=0.2)
    await running.channel(setup.general).send("After the wait")
    first, second = setup.fake.calls_to(MESSAGES)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.2
    setup.fake.fail_next(MESSAGES, 429, via=False)  # no Via: Cloudflare's ban, not retried
    with pytest.raises(discord.HTTPException):
        await running.channel(setup.general).send("Refused")
    assert len(setup.fake.posted()) == 1


async def test_rate_limit_headers_keep_the_client_under_the_limit(
    setup: Setup, connect: Any
) -> None:
    setup.fake.rest.rate_limits[MESSAGES] = (2, 0.3)
    running = await connect()
    for n in range(5):
        await running.channel(setup.general).send(f"Message {n}")
    assert {c.status for c in setup.fake.calls_to(MESSAGES)} == {200}


async def test_edits_and_deletions(setup: Setup, connect: Any) -> None:
    running = await connect()
    said = setup.alex.send(setup.general, "I thnik so")
    setup.alex.edit(said, "I think so")
    [edit] = await running.seen.wait("raw_message_edit")
    assert (edit.message_id, edit.data["content"]) == (said, "I think so")
    assert edit.data["edited_timestamp"] is not None
    setup.alex.delete(said)
    [deleted] = await running.seen.wait("raw_message_delete")
    assert (deleted.message_id, deleted.channel_id) == (said, setup.general)
    mine = await running.channel(setup.general).send("Draft")
    await mine.edit(content="Final")
    await mine.delete()
    [posted] = setup.fake.posted(setup.general)
    assert (posted.content, posted.deleted, posted.edited_ms is not None) == ("Final", True, True)


async def test_reactions_both_ways(setup: Setup, connect: Any) -> None:
    running = await connect()
    said = setup.alex.send(setup.general, "Workshop on Friday")
    setup.sam.react(said, "👍")
    setup.sam.unreact(said, "👍")
    added = (await running.seen.wait("raw_reaction_add"))[0]
    removed = (await running.seen.wait("raw_reaction_remove"))[0]
    for event in (added, removed):
        assert (event.message_id, event.user_id, str(event.emoji)) == (said, setup.sam.id, "👍")
    message = await running.channel(setup.general).fetch_message(said)
    await message.add_reaction("✅")
    assert setup.fake.world.messages[said].reactions == {"✅": [setup.bot.id]}
    await message.remove_reaction("✅", running.client.user)
    assert setup.fake.world.messages[said].reactions == {}


async def test_direct_messages(setup: Setup, connect: Any) -> None:
    running = await connect()
    setup.alex.dm("Can I give feedback?")
    [message] = await running.seen.wait("message")
    assert isinstance(message.channel, discord.DMChannel) and message.guild is None
    await message.channel.send("Yes, please")
    user = await running.client.fetch_user(setup.sam.id)
    await user.send("A question for you")  # opens a DM: POST /users/@me/channels
    assert setup.fake.calls_to("POST /users/@me/channels")
    dms = {setup.alex.dm_channel(), setup.sam.dm_channel()}
    assert {m.channel_id for m in setup.fake.posted()} == dms


async def test_threads(setup: Setup, connect: Any) -> None:
    running = await connect()
    question = await running.channel(setup.general).send("What would make the bus better?")
    thread = await question.create_thread(name="Buses")
    assert thread.id == question.id and thread.parent_id == setup.general
    answer = setup.alex.send(thread.id, "More of them")
    seen = await running.seen.wait("message", 2)
    assert seen[-1].id == answer and isinstance(seen[-1].channel, discord.Thread)
    theirs = setup.sam.start_thread(setup.alex.send(setup.other, "An idea"), "Idea")
    created = (await running.seen.wait("thread_create", 2))[1]
    assert created.id == theirs and created.owner_id == setup.sam.id
    private = await running.channel(setup.other).create_thread(name="Just us")
    assert private.type == discord.ChannelType.private_thread and private.parent_id == setup.other


async def test_files_are_uploaded(setup: Setup, connect: Any) -> None:
    running = await connect()
    file = discord.File(io.BytesIO(b"name,words\n"), filename="feedback.csv")
    message = await running.channel(setup.general).send("The export", file=file)
    [attachment] = message.attachments
    assert attachment.filename == "feedback.csv" and await attachment.read() == b"name,words\n"


async def test_back_fill_reads_history_in_pages(setup: Setup, connect: Any) -> None:
    ids = [setup.alex.send(setup.general, f"Message {n}") for n in range(130)]
    running = await connect()
    channel = running.channel(setup.general)
    after = [m.id async for m in channel.history(after=discord.Object(ids[9]), limit=None)]
    assert after == ids[10:]  # oldest first when reading after a point
    before = [m.id async for m in channel.history(before=discord.Object(ids[20]), limit=15)]
    assert before == ids[5:20][::-1]
    pages = [c for c in setup.fake.calls if c.route == "GET /channels/{channel_id}/messages"]
    assert len(pages) == 3 and all(int(c.query["limit"]) <= 100 for c in pages)


async def test_new_channels_and_members_arrive(setup: Setup, connect: Any) -> None:
    running = await connect()
    guild = setup.fake.guild(setup.guild)
    new = guild.add_channel("projects")
    [channel] = await running.seen.wait("guild_channel_create")
    assert (channel.id, channel.name) == (new, "projects")
    jo = guild.add_person("jo")
    [member] = await running.seen.wait("member_join")
    assert member.id == jo.id


async def test_native_polls_votes_voters_and_the_close(setup: Setup, connect: Any) -> None:
    running = await connect()
    poll = discord.Poll(question="Which day suits you?", duration=timedelta(hours=1))
    for day in ("Monday", "Tuesday", "Friday"):
        poll.add_answer(text=day)
    message = await running.channel(setup.general).send(poll=poll)
    setup.alex.vote(message.id, 1)
    setup.alex.vote(message.id, 3)  # a changed vote: removed, then added
    setup.sam.vote(message.id, 3)
    added = await running.seen.wait("raw_poll_vote_add", 3)
    removed = await running.seen.wait("raw_poll_vote_remove")
    assert [(e.user_id, e.answer_id) for e in added] == [
        (setup.alex.id, 1),
        (setup.alex.id, 3),
        (setup.sam.id, 3),
    ]
    assert [(e.user_id, e.answer_id) for e in removed] == [(setup.alex.id, 1)]
    fetched = await running.channel(setup.general).fetch_message(message.id)
    voters = [u.id async for u in fetched.poll.get_answer(3).voters()]
    assert sorted(voters) == sorted([setup.alex.id, setup.sam.id])
    ended = await fetched.end_poll()
    assert ended.poll.is_finalised() and ended.poll.get_answer(3).vote_count == 2
    with pytest.raises(FakeError):
        setup.sam.vote(message.id, 1)  # too late
    [result] = [m for m in setup.fake.messages(setup.general) if m.system]
    assert result.reply_to == message.id  # Discord's own message with the results
    assert [m.id for m in setup.fake.posted()] == [message.id]
    seen = await running.seen.wait("message", 2)
    assert seen[-1].type == discord.MessageType.poll_result


async def test_scheduled_events_and_who_is_interested(setup: Setup, connect: Any) -> None:
    running = await connect()
    guild = running.client.get_guild(setup.guild)
    start = discord.utils.utcnow() + timedelta(days=2)
    event = await guild.create_scheduled_event(
        name="Workshop: the buses",
        start_time=start,
        end_time=start + timedelta(hours=2),
        entity_type=discord.EntityType.external,
        location="Town Hall",
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    await running.seen.wait("scheduled_event_create")
    setup.alex.interested(event.id)
    setup.sam.interested(event.id)
    setup.sam.interested(event.id, yes=False)
    added = await running.seen.wait("scheduled_event_user_add", 2)
    [(_, gone)] = await running.seen.wait("scheduled_event_user_remove")
    assert [user.id for _, user in added] == [setup.alex.id, setup.sam.id]
    assert gone.id == setup.sam.id
    assert [u.id async for u in event.users()] == [setup.alex.id]
    await (await event.start()).end()
    assert setup.fake.world.scheduled.all[event.id].status == 3  # completed
    with pytest.raises(discord.HTTPException):  # Discord refuses a start in the past
        await guild.create_scheduled_event(
            name="Too late",
            start_time=start - timedelta(days=3),
            end_time=start,
            entity_type=discord.EntityType.external,
            location="Town Hall",
            privacy_level=discord.PrivacyLevel.guild_only,
        )


class Consent(discord.ui.View):
    """Buttons as the bot would send them: text labels; "No" asks for words in a modal."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Yes", custom_id="consent:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.send_message("Thank you", ephemeral=True)

    @discord.ui.button(label="No", custom_id="consent:no")
    async def no(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(Words(custom_id="feedback"))


class Words(discord.ui.Modal, title="In your own words"):
    words: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Tell us", custom_id="words")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.followup.send(f"Saved: {self.words.value}")


async def test_buttons_modals_and_ephemeral_answers(setup: Setup, connect: Any) -> None:
    running = await connect()
    fake = setup.fake
    asked = await running.channel(setup.general).send("May we keep this?", view=Consent())
    pressed = setup.alex.press(asked.id, "consent:yes")
    [thanks] = (await fake.wait_posted(2))[1:]
    assert (thanks.content, thanks.ephemeral_for, thanks.interaction_id) == (
        "Thank you",
        setup.alex.id,
        pressed,
    )
    assert fake.interaction(pressed).answered_at - fake.interaction(pressed).at < 3
    assert thanks.id not in [m.id for m in fake.messages(setup.general)]  # alex's eyes only
    setup.sam.press(asked.id, "consent:no")
    await fake.wait_for(lambda: any(i.modal for i in fake.world.interactions.all.values()))
    setup.sam.submit("feedback", words="Too many forms")
    saved = (await fake.wait_posted(3))[-1]
    assert saved.content == "Saved: Too many forms" and saved.ephemeral_for is None
    with pytest.raises(ValueError):
        setup.alex.press(asked.id, "consent:maybe")


async def test_slash_commands_are_registered_then_run(setup: Setup, connect: Any) -> None:
    running = await connect()
    tree = discord.app_commands.CommandTree(running.client)

    @tree.command(name="going", description="Say you are going to a workshop")
    async def going(interaction: discord.Interaction, number: int) -> None:
        await interaction.response.send_message(f"You are going to workshop {number}")

    guild = discord.Object(setup.guild)
    tree.copy_global_to(guild=guild)
    [registered] = await tree.sync(guild=guild)
    assert registered.name == "going"
    with pytest.raises(ValueError):
        setup.alex.command(setup.general, "ping")  # never registered
    ran = setup.alex.command(setup.general, "going", number=2)
    [answer] = await setup.fake.wait_posted(1, setup.general)
    assert answer.content == "You are going to workshop 2" and answer.interaction_id == ran
    assert answer.type == 20  # CHAT_INPUT_COMMAND


# -- the gateway's connection ------------------------------------------------------------


async def test_a_dropped_connection_resumes_and_replays(setup: Setup, connect: Any) -> None:
    running = await connect()
    fake = setup.fake
    await fake.drop()  # as a network failure
    missed = [setup.alex.send(setup.general, f"While away {n}") for n in range(3)]
    await running.seen.wait("resumed")
    seen = await running.seen.wait("message", 3)
    assert [m.id for m in seen] == missed
    [resume] = fake.resumes()
    assert resume.path == "/resume" and len(fake.identifies()) == 1
    fake.request_reconnect()  # Discord's op 7: come back and resume
    await running.seen.wait("resumed", 2)
    setup.alex.send(setup.general, "Back again")
    assert (await running.seen.wait("message", 4))[-1].content == "Back again"
    assert len(fake.identifies()) == 1


async def test_an_invalid_session_means_a_fresh_identify(setup: Setup, connect: Any) -> None:
    running = await connect()
    fake = setup.fake
    fake.invalidate_session()
    gap = setup.alex.send(setup.general, "Said while the bot had no session")
    await fake.wait_for(lambda: len(fake.identifies()) == 2, 15, "a second IDENTIFY")
    await fake.wait_connected()
    after = setup.alex.send(setup.general, "Said after")
    seen = await running.seen.wait("message")
    assert [m.id for m in seen] == [after]  # nothing replayed: back-fill is the bot's job
    history = [m.id async for m in running.channel(setup.general).history(limit=5)]
    assert history == [after, gap]
    assert not fake.resumes()


async def test_a_client_that_stops_heartbeating_is_closed_and_its_session_expires() -> None:
    """Raw websocket frames, as a frozen bot would (not) send them."""
    async with FakeDiscord(heartbeat_interval=0.2, session_ttl=1.0) as fake:
        bot, guild = fake.add_bot(), fake.add_guild()
        general, alex = guild.add_channel("general"), guild.add_person("alex")
        url = f"{fake.gateway_url}?v=10&encoding=json"
        identify = {"token": bot.token, "intents": 513, "properties": {"os": "linux"}}
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url) as ws:
                assert (await ws.receive_json())["op"] == 10
                await ws.send_json({"op": 1, "d": None})  # before IDENTIFY: allowed
                assert (await ws.receive_json())["op"] == 11
                await ws.send_json({"op": 2, "d": identify})
                ready = await ws.receive_json()
                assert (ready["t"], ready["s"]) == ("READY", 1)
                assert (await ws.receive_json())["t"] == "GUILD_CREATE"
                closed = await ws.receive()  # no more heartbeats: Discord closes the socket
                assert (closed.type, ws.close_code) == (aiohttp.WSMsgType.CLOSE, 4009)
            session = ready["d"]["session_id"]
            said = alex.send(general, "While frozen")  # the session keeps it
            async with http.ws_connect(ready["d"]["resume_gateway_url"] + "?v=10") as ws:
                await ws.receive_json()
                await ws.send_json(
                    {"op": 6, "d": {"token": bot.token, "session_id": session, "seq": 2}}
                )
                replayed = await ws.receive_json()
                assert (replayed["t"], replayed["d"]["id"]) == ("MESSAGE_CREATE", str(said))
                assert (await ws.receive_json())["t"] == "RESUMED"
                await ws.close()
            await fake.wait_for(lambda: not fake.gateway.live_sessions(), 5, "the drop")
            fake.gateway.session_ttl = 0.0  # as if the bot was gone for minutes
            async with http.ws_connect(url) as ws:
                await ws.receive_json()
                await ws.send_json(
                    {"op": 6, "d": {"token": bot.token, "session_id": session, "seq": 4}}
                )
                assert await ws.receive_json() == {"op": 9, "d": False, "s": None, "t": None}
            async with http.ws_connect(url) as ws:
                await ws.receive_json()
                await ws.send_json({"op": 2, "d": {**identify, "token": "wrong"}})
                await ws.receive()
                assert ws.close_code == 4004
        assert len(fake.identifies()) == 1 and len(fake.resumes()) == 1


# -- payload shapes ----------------------------------------------------------------------

GATEWAY_SHAPES = {
    "READY": ("gateway", "ReadyEvent"),
    "GUILD_CREATE": ("guild", "Guild"),
    "GUILD_MEMBERS_CHUNK": ("gateway", "GuildMembersChunkEvent"),
    "GUILD_MEMBER_ADD": ("gateway", "GuildMemberAddEvent"),
    "CHANNEL_CREATE": ("channel", "TextChannel"),
    "MESSAGE_CREATE": ("message", "Message"),
    "MESSAGE_UPDATE": ("message", "Message"),
    "MESSAGE_DELETE": ("gateway", "MessageDeleteEvent"),
    "MESSAGE_REACTION_ADD": ("gateway", "MessageReactionAddEvent"),
    "MESSAGE_REACTION_REMOVE": ("gateway", "MessageReactionRemoveEvent"),
    "THREAD_CREATE": ("gateway", "ThreadCreateEvent"),
    "MESSAGE_POLL_VOTE_ADD": ("gateway", "PollVoteActionEvent"),
    "MESSAGE_POLL_VOTE_REMOVE": ("gateway", "PollVoteActionEvent"),
    "INTERACTION_CREATE": ("interactions", "Interaction"),
    "GUILD_SCHEDULED_EVENT_CREATE": ("scheduled_event", "GuildScheduledEvent"),
    "GUILD_SCHEDULED_EVENT_USER_ADD": ("gateway", "_GuildScheduledEventUsersEvent"),
}
REST_SHAPES = {
    "GET /users/@me": ("user", "User"),
    "GET /oauth2/applications/@me": ("appinfo", "AppInfo"),
    "GET /gateway/bot": ("gateway", "GatewayBot"),
    "GET /users/{user_id}": ("user", "User"),
    "POST /users/@me/channels": ("channel", "DMChannel"),
    MESSAGES: ("message", "Message"),
    "GET /channels/{channel_id}/messages/{message_id}": ("message", "Message"),
    "PATCH /channels/{channel_id}/messages/{message_id}": ("message", "Message"),
    "POST /channels/{channel_id}/messages/{message_id}/threads": ("threads", "Thread"),
    "GET /guilds/{guild_id}": ("guild", "Guild"),
    "GET /guilds/{guild_id}/members/{user_id}": ("member", "MemberWithUser"),
    "GET /channels/{channel_id}/polls/{message_id}/answers/{answer_id}": (
        "poll",
        "PollAnswerVoters",
    ),
    "POST /channels/{channel_id}/polls/{message_id}/expire": ("message", "Message"),
    "GET /channels/{channel_id}/messages": ("message", "Message"),  # each of the list
    "POST /interactions/{interaction_id}/{interaction_token}/callback": (
        "interactions",
        "InteractionCallback",
    ),
    FOLLOW_UP: ("message", "Message"),
    "POST /guilds/{guild_id}/scheduled-events": ("scheduled_event", "GuildScheduledEvent"),
    "GET /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users": (
        "scheduled_event",
        "ScheduledEventUser",
    ),
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": (
        "command",
        "ApplicationCommand",
    ),
}
# Where discord.py's types ask for more than Discord sends: channels in GUILD_CREATE carry
# no guild_id, and a DM channel has no name.
KNOWN_DIFFERENCES = re.compile(
    r"GUILD_CREATE\.channels\[\d+\]\.guild_id: missing|POST /users/@me/channels\.name: missing"
)


async def test_every_payload_has_discord_py_s_shape(setup: Setup, connect: Any) -> None:
    """Every gateway event and REST answer of a busy session, against discord.py's types."""
    running = await connect()
    fake, client = setup.fake, running.client
    said = setup.alex.send(setup.general, "Hello")
    setup.sam.reply(said, f"Hello <@{setup.alex.id}>")
    setup.alex.edit(said, "Hello all")
    setup.sam.react(said, "👍")
    setup.sam.unreact(said, "👍")
    setup.alex.dm("Hi")
    setup.sam.start_thread(said, "Chat")
    fake.guild(setup.guild).add_channel("new")
    fake.guild(setup.guild).add_person("jo")
    general = running.channel(setup.general)
    reply = await general.send("Reply", reference=general.get_partial_message(said))
    await reply.edit(content="Edited")
    await (await running.channel(setup.other).send("Ask")).create_thread(name="Asked")
    await client.fetch_user(setup.alex.id)
    await (await client.fetch_user(setup.sam.id)).create_dm()
    await client.fetch_guild(setup.guild)
    await client.get_guild(setup.guild).fetch_member(setup.sam.id)
    await running.channel(setup.general).fetch_message(said)
    await reply.delete()
    poll = discord.Poll(question="Which day?", duration=timedelta(hours=1))
    poll.add_answer(text="Monday")
    asked = await running.channel(setup.general).send(poll=poll)
    setup.alex.vote(asked.id, 1)
    setup.alex.vote(asked.id)
    setup.sam.vote(asked.id, 1)
    [_ async for _ in asked.poll.get_answer(1).voters()]
    await asked.end_poll()
    [_ async for _ in general.history(limit=3)]
    tree = discord.app_commands.CommandTree(client)

    @tree.command(name="ping", description="Check the bot is there")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Pong")

    tree.copy_global_to(guild=discord.Object(setup.guild))
    await tree.sync(guild=discord.Object(setup.guild))
    setup.sam.command(setup.general, "ping")
    consent = await general.send("May we keep this?", view=Consent())
    setup.alex.press(consent.id, "consent:yes")
    setup.sam.press(consent.id, "consent:no")
    await fake.wait_for(lambda: any(i.modal for i in fake.world.interactions.all.values()))
    setup.sam.submit("feedback", words="Fine")
    await fake.wait_for(lambda: len(fake.calls_to(FOLLOW_UP)) == 1, 10, "the follow-up")
    start = discord.utils.utcnow() + timedelta(days=1)
    event = await client.get_guild(setup.guild).create_scheduled_event(
        name="Workshop",
        start_time=start,
        end_time=start + timedelta(hours=1),
        entity_type=discord.EntityType.external,
        location="Library",
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    setup.alex.interested(event.id)
    [_ async for _ in event.users()]
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {setup.bot.token}"}
        async with http.get(f"{fake.api_url}/gateway/bot", headers=headers) as response:
            assert response.status == 200
    await fake.wait_for(lambda: _events(fake) >= set(GATEWAY_SHAPES), 10, "every event kind")
    found = []
    for session in fake.gateway.sessions.values():
        for _, text in session.log:
            frame = json.loads(text)
            if frame["t"] in GATEWAY_SHAPES:
                module, name = GATEWAY_SHAPES[frame["t"]]
                found += problems(frame["d"], getattr(types(module), name), frame["t"])
    for call in fake.calls:
        if call.route in REST_SHAPES and call.status == 200:
            module, name = REST_SHAPES[call.route]
            answers = call.response if isinstance(call.response, list) else [call.response]
            for answer in answers:
                found += problems(answer, getattr(types(module), name), call.route)
    assert {c.route for c in fake.calls} >= set(REST_SHAPES)
    found = [p for p in found if not KNOWN_DIFFERENCES.fullmatch(p)]
    assert not found, "\n".join(sorted(set(found)))


def _events(fake: FakeDiscord) -> set[str]:
    return {json.loads(text)["t"] for s in fake.gateway.sessions.values() for _, text in s.log}


# -- as a process of its own ---------------------------------------------------------------


async def test_the_fake_as_a_process_with_its_control_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = {
        "bots": [{"username": "copro-bot"}],
        "guilds": [{"name": "Council", "channels": ["general"], "people": ["alex", "sam"]}],
    }
    with FakeDiscordProcess(setup=plan) as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_url)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        council = fake.ids["guilds"]["Council"]
        general, alex = council["channels"]["general"], council["people"]["alex"]
        client = discord.Client(intents=intents(), guild_ready_timeout=0.5)
        seen = Seen()
        client.event(_recorder(seen, "message"))
        client.event(_recorder(seen, "resumed"))
        task = asyncio.create_task(client.start(fake.ids["bots"]["copro-bot"]["token"]))
        try:
            await asyncio.wait_for(client.wait_until_ready(), 10)
            said = await fake.act(alex, "send", channel_id=general, content="!ping")
            [message] = await seen.wait("message")
            assert (str(message.id), message.content) == (said, "!ping")
            await message.reply("Pong")
            [reply] = await fake.wait_posted(1, general)
            assert (reply["content"], reply["reply_to"]) == ("Pong", said)
            await fake.act(alex, "react", message_id=reply["id"], emoji="👍")
            await fake.drop()
            await fake.act_many(
                [{"user_id": alex, "action": "send", "channel_id": general, "content": "Hi"}] * 3
            )
            await seen.wait("resumed")
            assert [m.content for m in await seen.wait("message", 5)][-3:] == ["Hi"] * 3
            assert [x["op"] for x in await fake.logins() if x["ok"]] == ["identify", "resume"]
            [call] = await fake.calls("POST /channels/{channel_id}/messages")
            assert str(call["json"]["message_reference"]["message_id"]) == said
            asked = await message.channel.send("May we keep this?", view=Consent())
            pressed = await fake.act(
                alex, "press", message_id=str(asked.id), custom_id="consent:yes"
            )
            thanks = (await fake.wait_posted(3))[-1]
            assert (thanks["content"], thanks["ephemeral_for"]) == ("Thank you", alex)
            assert (await fake.interaction(pressed))["response"] == 4
        finally:
            await client.close()
            await asyncio.gather(task, return_exceptions=True)
