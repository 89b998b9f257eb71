"""People on Discord with the bot as a real process (the fake Discord a process of its
own, reached only through ``[discord] api_url``): slash commands, consent by button
and by typed answer, anonymous feedback, workshop RSVPs, a native poll counted across
a crash, and ``!forget me``. The database is only read."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from discordbot import content

from bot.messages import Messages
from fakediscord.process import FakeDiscordProcess
from harness_discord import DiscordBot, discord_world, settle, wait_db

pytestmark = pytest.mark.e2e

SAY = Messages.load()
COMMANDS = "PUT /applications/{application_id}/guilds/{guild_id}/commands"


def say(key: str, **values: object) -> str:
    """A catalogue text as the bot posts it (markdown escaped)."""
    return content(SAY.get(key, prefix="!", **values))


async def slash_ready(fake: FakeDiscordProcess, timeout: float = 30) -> None:
    """Wait until the bot has made the server's slash commands."""
    deadline = time.monotonic() + timeout
    while not [c for c in await fake.calls(COMMANDS) if c["status"] == 200]:
        assert time.monotonic() < deadline, "the slash commands were never made"
        await asyncio.sleep(0.1)


async def posted_where(
    fake: FakeDiscordProcess, check: Any, what: str, timeout: float = 30
) -> list[dict[str, Any]]:
    """Wait until some of the bot's posts (anywhere) pass ``check``; those posts."""
    deadline = time.monotonic() + timeout
    while not (found := [m for m in await fake.posted() if check(m)]):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return found


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """A posted message's buttons: {label: custom_id}."""
    return {
        b["label"]: b["custom_id"]
        for row in message["components"]
        for b in row["components"]
        if b["type"] == 2
    }


