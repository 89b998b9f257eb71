"""Polls on Discord that cannot be Discord's own, with the bot as a real process (the
fake Discord a process of its own, reached only through ``[discord] api_url``): a
secret ballot by direct-message buttons across a crash, with the no-link check over
every table and every byte of the database's files; and a poll whose closing time
comes while the bot is down, closed once on restart. The database is only read."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_e2e_discord_people import buttons, posted_where, rows_everywhere, say

from fakediscord.process import FakeDiscordProcess
from harness import backup_copy, byte_traces
from harness_discord import DiscordBot, discord_world, settle, wait_db

pytestmark = pytest.mark.e2e

CHOICES = ("Sam", "Jo", "Priya")

# What a person's ballot answer looks like, however it is written down: a button press
# (its data names the component pressed), a typed number (as Discord sends it, or as
# the bot reads it), a vote's list of answer IDs.
ANSWER_TRACES = [
    re.compile(rb'"component_type"'),
    re.compile(rb'"content"\s*:\s*"\s*\d\s*"'),
    re.compile(rb'"body"\s*:\s*"\s*\d\s*"'),
    re.compile(rb'"a\d+"\s*\]'),
]


def answer_traces(files: list[Path]) -> list[tuple[str, bytes]]:
    """Every ballot answer found in these files, byte by byte."""
    return byte_traces(files, ANSWER_TRACES)


def backup(bot: DiscordBot, to: Path) -> Path:
    """A copy of the database taken while the bot runs (SQLite's backup API)."""
    return backup_copy(bot.db_path, to)


def test_the_traces_find_an_answer_as_discord_sends_it() -> None:
    """The patterns above would catch a press or a typed number if one were stored."""
    press = {"type": 3, "data": {"custom_id": "answer:1:2", "component_type": 2}}
    typed = {"type": 0, "content": "2", "message_reference": {"message_id": "1"}}
    for raw in (press, typed):
        for text in (json.dumps(raw), json.dumps(raw, separators=(",", ":"))):
            assert any(p.search(text.encode()) for p in ANSWER_TRACES), text


def links(bot: DiscordBot, voters: list[str]) -> list[tuple[str, str]]:
    """Rows of any table that hold a voter's snowflake with something of what they
    chose. A voter's own ballot names them in each of its buttons, all the choices
    alike: that says nothing of their pick, so only a row naming some choices and not
    others for them, or holding an answer, is a link."""
    found = []
    for table, row in rows_everywhere(bot):
        for voter in voters:
            if voter not in row:
                continue
            named = len(re.findall(rf"answer:{voter}:\d", row))
            traced = any(p.search(row.encode()) for p in ANSWER_TRACES)
            if traced or named not in (0, len(CHOICES)):
                found.append((table, row))
    return found


async def wait_clock(moment: float, timeout: float = 120) -> None:
    """Wait until the wall clock has passed ``moment`` (bounded)."""
    assert moment - time.time() < timeout, "that moment is too far off to wait for"
    await asyncio.sleep(max(0.0, moment - time.time()) + 0.05)
    assert time.time() > moment


async def test_a_secret_ballot_by_direct_message_buttons_survives_a_crash_and_links_nobody(
    tmp_path: Path,
) -> None:
    """Six people vote on their ballots in their direct messages: by button and by a
    typed number; one takes a typed vote back (deleting it) and taps instead; one taps
    twice (the second is refused); the bot is killed mid-vote, one taps while it is
    down (Discord tells them it failed; they tap again) and one types while it is down
    (read back from Discord). The taps the bot held are lost with its memory: those
    people are asked once to tap again. The result is exact, and no row or byte of the
    database links a voter to a choice at any point."""
    with discord_world(people=6) as world:
        fake, people = world.fake, world.people
        tess, alex, kim, lee, pat, sam = people
        bot = DiscordBot(tmp_path / "bot", world, champions=[f"discord:{tess}"])
        await bot.run()
        await fake.act(
            tess,
            "send",
            channel_id=world.general,
            content="!poll secret Who should chair the board? | " + " | ".join(CHOICES),
        )
        await wait_db(bot, lambda: bot.query("SELECT id FROM polls"), "the poll")
        [(number,)] = bot.query("SELECT id FROM polls WHERE state = 'open'")

        def ballot_of(person: str) -> dict[str, Any] | None:
            return next(
                (
                    m
                    for m in posted
                    if m["components"]
                    and any(c.startswith(f"answer:{person}:") for c in buttons(m).values())
                ),
                None,
            )

        posted: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not all(ballot_of(p) for p in people):
            assert time.monotonic() < deadline, "the ballots never came"
            await asyncio.sleep(0.1)
            posted = await fake.posted()
        ballots = {p: ballot_of(p) for p in people}
        assert all(b is not None and b["channel_id"] != world.general for b in ballots.values())
        assert all(m["poll"] is None for m in posted)  # never Discord's own poll
        chose: dict[str, int] = {}  # the test's own count: each person's vote

        def voted() -> int:
            return bot.query("SELECT coalesce(sum(voted), 0) FROM poll_ballots")[0][0]

        def dm_of(person: str) -> str:
            ballot = ballots[person]
            assert ballot is not None
            return str(ballot["channel_id"])

        posted_now: list[dict[str, Any]] = []

        async def told(person: str, key: str, count: int = 1) -> None:
            """Wait until the bot has said ``key`` ``count`` times in the person's DM."""
            nonlocal posted_now
            text = say(key, number=number)
            deadline = time.monotonic() + 30
            while [m["content"] for m in posted_now if m["channel_id"] == dm_of(person)].count(
                text
            ) < count:
                assert bot.alive(), bot.log()[-3000:]
                assert time.monotonic() < deadline, f"{key} was never said"
                await asyncio.sleep(0.05)
                posted_now = await fake.posted(dm_of(person))

        async def tap(person: str, choice: int) -> str:
            ballot = ballots[person]
            assert ballot is not None
            custom_id = f"answer:{person}:{choice}"
            assert custom_id in buttons(ballot).values()
            return await fake.act(person, "press", message_id=ballot["id"], custom_id=custom_id)

        async def typed(person: str, choice: int) -> str:
            ballot = ballots[person]
            assert ballot is not None
            return await fake.act(person, "reply", message_id=ballot["id"], content=str(choice))

        await tap(alex, 1)
        chose[alex] = 1
        await told(alex, "poll.ballot_counted")
        kim_typed = await typed(kim, 2)
        await told(kim, "poll.ballot_counted")
        await tap(pat, 2)
        chose[pat] = 2
        await told(pat, "poll.ballot_counted")
        await tap(pat, 1)  # a second tap: each person votes once
        await told(pat, "poll.already_voted")
        await wait_db(bot, lambda: voted() == 3, "three votes")
        await fake.act(kim, "delete", message_id=kim_typed)  # takes it back ...
        await wait_db(bot, lambda: voted() == 2, "kim's vote taken back")
        await tap(kim, 3)  # ... and taps another choice
        chose[kim] = 3
        await told(kim, "poll.ballot_counted", count=2)
        tess_typed = await typed(tess, 3)
        chose[tess] = 3
        await told(tess, "poll.ballot_counted")
        await wait_db(bot, lambda: voted() == 4, "four votes")
        copies = [backup(bot, tmp_path / "mid-vote.db")]
        files = [p for p in bot.directory.rglob("*") if p.is_file() and p.name != "config.toml"]
        assert {f"copro.db{end}" for end in ("", "-wal", "-shm")} <= {p.name for p in files}
        assert answer_traces(files + copies) == []
        assert links(bot, people) == []
        stubs = bot.query("SELECT sender FROM inbox WHERE json_extract(event, '$.sealed') = 1")
        assert {s for (s,) in stubs} == {f"discord:{p}" for p in (alex, kim, pat, tess)}

        bot.kill()  # mid-vote: a crash, a power cut
        assert answer_traces(files) == []
        while_down = await tap(lee, 2)
        sam_typed = await typed(sam, 1)  # only Discord knows of it: read back after the restart
        chose[sam] = 1
        bot.start()
        await bot.wait_running()
        # The taps the bot held went with its memory: each of those people is asked
        # once to tap again (a typed vote is read again from Discord).
        for person in (alex, pat, kim):
            await told(person, "poll.ballot_tap_again")
        # Lee's tap reached nobody: Discord tells Lee it failed, and Lee taps again.
        assert (await fake.interaction(while_down))["response"] is None
        assert bot.query(
            "SELECT count(*) FROM inbox WHERE event_id = ?", [f"discord:interaction:{while_down}"]
        ) == [(0,)]
        await tap(lee, 2)
        chose[lee] = 2
        await told(lee, "poll.ballot_counted")
        for person in (alex, pat, kim):
            await tap(person, chose[person])
            await told(person, "poll.ballot_counted", count=2 if person != kim else 3)
        await wait_db(bot, lambda: voted() == 6, "all six votes")
        await settle(bot)
        copies.append(backup(bot, tmp_path / "before-the-close.db"))
        assert answer_traces(files + copies) == []
        assert links(bot, people) == []
        for person in (alex, pat, kim, lee, tess, sam):  # asked again only where it was lost
            asked = [m["content"] for m in await fake.posted(dm_of(person))]
            lost = person in (alex, pat, kim)
            assert asked.count(say("poll.ballot_tap_again")) == (1 if lost else 0), person

        await fake.act(tess, "send", channel_id=world.general, content="!poll close")
        await wait_db(
            bot,
            lambda: bot.query("SELECT state FROM polls WHERE id = ?", [number]) == [("closed",)],
            "the poll closed",
        )
        expected = {f"a{n}": list(chose.values()).count(n) for n in (1, 2, 3)}
        assert expected == {"a1": 2, "a2": 2, "a3": 2}
        [(results, voters)] = bot.query("SELECT results, voters FROM polls WHERE id = ?", [number])
        assert json.loads(results) == expected and voters == 6
        await settle(bot)
        for person, answer in ((tess, tess_typed), (sam, sam_typed)):  # counted: deleted
            assert answer not in {m["id"] for m in await fake_messages(fake, dm_of(person))}
        assert answer_traces(files + copies) == []
        assert links(bot, people) == []
        assert bot.query("SELECT count(*) FROM outbox WHERE state = 'failed'") == [(0,)]


async def fake_messages(fake: FakeDiscordProcess, channel: str) -> list[dict[str, Any]]:
    """Everything still in a channel, people's messages too."""
    found: list[dict[str, Any]] = await fake.request("GET", f"/channels/{channel}/messages")
    return found


def uk_clock(moment: datetime) -> str:
    """A closing time as ``!poll`` takes it, to the second: UK time, today."""
    local = moment.astimezone(ZoneInfo("Europe/London"))
    return local.strftime("%H:%M:%S")


async def test_a_poll_whose_closing_time_passes_while_the_bot_is_down_closes_once_on_restart(
    tmp_path: Path,
) -> None:
    """The shortest closing time ``!poll`` takes is a clock time to the second. The
    poll is Discord's numbered text (Discord's own polls last an hour at least);
    votes by a typed number and by a number reaction, one of them while the bot is
    down before the close, one after the close; the bot restarts after the closing
    time and closes the poll once, counted exactly, with one message."""
    with discord_world(people=5) as world:
        fake, [tess, alex, kim, lee, pat] = world.fake, world.people
        bot = DiscordBot(tmp_path / "bot", world, champions=[f"discord:{tess}"])
        await bot.run()
        closes = datetime.now(ZoneInfo("UTC")).replace(microsecond=0) + timedelta(seconds=20)
        if (
            closes.astimezone(ZoneInfo("Europe/London")).date()
            != datetime.now(ZoneInfo("Europe/London")).date()
        ):
            pytest.skip("too near midnight for a clock time today")
        await fake.act(
            tess,
            "send",
            channel_id=world.general,
            content=f"!poll Lunch on Friday? | Soup | Salad | closes {uk_clock(closes)}",
        )
        posts = await fake.wait_posted(3, world.general)
        assert all(m["poll"] is None for m in posts)
        assert posts[2]["content"] == say("poll.plain_soon")
        poll = posts[0]  # the numbered list; the next is its companion, with how to answer
        await wait_db(bot, lambda: bot.query("SELECT id FROM polls"), "the poll")
        [(number,)] = bot.query("SELECT id FROM polls WHERE state = 'open'")

        def stored() -> int:
            return bot.query("SELECT count(*) FROM poll_votes WHERE poll_id = ?", [number])[0][0]

        await fake.act(alex, "reply", message_id=poll["id"], content="1")
        await fake.act(kim, "react", message_id=poll["id"], emoji="2️⃣")
        await fake.act(lee, "reply", message_id=poll["id"], content="2")
        await wait_db(bot, lambda: stored() >= 3, "the votes stored")
        bot.kill()
        await fake.act(pat, "reply", message_id=poll["id"], content="1")  # before the close
        assert time.time() < closes.timestamp(), "too slow: pat's vote came after the close"
        await wait_clock(closes.timestamp() + 0.5)
        late = await fake.act(tess, "reply", message_id=poll["id"], content="2")  # too late
        assert time.time() > closes.timestamp()
        bot.start()
        await bot.wait_running()
        await wait_db(
            bot,
            lambda: bot.query("SELECT state FROM polls WHERE id = ?", [number]) == [("closed",)],
            "the poll closed",
        )
        await posted_where(fake, lambda m: m["reply_to"] == late, "the late vote answered")
        await settle(bot)
        [(results, voters)] = bot.query("SELECT results, voters FROM polls WHERE id = ?", [number])
        assert json.loads(results) == {"a1": 2, "a2": 2} and voters == 4
        # What the bot said after the poll itself: the late vote is told so, and the
        # close is one message, the result, as a reply to the poll.
        after = (await fake.posted(world.general))[3:]
        assert len(after) == 2, [m["content"] for m in after]
        [told] = [m for m in after if m["reply_to"] == late]
        [result] = [m for m in after if m is not told]
        assert told["reply_to"] == late and told["content"] == say(
            "poll.closed_told", number=number
        )
        assert result["reply_to"] == poll["id"]
        title = say("poll.closed_title", number=number, question="Lunch on Friday?")
        assert result["content"].startswith(title)
        assert say("poll.turnout", voters=4, members=6, percent=67) in result["content"]
        assert bot.query("SELECT count(*) FROM outbox WHERE state = 'failed'") == [(0,)]
