"""The bot as a real process on Discord (the fake Discord, a process of its own, reached
only through ``[discord] api_url``): commands, bursts, crashes, a lost gateway, rate
limits, and Matrix and Discord at once from one process and one database."""

from __future__ import annotations

import asyncio
import csv
import signal
from pathlib import Path

import pytest
from test_e2e_feedback import converse

from harness import PONG, copro, wait_until
from harness_discord import (
    HISTORY,
    MESSAGES,
    DiscordBot,
    assert_each_answered_once,
    discord_world,
    pings,
    settle,
    wait_db,
    wait_logins,
)

pytestmark = pytest.mark.e2e

FAST = {"heartbeat_interval": 0.5, "session_ttl": 1.0}  # a frozen bot loses its session in ~3 s


async def test_help_and_ping_in_a_channel_and_a_dm_are_answered_once(tmp_path: Path) -> None:
    with discord_world(people=1) as world:
        fake, [sam] = world.fake, world.people
        bot = await DiscordBot(tmp_path / "bot", world).run()

        ping = await fake.act(sam, "send", channel_id=world.general, content="!ping")
        [pong] = await fake.wait_posted(1, world.general)
        assert (pong["content"], pong["reply_to"]) == (PONG, ping)
        await fake.act(sam, "send", channel_id=world.general, content="!help")
        [_, help_text] = await fake.wait_posted(2, world.general)
        assert "!ping" in help_text["content"]

        dm_ping = await fake.act(sam, "dm", content="!ping")
        dm = next(m["channel_id"] for m in await fake.wait_posted(3) if m["reply_to"] == dm_ping)
        await fake.act(sam, "dm", content="!help")
        [dm_pong, dm_help] = await fake.wait_posted(2, dm)
        assert dm_pong["content"] == PONG and "!ping" in dm_help["content"]

        await settle(bot)
        assert len(await fake.posted(world.general)) == 2
        assert len(await fake.posted(dm)) == 2
        assert bot.query("SELECT count(*) FROM inbox WHERE state = 'done'") == [(4,)]
        assert world.token not in bot.log()


@pytest.mark.parametrize("fill_gaps", [True, False], ids=["back-fill", "no-back-fill"])
async def test_burst_while_frozen_past_the_session_is_handled_exactly_once(
    tmp_path: Path, fill_gaps: bool
) -> None:
    """30 people send 300 messages while the bot is frozen (SIGSTOP): half while its
    connection is still open, half once its session is gone, so RESUME cannot help.
    Without back-fill the same test must fail."""
    with discord_world(people=30, **FAST) as world:
        fake = world.fake
        extra = [] if fill_gaps else ["--no-gap-filling"]
        bot = await DiscordBot(tmp_path / "bot", world, extra_args=extra).run()
        first = await fake.act(world.people[0], "send", channel_id=world.general, content="!ping")
        await fake.wait_posted(1, world.general)

        bot.signal(signal.SIGSTOP)
        try:
            sent = await fake.act_many(pings(world.people, world.general, 150))
            await fake.wait_session_lost()
            sent += await fake.act_many(pings(world.people, world.general, 150, start=150))
        finally:
            bot.signal(signal.SIGCONT)
        await fake.wait_identifies(2, timeout=30)
        await settle(bot)

        if fill_gaps:
            posts = await assert_each_answered_once(fake, world.general, [first, *sent])
            assert [p["reply_to"] for p in posts] == [first, *sent], "replies out of order"
            assert bot.handled(f"discord:{world.general}") == [("done", 301, 301)]
            assert await fake.calls(HISTORY), "no back-fill was asked for"
            assert f"Caught up on channel {world.general}" in bot.log()
        else:
            with pytest.raises(AssertionError, match="never answered"):
                await assert_each_answered_once(fake, world.general, sent)
            assert "Caught up on channel" not in bot.log()


