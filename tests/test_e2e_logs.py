"""The log, even at DEBUG: one JSON object per line when asked, and never what
people said, the bot's password, its access token or its keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.localsynapse import LocalSynapse
from harness import BotProcess, Person, wait_until
from harness_discord import DiscordBot, discord_world, settle

pytestmark = pytest.mark.e2e


async def test_at_debug_in_json_the_log_holds_no_words_and_no_secrets(
    synapse: LocalSynapse,
    make_bot: Callable[..., BotProcess],
    make_person: Callable[[LocalSynapse, str], Person],
) -> None:
    sam = make_person(synapse, "sam")
    bot = make_bot(synapse)
    text = bot.config_path.read_text().replace('log_level = "INFO"', 'log_level = "DEBUG"')
    bot.config_path.write_text(text + 'log_format = "json"\n')
    await bot.run()
    await sam.listen()
    room = await sam.open_dm(bot.user_id)
    words = "the lift at Oakfield House xyzzy-4417 is broken"
    before = len(sam.messages_from(bot.user_id, room))
    await sam.send(room, f"!feedback {words}")
    await wait_until(
        lambda: len(sam.messages_from(bot.user_id, room)) > before, 30, "the bot to ask"
    )
    await sam.send(room, "yes")
    await wait_until(lambda: bool(bot.query("SELECT id FROM feedback")), 30, "the feedback saved")
    bot.stop()

    log = bot.log()
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["level"] == "DEBUG" for e in entries)  # it really was at DEBUG
    data = bot.directory / "data"
    credentials = json.loads((data / "credentials.json").read_text())
    secrets = [bot.account.password, credentials["access_token"], "xyzzy-4417", "Oakfield"]
    keys = json.loads((data / "cross-signing.json").read_text())
    secrets += [str(seed) for seed in keys.values()]
    assert [s for s in secrets if s in log] == []


async def test_on_discord_at_debug_the_log_holds_no_words_and_no_token(tmp_path: Path) -> None:
    with discord_world(people=1) as world:
        fake, [sam] = world.fake, world.people
        bot = DiscordBot(tmp_path / "bot", world)
        text = bot.config_path.read_text().replace('log_level = "INFO"', 'log_level = "DEBUG"')
        bot.config_path.write_text(text.replace("[bot]\n", '[bot]\nlog_format = "json"\n'))
        await bot.run()
        await fake.act(sam, "send", channel_id=world.general, content="!ping quokka-5521")
        await fake.wait_posted(1, world.general)
        await fake.act(sam, "dm", content="the lift at Oakfield House is broken quokka-5521")
        await fake.wait_posted(2)  # the greeting and the question before saving
        await settle(bot)
        bot.stop()
        entries = [json.loads(line) for line in bot.log().splitlines() if line.strip()]
        assert any(e["level"] == "DEBUG" for e in entries)
        assert [s for s in (world.token, "quokka-5521", "Oakfield") if s in bot.log()] == []
