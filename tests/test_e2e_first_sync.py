"""The first sync request goes out as the bot starts, before matrix-nio and the
rest of the bot are loaded, and its answer is the one the sync loop reads; if
the kept session no longer works, the answer is dropped and nothing is lost.

The bot runs as a real process against Synapse. A few lines started before
``copro`` note each request the bot makes to the homeserver (the endpoint, the
sync position it asked from, and whether matrix-nio was loaded yet)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import PONG, BotProcess, Person, wait_until

pytestmark = pytest.mark.e2e

NOTING = """
import json, sys
NOTES = sys.argv.pop(1)
from bot.matrix import http
ask = http.MatrixHTTP.request

async def request(self, method, endpoint, body=None, params=None, timeout=None):
    note = {"endpoint": endpoint, "since": (params or {}).get("since"), "nio": "nio" in sys.modules}
    with open(NOTES, "a") as f:
        f.write(json.dumps(note) + "\\n")
    return await ask(self, method, endpoint, body, params, timeout)

http.MatrixHTTP.request = request
from bot.cli import main
sys.exit(main())
"""


def noting_bot(make_bot: Any, synapse: Any, tmp_path: Path) -> tuple[BotProcess, Path]:
    script, notes = tmp_path / "noting.py", tmp_path / "requests.jsonl"
    script.write_text(NOTING)
    return make_bot(synapse, launcher=[sys.executable, str(script), str(notes)]), notes


def requests(notes: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in notes.read_text().splitlines()]


def forget(notes: Path) -> None:
    notes.unlink()


def kept_session(bot: BotProcess) -> dict[str, str]:
    data: dict[str, str] = json.loads((bot.directory / "data" / "credentials.json").read_text())
    return data


def position(bot: BotProcess) -> str:
    return str(bot.query("SELECT value FROM sync_state WHERE key = 'next_batch'")[0][0])


async def down_while_pinged(bot: BotProcess, person: Person, notes: Path) -> tuple[str, list[str]]:
    """A direct chat with the bot; the bot stops, and the person sends five pings.
    Returns the bot's sync position when it stopped, and the pings' event IDs."""
    await bot.run()
    await person.listen()
    room = await person.create_room([bot.user_id], direct=True)
    await person.wait_for_member(room, bot.user_id)
    await person.ask(room, "!ping", bot.user_id)
    bot.stop()
    since = position(bot)
    forget(notes)
    pings = [await person.send(room, f"!ping {i}") for i in range(5)]
    return since, pings


async def assert_each_answered_once(bot: BotProcess, person: Person, pings: list[str]) -> None:
    def all_answered() -> bool:
        return set(pings) <= set(person.replies_from(bot.user_id))

    await wait_until(all_answered, 60, "every ping answered")
    marks = ",".join("?" * len(pings))
    handled = bot.query(
        f"SELECT state, count(*) FROM inbox WHERE event_id IN ({marks}) GROUP BY state", pings
    )
    assert handled == [("done", len(pings))]
    room = bot.query("SELECT room_id FROM rooms WHERE dm_with = ?", [person.user_id])[0][0]
    replies = person.replies_from(bot.user_id, await person.history(room))
    assert all(len(replies[p]) == 1 for p in pings), "a ping was answered twice"
    assert all(replies[p][0]["content"]["body"] == PONG for p in pings)


async def test_the_first_sync_is_asked_for_before_the_bot_loads_and_its_answer_is_used(
    synapse, make_bot, make_person, tmp_path
):
    bot, notes = noting_bot(make_bot, synapse, tmp_path)
    person = make_person(synapse, "early")
    since, pings = await down_while_pinged(bot, person, notes)

    bot.start()
    await assert_each_answered_once(bot, person, pings)

    asked = requests(notes)
    assert asked[0] == {"endpoint": "v3/sync", "since": since, "nio": False}, asked[:3]
    from_there = [a for a in asked if a["endpoint"] == "v3/sync" and a["since"] == since]
    assert len(from_there) == 1, "the loop asked again instead of reading the first answer"


async def test_a_session_ended_while_the_bot_was_down_drops_the_first_answer_and_loses_nothing(
    synapse, make_bot, make_person, tmp_path
):
    bot, notes = noting_bot(make_bot, synapse, tmp_path)
    person = make_person(synapse, "ended")
    since, pings = await down_while_pinged(bot, person, notes)
    kept = kept_session(bot)
    ended = Person(synapse, bot.account)  # the bot's account, to end its kept session
    try:
        ended.client.restore_login(bot.user_id, kept["device_id"], kept["access_token"])
        await ended.client.logout()
    finally:
        await ended.close()

    bot.start()
    await assert_each_answered_once(bot, person, pings)

    asked = requests(notes)
    assert asked[0] == {"endpoint": "v3/sync", "since": since, "nio": False}, asked[:3]
    assert any(a["endpoint"] == "v3/login" for a in asked), "the bot did not log in again"
    from_there = [a for a in asked if a["endpoint"] == "v3/sync" and a["since"] == since]
    assert len(from_there) == 2, "the first answer (an ended session's) was not asked again"
    assert "M_UNKNOWN_TOKEN" not in bot.log()[bot._log_start :]
