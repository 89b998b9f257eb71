"""Polls on Discord, with the real ``DiscordAdapter`` (real discord.py over real
sockets) against the fake Discord, the real worker, dispatcher and scheduler:
Discord's own polls counted exactly (changed, taken back, made while the bot was
down, typed too late), the polls Discord cannot do going as numbered text with
one line that says why, and secret ballots that leave no link in the database."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from discordbot import Running, content, discord_server

from bot.context import PollLayout
from bot.discord.base import snowflake_ms
from bot.discord.polls import not_native, poll_body
from bot.messages import Messages
from bot.platforms import Platforms
from bot.scheduler import Scheduler
from commands import build_registry
from fakediscord import FakeDiscord, Person
from fakediscord.model import Message as Posted
from storage import outbox
from storage import polls as poll_store

TEXT = Messages.load()


class Later:
    """The scheduler's clock, moved on by the test (the hours a poll is open)."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@dataclass
class PollBot(Running):
    clock: Later | None = None

    async def run_due(self) -> int:
        """Run the jobs due by the test's clock (as the scheduler's wake-up would)."""
        assert self.adapter is not None and self.store is not None and self.clock is not None
        config = self.adapter.config
        scheduler = Scheduler(
            self.store,
            build_registry(),
            Platforms([self.adapter]),
            config,
            Messages.load(),
            clock=self.clock,
            signals=self.adapter.signals,
        )
        await self.settled()
        return await scheduler.run_due()


@dataclass
class World:
    fake: FakeDiscord
    bot: PollBot
    general: int
    people: dict[str, Person]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    def champion(people: dict[str, Person]) -> str:
        champions = f'[people]\nchampions = ["discord:{people["sam"].id}"]\n'
        return "[polls]\nmembers_can_start = true\n" + champions

    async with discord_server(
        tmp_path,
        ("sam", "alex", "kim", "lee", "pat"),
        config=champion,
        bot=lambda fake, path: PollBot(fake, path, clock=Later()),
    ) as server:
        yield World(server.fake, server.bot, server.general, server.people)


def native_poll(world: World) -> Posted:
    [poll] = [m for m in world.fake.posted(world.general) if m.poll is not None]
    return poll


async def vote_stored(world: World, poll_id: int, count: int) -> None:
    """Wait until the bot has recorded ``count`` votes (dispatches) for a poll."""
    await world.bot.until(lambda: len(poll_store.votes(world.bot.db, poll_id)) >= count, "votes")
    await world.bot.settled()


async def test_a_native_poll_is_counted_exactly_and_closed_on_time_while_the_bot_was_down(
    world: World,
) -> None:
    sam, alex, kim, lee, pat = (world.people[n] for n in ("sam", "alex", "kim", "lee", "pat"))
    sam.send(
        world.general, "!poll Which day suits you? | Tuesday | Thursday | Friday | closes in 3h"
    )
    await world.fake.wait_posted(2, world.general)
    poll = native_poll(world)
    assert poll.poll is not None
    assert [text for text, _ in poll.poll.answers] == ["Tuesday", "Thursday", "Friday"]
    assert not poll.poll.allow_multiselect
    hours = (poll.poll.expiry_ms - poll.created_ms) / 3_600_000
    assert hours == pytest.approx(2, abs=0.01)  # the whole hours before the close
    companion = world.fake.posted(world.general)[1]
    assert "1. Tuesday" in companion.content  # typed answers still work
    [row] = poll_store.open_in_room(world.bot.db, f"discord:{world.general}")

    alex.vote(poll.id, 1)
    kim.vote(poll.id, 2)
    lee.vote(poll.id, 1)
    lee.vote(poll.id, 3)  # a change: Discord sends a removal, then an addition
    pat.vote(poll.id, 2)
    pat.vote(poll.id)  # taken back
    await vote_stored(world, row.id, 7)
    await world.fake.drop()  # a RESUME replays what the session still holds: stored once
    await world.fake.wait_connected()
    sam.vote(poll.id, 2)
    await vote_stored(world, row.id, 8)
    assert len(poll_store.votes(world.bot.db, row.id)) == 8
    sam.reply(companion.id, "1")  # typed after his tap: his latest answer
    await vote_stored(world, row.id, 9)

    await world.bot.stop()  # down: these only Discord knows of
    kim.vote(poll.id, 1)
    alex.vote(poll.id)
    pat.vote(poll.id, 3)
    world.fake.end_poll(poll.id)  # its time came while the bot was down
    await world.bot.start()
    assert world.bot.clock is not None
    world.bot.clock.ahead = timedelta(hours=3, minutes=1)
    assert await world.bot.run_due() == 1
    await world.bot.settled()

    # An independent count: Discord's own final state of the poll, with Sam's typed
    # answer in place of his tap (it came later).
    chose = {u: n for n, users in poll.poll.votes.items() for u in users} | {sam.id: 1}
    expected = {f"a{n}": list(chose.values()).count(n) for n in (1, 2, 3)}
    assert expected == {"a1": 2, "a2": 0, "a3": 2}
    closed = poll_store.get(world.bot.db, row.id)
    assert closed is not None and closed.state == "closed"
    assert closed.results == expected and closed.voters == 4
    said = world.fake.posted(world.general)
    ended = [m for m in said if m.reply_to == poll.id]
    assert len(ended) == 1  # the result, as a reply to the poll
    assert outbox.count_by_state(world.bot.db).get("failed") is None

    lee.reply(companion.id, "2")  # too late: told so, not counted
    told = TEXT.get("poll.closed_told", number=row.id)
    await world.fake.wait_for(lambda: world.fake.posted(world.general)[-1].content == content(told))
    await world.bot.settled()
    again = poll_store.get(world.bot.db, row.id)
    assert again is not None and again.results == expected


