"""``copro doctor`` on Matrix, against the real Synapse: a bot that has run once
is found logged in and cross-signed; the team room it is not in, and the rate
limit only an admin can see or lift, are said plainly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import unique

from bot.localsynapse import LocalSynapse
from harness import REPO, BotProcess, Person, call, wait_until

pytestmark = pytest.mark.e2e


def doctor(bot: BotProcess) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor", "-c", str(bot.config_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout


def line(said: str, words: str) -> str:
    [found] = [text for text in said.splitlines() if words in text]
    return found


async def ran_once(bot: BotProcess) -> None:
    await bot.run()
    await wait_until(lambda: "Cross-signed the bot's device" in bot.log(), 30, "cross-signing")
    bot.stop()


async def test_doctor_finds_the_bot_logged_in_and_cross_signed_and_says_what_it_cannot_tell(
    synapse: LocalSynapse,
    make_bot: Callable[..., BotProcess],
    make_person: Callable[[LocalSynapse, str], Person],
) -> None:
    alice = make_person(synapse, "alice")
    bot = make_bot(synapse, team=[alice.user_id])
    await ran_once(bot)
    code, said = doctor(bot)
    assert code == 0, said
    assert line(said, "The homeserver").startswith("OK")
    assert line(said, "login works").startswith("OK")
    assert line(said, "is cross-signed").startswith("OK")
    limit = line(said, "how fast")
    assert limit.startswith("CHECK") and "override_ratelimit" in limit
    assert bot.account.password not in said

    # A team room the bot is not in is a problem, with what to do.
    room = await alice.create_room()
    text = bot.config_path.read_text()
    bot.config_path.write_text(
        text.replace("[rooms]\n", f"[rooms]\nteam_room = {json.dumps(room)}\n")
    )
    code, said = doctor(bot)
    assert code == 1
    assert line(said, "team room").startswith("PROBLEM") and "Invite it" in said


async def test_doctor_sees_the_rate_limit_when_the_bot_may_and_its_exemption(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    account = synapse.register(unique("copro-admin-bot"), admin=True)
    bot = BotProcess(synapse, tmp_path / "bot", account)
    try:
        await ran_once(bot)
        code, said = doctor(bot)
        assert code == 1 and line(said, "how fast").startswith("PROBLEM")
        endpoint = f"/_synapse/admin/v1/users/{account.user_id}/override_ratelimit"
        body: dict[str, Any] = {"messages_per_second": 0, "burst_count": 0}
        call(synapse, account.access_token, "POST", endpoint, body)
        code, said = doctor(bot)
        assert code == 0 and line(said, "as fast as it needs").startswith("OK")
    finally:
        bot.stop()