async def test_crash_mid_burst_every_message_handled_and_answered_once(tmp_path: Path) -> None:
    with discord_world(people=30) as world:
        fake, kai = world.fake, world.people[-1]
        bot = await DiscordBot(tmp_path / "bot", world).run()
        in_dm = [await fake.act(kai, "dm", content="!ping")]
        dm = (await fake.wait_posted(1))[0]["channel_id"]

        async def burst(start: int) -> list[str]:
            sent: list[str] = []
            for first in range(start, start + 150, 30):  # rounds: each of the 30 once
                sent += await fake.act_many(pings(world.people, world.general, 30, first))
            return sent

        await fake.fail_next(MESSAGES, 500, after=True)  # a post made, its answer lost
        sending = asyncio.create_task(burst(0))
        await fake.wait_posted(40, world.general, timeout=60)
        bot.kill()  # SIGKILL, mid-burst: no chance to tidy up
        sent = await sending
        sent += await burst(150)  # and more while it is down
        in_dm += [await fake.act(kai, "dm", content=f"!ping {i}") for i in range(3)]
        bot.start()
        await bot.wait_running()
        await fake.wait_posted(300, world.general, timeout=120)
        await settle(bot)

        posts = await assert_each_answered_once(fake, world.general, sent)
        assert [p["reply_to"] for p in posts] == sent, "replies out of order"
        assert len(await assert_each_answered_once(fake, dm, in_dm)) == 4
        assert bot.handled(f"discord:{world.general}") == [("done", 300, 300)]
        assert bot.query("SELECT count(*), count(DISTINCT txn_id) FROM outbox") == [(304, 304)]
        nonces = [c["json"]["nonce"] for c in await fake.calls(MESSAGES)]
        assert len(nonces) > len(set(nonces)), "no post was tried twice: nonces were not tested"


async def test_gateway_drop_resumes_with_replay_and_invalid_session_identifies(
    tmp_path: Path,
) -> None:
    with discord_world(people=5) as world:
        fake = world.fake
        bot = await DiscordBot(tmp_path / "bot", world).run()
        sent = [await fake.act(world.people[0], "send", channel_id=world.general, content="!ping")]
        await fake.wait_posted(1, world.general)
        fills = len(await fake.calls(HISTORY))

        # the connection goes while the bot is busy; what comes meanwhile is replayed
        bot.signal(signal.SIGSTOP)
        await fake.drop()  # a network failure, no close frame
        sent += await fake.act_many(pings(world.people, world.general, 20))
        bot.signal(signal.SIGCONT)
        await wait_logins(fake, "resume", 1)
        await fake.wait_posted(21, world.general, timeout=30)
        assert len(await fake.calls(HISTORY)) == fills, "a RESUME needs no back-fill"

        # an invalid session: some events came before it (and may be read), some after
        bot.signal(signal.SIGSTOP)
        sent += await fake.act_many(pings(world.people, world.general, 10, start=20))
        await fake.invalidate_session(resumable=False)
        sent += await fake.act_many(pings(world.people, world.general, 10, start=30))
        bot.signal(signal.SIGCONT)
        await fake.wait_identifies(2, timeout=30)
        await fake.wait_posted(41, world.general, timeout=30)

        # Discord asks the bot to reconnect (op 7): it RESUMEs, nothing lost meanwhile
        await fake.request_reconnect()
        sent += await fake.act_many(pings(world.people, world.general, 10, start=40))
        await wait_logins(fake, "resume", 2)
        await fake.wait_posted(51, world.general, timeout=30)
        await settle(bot)

        await assert_each_answered_once(fake, world.general, sent)
        assert len(await fake.posted(world.general)) == 51
        assert bot.handled(f"discord:{world.general}") == [("done", 51, 51)]
        assert len([x for x in await fake.logins() if x["op"] == "identify" and x["ok"]]) == 2