async def test_the_close_ends_discords_poll_and_reads_who_chose_what(world: World) -> None:
    sam, alex = world.people["sam"], world.people["alex"]
    sam.send(world.general, "!poll Tea or coffee? | Tea | Coffee | several | closes in 2 days")
    await world.fake.wait_posted(2, world.general)
    poll = native_poll(world)
    assert poll.poll is not None and poll.poll.allow_multiselect
    alex.vote(poll.id, 1, 2)
    kim = world.people["kim"]
    kim.vote(poll.id, 2)
    [row] = poll_store.open_in_room(world.bot.db, f"discord:{world.general}")
    await vote_stored(world, row.id, 3)
    companion = world.fake.posted(world.general)[1]
    kim.reply(companion.id, "1")  # typed after the tap: the latest answer counts
    await vote_stored(world, row.id, 4)
    sam.send(world.general, "!poll close")
    await world.fake.wait_posted(3, world.general)  # "closing now"
    assert await world.bot.run_due() == 1
    await world.fake.wait_for(lambda: poll.poll is not None and poll.poll.finalized)
    await world.bot.until(
        lambda: (p := poll_store.get(world.bot.db, row.id)) and p.state == "closed", "close"
    )
    closed = poll_store.get(world.bot.db, row.id)
    assert closed is not None and closed.results == {"a1": 2, "a2": 1}
    assert world.fake.calls_to("POST /channels/{channel_id}/polls/{message_id}/expire")
    await world.bot.settled()
    assert outbox.count_by_state(world.bot.db).get("failed") is None
    # One message at the close: the result, as a reply to the poll.
    [result] = world.fake.posted(world.general)[3:]
    title = TEXT.get("poll.closed_title", number=row.id, question="Tea or coffee?")
    assert result.reply_to == poll.id and result.content.startswith(content(title))
    assert content(TEXT.get("poll.turnout", voters=2, members=6, percent=33)) in result.content


async def test_a_vote_typed_while_the_bot_was_down_keeps_its_own_time(world: World) -> None:
    """Read back after a restart, a typed vote counts at the time it was sent (within
    the time away), not at the time it was read: one sent before a closing time that
    passed while the bot was down counts."""
    sam, alex, kim = world.people["sam"], world.people["alex"], world.people["kim"]
    sam.send(world.general, "!poll Lunch on Friday? | Soup | Salad | closes in 30 minutes")
    said = await world.fake.wait_posted(3, world.general)
    [row] = poll_store.open_in_room(world.bot.db, f"discord:{world.general}")
    alex.reply(said[0].id, "1")
    await vote_stored(world, row.id, 1)
    await world.bot.stop()
    sent = kim.reply(said[0].id, "2")  # only Discord knows of it
    await world.fake.wait_for(lambda: snowflake_ms(sent) < int(time.time() * 1000))
    await world.bot.start()
    await vote_stored(world, row.id, 2)
    [kims] = [v for v in poll_store.votes(world.bot.db, row.id) if v.voter == f"discord:{kim.id}"]
    assert kims.ts == snowflake_ms(sent)


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("!poll Did it help? | yes/no | hidden | closes in 3h", "hidden"),
        (
            "!poll Which? | " + " | ".join(f"Choice {n}" for n in range(1, 12)) + " | closes in 3h",
            "many",
        ),
        ("!poll Which topics? | Buses | Day centres | Carers | up to 2 | closes in 3h", "limit"),
        ("!poll Which day suits you? | Tuesday | Thursday", "open"),
        ("!poll Which day suits you? | Tuesday | Thursday | closes in 30 minutes", "soon"),
        ("!poll Which day suits you? | Tuesday | Thursday | closes in 40 days", "far"),
    ],
)
async def test_a_poll_discord_cannot_do_goes_as_numbered_text_and_says_why(
    world: World, command: str, why: str
) -> None:
    sam, alex = world.people["sam"], world.people["alex"]
    sam.send(world.general, command)
    said = await world.fake.wait_posted(3, world.general)
    assert all(m.poll is None for m in said)
    assert said[2].content == content(TEXT.get(f"poll.plain_{why}"))
    assert content(TEXT.get("poll.how_to_reply")) in said[1].content  # nothing to tap
    assert content(TEXT.get("poll.how_to_answer")) not in said[1].content
    alex.reply(said[1].id, "1")  # a typed answer counts
    [row] = poll_store.open_in_room(world.bot.db, f"discord:{world.general}")
    await vote_stored(world, row.id, 1)