def rows_everywhere(bot: DiscordBot) -> list[tuple[str, str]]:
    """Every row of every table, as (table, the row as JSON text)."""
    tables = [t for (t,) in bot.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [
        (table, json.dumps(row, default=str))
        for table in tables
        for row in bot.query(f"SELECT * FROM [{table}]")
    ]


async def test_slash_ping_and_help_show_what_the_asker_may_do(tmp_path: Path) -> None:
    with discord_world(people=2) as world:
        fake, [sam, tess] = world.fake, world.people
        bot = DiscordBot(tmp_path / "bot", world, team=[f"discord:{tess}"])
        await bot.run()
        await slash_ready(fake)

        used = await fake.act(sam, "command", channel_id=world.general, name="ping")
        [pong] = await fake.wait_posted(1, world.general)
        assert pong["content"] == say("ping.pong") and pong["interaction_id"] == used
        answered = await fake.interaction(used)
        assert answered["response"] == 5 and answered["answered_after"] < 3

        await fake.act(sam, "command", channel_id=world.general, name="help")
        await fake.act(tess, "command", channel_id=world.general, name="help")
        await fake.act(sam, "send", channel_id=world.general, content="!help")
        [_, for_sam, for_tess, typed] = await fake.wait_posted(4, world.general)
        assert for_sam["content"] == typed["content"]
        assert say("help.staff_heading") not in for_sam["content"]
        assert for_tess["content"] != for_sam["content"]  # the team may do more

        await settle(bot)
        assert len(await fake.posted(world.general)) == 4
        stored = bot.query(
            "SELECT platform FROM inbox WHERE event_id = ?", [f"discord:interaction:{used}"]
        )
        assert stored == [("discord",)]


async def test_consent_by_button_and_by_typed_yes_anonymous_keeps_no_link(tmp_path: Path) -> None:
    with discord_world(people=2) as world:
        fake, [sam, kai] = world.fake, world.people
        bot = await DiscordBot(tmp_path / "bot", world).run()

        # Sam answers by pressing buttons, and gives a name.
        await fake.act(sam, "dm", content="The bus to the day centre is always late")
        [asked] = await fake.wait_posted(1)
        dm = asked["channel_id"]
        assert list(buttons(asked)) == [
            SAY.get("choices.yes"),
            SAY.get("choices.no"),
            SAY.get("feedback.write_here"),
        ]
        pressed = await fake.act(
            sam, "press", message_id=asked["id"], custom_id=buttons(asked)[SAY.get("choices.yes")]
        )
        [_, name] = await fake.wait_posted(2, dm)
        assert name["content"] == say("feedback.ask_name")
        assert (await fake.interaction(pressed))["response"] == 6  # acknowledged
        await fake.act(
            sam, "press", message_id=name["id"], custom_id=buttons(name)[SAY.get("choices.yes")]
        )
        [*_, named] = await fake.wait_posted(3, dm)
        assert named["content"] == say("feedback.saved")

        # Kai types the answers, and gives no name: nothing links the words to Kai.
        words = "The library needs longer hours on Saturdays"
        sent = [await fake.act(kai, "dm", content=words)]
        kai_dm = next(m["channel_id"] for m in await fake.wait_posted(4) if m["channel_id"] != dm)
        sent.append(await fake.act(kai, "dm", content="yes"))
        [_, kai_name] = await fake.wait_posted(2, kai_dm)
        assert kai_name["content"] == say("feedback.ask_name")
        sent.append(await fake.act(kai, "dm", content="no"))
        [*_, saved] = await fake.wait_posted(3, kai_dm)
        assert saved["content"] == say("feedback.saved_anonymous")
        await settle(bot)

        assert sorted(bot.query("SELECT text, user_id FROM feedback")) == [
            ("The bus to the day centre is always late", f"discord:{sam}"),
            (words, None),
        ]
        kept = [(t, row) for t, row in rows_everywhere(bot) if words in row]
        assert [t for t, _ in kept] == ["feedback"], kept
        [(_, row)] = kept
        assert kai not in row
        for message in sent:  # who sent the words and the answers, and when: forgotten
            [(sender, at, event)] = bot.query(
                "SELECT sender, origin_server_ts, event FROM inbox WHERE event_id = ?",
                [f"discord:{message}"],
            )
            assert (sender, at) == ("", 0) and kai not in event


def rsvps(bot: DiscordBot, workshop: int) -> tuple[list[str], list[str]]:
    """(going with a place, the waiting list in order), as the bot stored them."""
    rows = bot.query(
        "SELECT user_id, waiting FROM workshop_rsvps WHERE workshop_id = ? AND answer = 'going' "
        "ORDER BY since, rowid",
        [workshop],
    )
    return [u for u, w in rows if not w], [u for u, w in rows if w]


async def test_workshop_going_by_button_reaction_and_typing_with_a_waiting_list(
    tmp_path: Path,
) -> None:
    with discord_world(people=5) as world:
        fake, [tess, sam, alex, kim, lee] = world.fake, world.people
        bot = DiscordBot(tmp_path / "bot", world, team=[f"discord:{tess}"])
        await bot.run()
        await fake.act(
            tess,
            "send",
            channel_id=world.general,
            content="!workshop new Planning | in 3 days | Town Hall | 2 places",
        )
        [announcement, *_] = await fake.wait_posted(1, world.general)
        rsvp = buttons(announcement)
        going = rsvp[SAY.get("workshop.button_going")]

        async def press(person: str, custom_id: str) -> dict[str, Any]:
            pressed = await fake.act(
                person, "press", message_id=announcement["id"], custom_id=custom_id
            )
            [reply] = await posted_where(
                fake, lambda m: m["interaction_id"] == pressed and m["content"], "the reply"
            )
            assert reply["ephemeral_for"] == person  # only the presser sees it
            return reply

        reply = await press(sam, going)
        assert reply["content"] == say("workshop.going_saved", number=1)
        await fake.act(alex, "react", message_id=announcement["id"], emoji="✅")
        alex_going = f"discord:{alex}"
        await wait_db(bot, lambda: alex_going in rsvps(bot, 1)[0], "the reaction counted")
        kim_says = await fake.act(kim, "send", channel_id=world.general, content="!going 1")
        [typed] = await posted_where(fake, lambda m: m["reply_to"] == kim_says, "the reply to kim")
        assert typed["content"] == say("workshop.waiting_saved", number=1, position=1)
        assert typed["ephemeral_for"] is None  # typed in the channel: answered there
        reply = await press(lee, going)
        assert reply["content"] == say("workshop.waiting_saved", number=1, position=2)
        await settle(bot)
        assert rsvps(bot, 1) == (
            [f"discord:{sam}", f"discord:{alex}"],
            [f"discord:{kim}", f"discord:{lee}"],
        )

        reply = await press(lee, rsvp[SAY.get("workshop.button_cantgo")])
        assert reply["content"] == say("workshop.cantgo_saved", number=1)
        await settle(bot)
        assert rsvps(bot, 1) == ([f"discord:{sam}", f"discord:{alex}"], [f"discord:{kim}"])
        public = [m for m in await fake.posted(world.general) if m["ephemeral_for"] is None]
        assert len(public) == 3  # the announcement, its calendar file, the reply to kim


def rows_naming(bot: DiscordBot, number: str) -> list[tuple[str, str]]:
    """Every row of every table with the snowflake anywhere in it, in any form."""
    return [(table, row) for table, row in rows_everywhere(bot) if number in row]


async def test_forget_me_leaves_no_row_holding_the_persons_snowflake(tmp_path: Path) -> None:
    with discord_world(people=2) as world:
        fake, [sam, ana] = world.fake, world.people
        bot = await DiscordBot(tmp_path / "bot", world).run()
        # Sam talks, is mentioned, replied to and reacted to; Sam reacts; Sam gives feedback.
        hello = await fake.act(sam, "send", channel_id=world.general, content="Hello everyone")
        await fake.act(ana, "send", channel_id=world.general, content=f"Welcome <@{sam}>!")
        answer = await fake.act(ana, "reply", message_id=hello, content="Hi Sam")
        await fake.act(ana, "react", message_id=hello, emoji="👋")
        await fake.act(sam, "react", message_id=answer, emoji="🙂")
        await fake.act(sam, "dm", content="The café music is too loud")
        [asked] = await fake.wait_posted(1)
        dm = asked["channel_id"]
        for count, text in ((2, "yes"), (3, "yes")):
            await fake.act(sam, "dm", content=text)
            await fake.wait_posted(count, dm)
        await settle(bot)
        assert bot.query("SELECT user_id FROM feedback") == [(f"discord:{sam}",)]
        tables = {t for t, _ in rows_naming(bot, sam)}
        assert {"inbox", "feedback"} <= tables, tables  # there is something to forget

        await fake.act(sam, "dm", content="!forget me")
        await fake.wait_posted(4, dm)
        await fake.act(sam, "dm", content="1")
        [*_, done] = await fake.wait_posted(5, dm)
        assert done["content"] == say("privacy.forgotten")
        # the bot's own reply comes back on the gateway, a reply to Sam's message
        await wait_db(
            bot,
            lambda: bot.query("SELECT 1 FROM inbox WHERE event_id = ?", [f"discord:{done['id']}"]),
            "the reply stored",
        )
        await settle(bot)
        assert rows_naming(bot, sam) == []
        assert rows_naming(bot, ana)  # nobody else is forgotten
        assert bot.query("SELECT count(*) FROM feedback") == [(0,)]


async def test_a_native_poll_with_changed_taken_back_and_late_votes_is_counted_exactly(
    tmp_path: Path,
) -> None:
    """Votes changed, taken back, and made while the bot is down (SIGKILL), when
    Discord's own poll ends too; the bot restarts, the poll is closed and the result is
    what an independent count of what the people did says; a vote typed later is not
    counted."""
    with discord_world(people=5) as world:
        fake, [sam, alex, kim, lee, pat] = world.fake, world.people
        bot = DiscordBot(tmp_path / "bot", world, team=[f"discord:{sam}"])
        await bot.run()
        await fake.act(
            sam,
            "send",
            channel_id=world.general,
            content="!poll Which day suits you? | Tuesday | Thursday | Friday | closes in 3h",
        )
        posts = await fake.wait_posted(2, world.general)
        [poll] = [m for m in posts if m["poll"] is not None]
        [companion] = [m for m in posts if m["poll"] is None]
        assert poll["poll"]["answers"] == ["Tuesday", "Thursday", "Friday"]
        [(number,)] = bot.query("SELECT id FROM polls WHERE state = 'open'")
        chose: dict[str, int | None] = {}  # the test's own count: each person's last choice

        async def vote(person: str, *answers: int) -> None:
            await fake.act(person, "vote", message_id=poll["id"], answers=list(answers))
            chose[person] = answers[0] if answers else None

        def stored() -> int:
            return bot.query("SELECT count(*) FROM poll_votes WHERE poll_id = ?", [number])[0][0]

        await vote(alex, 1)
        await vote(kim, 2)
        await vote(lee, 1)
        await vote(lee, 3)  # changed: Discord sends a removal, then an addition
        await vote(pat, 2)
        await vote(pat)  # taken back
        await vote(sam, 2)
        await wait_db(bot, lambda: stored() >= 8, "the votes stored")
        await fake.act(sam, "reply", message_id=companion["id"], content="1")  # typed later
        chose[sam] = 1
        await wait_db(bot, lambda: stored() >= 9, "the typed vote stored")

        bot.kill()  # down: these only Discord knows of
        await vote(kim, 1)
        await vote(alex)
        await vote(pat, 3)
        await fake.end_poll(poll["id"])  # Discord's poll ends while the bot is down
        bot.start()
        await bot.wait_running()
        await fake.act(sam, "send", channel_id=world.general, content="!poll close")
        [result] = await posted_where(fake, lambda m: m["reply_to"] == poll["id"], "the result")
        await wait_db(
            bot,
            lambda: bot.query("SELECT state FROM polls WHERE id = ?", [number]) == [("closed",)],
            "the poll closed",
        )

        expected = {f"a{n}": list(chose.values()).count(n) for n in (1, 2, 3)}
        assert expected == {"a1": 2, "a2": 0, "a3": 2}
        [(results, voters)] = bot.query("SELECT results, voters FROM polls WHERE id = ?", [number])
        assert json.loads(results) == expected
        assert voters == len([c for c in chose.values() if c is not None])

        told = say("poll.closed_told", number=number)
        late = await fake.act(lee, "reply", message_id=companion["id"], content="2")
        [answer] = await posted_where(fake, lambda m: m["reply_to"] == late, "the late answer")
        assert answer["content"] == told
        await settle(bot)
        assert bot.query("SELECT results FROM polls WHERE id = ?", [number]) == [(results,)]
        said = await fake.posted(world.general)
        assert [m["id"] for m in said if m["reply_to"] == poll["id"]] == [result["id"]]
        assert [m["content"] for m in said].count(told) == 1
        assert bot.query("SELECT count(*) FROM outbox WHERE state = 'failed'") == [(0,)]