async def test_a_crash_loop_waits_longer_before_each_identify(tmp_path: Path) -> None:
    """Discord resets the token of a bot that IDENTIFYs too often: a bot that keeps
    crashing just after it connects waits twice as long each time (1, 2, 4 s)."""
    with discord_world(people=1) as world:
        fake, [sam] = world.fake, world.people
        bot = await DiscordBot(tmp_path / "bot", world).run()
        for count in (2, 3, 4):
            bot.kill()
            bot.start()
            await fake.wait_identifies(count, timeout=30)
        at = [x["at"] for x in await fake.logins() if x["op"] == "identify" and x["ok"]]
        gaps = [b - a for a, b in zip(at, at[1:], strict=False)]
        # a restart alone takes about 1.5 s here; the third wait is 4 s
        assert gaps[2] >= 3.5, f"IDENTIFYs too close together: {gaps}"
        assert "Logged in to Discord just now; waiting" in bot.log()

        ping = await fake.act(sam, "send", channel_id=world.general, content="!ping")
        [pong] = await fake.wait_posted(1, world.general, timeout=30)
        assert pong["reply_to"] == ping


async def test_rate_limited_sends_are_delivered_once_in_order(tmp_path: Path) -> None:
    with discord_world(people=2) as world:
        fake, [sam, kai] = world.fake, world.people
        bot = await DiscordBot(tmp_path / "bot", world).run()
        dm_ping = await fake.act(kai, "dm", content="!ping")
        dm = (await fake.wait_posted(1))[0]["channel_id"]
        await fake.fail_next(MESSAGES, 429, retry_after=0.5, times=3)
        await fake.fail_next(MESSAGES, 429, retry_after=0.5, is_global=True, scope="global")

        in_general, in_dm = [], [dm_ping]
        for i in range(15):
            in_general.append(
                await fake.act(sam, "send", channel_id=world.general, content=f"!ping {i}")
            )
            in_dm.append(await fake.act(kai, "dm", content=f"!ping {i}"))
        await fake.wait_posted(15, world.general, timeout=60)
        await fake.wait_posted(16, dm, timeout=60)
        await settle(bot)

        for channel, sent in ((world.general, in_general), (dm, in_dm)):
            posts = await assert_each_answered_once(fake, channel, sent)
            assert [p["reply_to"] for p in posts] == sent, "replies out of order"
        limited = [c for c in await fake.calls(MESSAGES) if c["status"] == 429]
        assert len(limited) == 4, "the fake never rate-limited the bot: this proved nothing"


async def test_matrix_and_discord_at_once_feedback_in_one_export(
    tmp_path: Path, synapse, register, make_person
) -> None:
    with discord_world(people=1) as world:
        fake, [kai] = world.fake, world.people
        account = register("copro-both")
        bot = DiscordBot(tmp_path / "bot", world, synapse=synapse, account=account)
        await bot.run()
        await wait_until(lambda: bot.log().count("copro-bot is running") >= 2, 30, "both")

        sam = make_person(synapse, "sam")
        await sam.listen()
        room = await sam.open_dm(bot.user_id)
        first = await converse(sam, bot, room, "The bus to the day centre is late.", "consent")
        assert "Reply yes or no" in first
        await converse(sam, bot, room, "yes", "the name question")
        await converse(sam, bot, room, "yes", "thanks")

        said = []
        for text in ("The library shuts too early on Saturdays.", "yes", "yes"):
            await fake.act(kai, "dm", content=text)
            said = await fake.wait_posted(len(said) + 1, timeout=30)
        assert "Reply yes or no" in said[0]["content"]
        assert "saved what you said" in said[-1]["content"]

        out = tmp_path / "feedback.csv"
        done = copro("export", "feedback", "-c", str(bot.config_path), "-o", str(out))
        assert done.returncode == 0, done.stderr
        header, *rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
        words = {r[header.index("What they said")] for r in rows}
        assert words == {
            "The bus to the day centre is late.",
            "The library shuts too early on Saturdays.",
        }
        await wait_db(bot, lambda: bot.query("SELECT count(*) FROM feedback") == [(2,)], "rows")