def test_discords_rules_for_its_own_polls() -> None:
    now = 1_000_000.0
    answers = (("a1", "Yes"), ("a2", "No"))

    def shown(**kw: object) -> PollLayout:
        values: dict[str, object] = {
            "question": "Go?",
            "answers": answers,
            "max_selections": 1,
            "disclosed": True,
            "fallback": "Go?",
            "closes_at": now + 3 * 3600,
        }
        return PollLayout(**{**values, **kw})  # type: ignore[arg-type]

    assert not_native(shown(), now) is None
    assert not_native(shown(max_selections=2), now) is None  # all of them: any number
    assert not_native(shown(secret=True), now) == "secret"
    assert not_native(shown(answers=(("a1", "x" * 56), ("a2", "No"))), now) == "long"
    assert not_native(shown(closes_at=now + 3599), now) == "soon"
    assert not_native(shown(closes_at=now + 769 * 3600), now) == "far"
    body = poll_body(
        {
            "question": "Go?",
            "labels": ["Yes", "No"],
            "max_selections": 1,
            "closes_at": now + 2.5 * 3600,
        },
        now,
    )
    assert body is not None and body["duration"] == 2 and not body["allow_multiselect"]
    assert (
        poll_body(
            {"question": "Go?", "labels": [], "max_selections": 1, "closes_at": now + 60}, now
        )
        is None
    )


async def test_a_secret_ballot_is_by_direct_message_and_nothing_stored_links_a_person_to_a_choice(
    world: World,
) -> None:
    sam = world.people["sam"]
    voters = [world.people[n] for n in ("alex", "kim", "lee", "pat")]
    sam.send(world.general, "!poll secret Who should chair the board? | Sam | Jo | closes in 3h")
    said = await world.fake.wait_posted(2, world.general)
    assert said[1].content == content(TEXT.get("poll.plain_secret"))
    [row] = poll_store.open_in_room(world.bot.db, f"discord:{world.general}")
    assert await world.bot.run_due() == 1  # the ballots go out

    async def ballot(person: Person) -> Posted:
        dm = await world.fake.wait_for(lambda: person.dm_channel(), what="a direct message")
        found = await world.fake.wait_posted(2, dm)
        assert all(m.poll is None for m in found)  # never Discord's own poll
        return found[1]

    ballots = [await ballot(person) for person in voters]
    picks = ["1", "2", "1", "2"]
    answers = [p.reply(b.id, pick) for p, b, pick in zip(voters[:2], ballots, picks, strict=False)]
    await world.bot.until(
        lambda: world.bot.db.execute("SELECT sum(voted) FROM poll_ballots").fetchone()[0] == 2,
        "2 votes",
    )
    await world.bot.stop()  # what the bot held in memory is gone: read again at the close
    answers += [
        p.reply(b.id, pick) for p, b, pick in zip(voters[2:], ballots[2:], picks[2:], strict=True)
    ]
    await world.bot.start()
    await world.bot.until(
        lambda: world.bot.db.execute("SELECT sum(voted) FROM poll_ballots").fetchone()[0] == 4,
        "4 votes",
    )
    assert world.bot.clock is not None
    world.bot.clock.ahead = timedelta(hours=3, minutes=1)
    assert await world.bot.run_due() == 1
    closed = poll_store.get(world.bot.db, row.id)
    assert closed is not None and closed.state == "closed"
    assert closed.results == {"a1": 2, "a2": 2} and closed.voters == 4
    await world.bot.settled()
    assert all(world.fake.world.messages[a].deleted for a in answers)  # counted: deleted

    # No row anywhere holds a person's ID together with what they chose.
    db = world.bot.db
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in set(tables) - {"polls"}:
        for found in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 (names from sqlite_master)
            text = repr(found)
            for person in voters:
                if str(person.id) in text:
                    for pick in ("1", "2"):
                        assert f'"content": "{pick}"' not in text, (table, found)
                    assert '"a1"' not in text and '"a2"' not in text, (table, found)
    stubs = db.execute("SELECT event FROM inbox WHERE json_extract(event, '$.sealed') = 1")
    kinds = [(json.loads(e)["type"], json.loads(e)["sender"]) for (e,) in stubs.fetchall()]
    assert sorted(kinds) == [("MESSAGE_CREATE", f"discord:{p.id}") for p in voters]
