"""Timestamps are not proof, against a real homeserver.

A homeserver stamps each event with ``origin_server_ts``, but another homeserver
(over federation) or an application service (``?ts=``) can claim any time. This
module starts its own Synapse with an application service whose users send
events that claim to be older than they are.
"""

from __future__ import annotations

import secrets
import signal
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from bot.localsynapse import LocalSynapse
from harness import call, wait_until

pytestmark = pytest.mark.e2e

POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"
RESPONSE = "org.matrix.msc3381.poll.response"
AS_TOKEN = secrets.token_hex(16)


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSynapse]:
    """A homeserver with an application service that may claim any time (``?ts=``)."""
    server = LocalSynapse(tmp_path_factory.mktemp("synapse-with-appservice"))
    server.directory.mkdir(parents=True, exist_ok=True)
    server._generate_config()  # noqa: SLF001 (so the appservice is there at the first start)
    registration = server.directory / "claims.yaml"
    registration.write_text(
        yaml.safe_dump(
            {
                "id": "claims",
                "url": None,
                "as_token": AS_TOKEN,
                "hs_token": secrets.token_hex(16),
                "sender_localpart": "claims-bot",
                "rate_limited": False,
                "namespaces": {
                    "users": [{"exclusive": True, "regex": "@claims-.*"}],
                    "rooms": [],
                    "aliases": [],
                },
            }
        )
    )
    config = yaml.safe_load(server.config_path.read_text())
    config["app_service_config_files"] = [str(registration)]
    server.config_path.write_text(yaml.safe_dump(config))
    server.start()
    yield server
    server.stop()


class Claimer:
    """Someone whose homeserver claims whatever time it likes for their events."""

    def __init__(self, synapse: LocalSynapse, name: str) -> None:
        self.synapse = synapse
        localpart = f"claims-{name}-{secrets.token_hex(3)}"
        call(
            synapse,
            AS_TOKEN,
            "POST",
            "/_matrix/client/v3/register",
            {"type": "m.login.application_service", "username": localpart},
        )
        self.user_id = f"@{localpart}:{synapse.server_name}"

    def _as(self, path: str, **params: str) -> str:
        query = urllib.parse.urlencode({"user_id": self.user_id, **params})
        return f"{path}?{query}"

    def join(self, room_id: str) -> None:
        room = urllib.parse.quote(room_id)
        call(self.synapse, AS_TOKEN, "POST", self._as(f"/_matrix/client/v3/join/{room}"), {})

    def send(self, room_id: str, event_type: str, content: dict[str, Any], claimed: int) -> str:
        room = urllib.parse.quote(room_id)
        path = f"/_matrix/client/v3/rooms/{room}/send/{event_type}/{secrets.token_hex(8)}"
        answer = call(self.synapse, AS_TOKEN, "PUT", self._as(path, ts=str(claimed)), content)
        return str(answer["event_id"])


async def test_an_answer_sent_after_the_close_does_not_count_whatever_time_it_claims(
    synapse, make_bot, make_person
):
    alex, sam = make_person(synapse, "alex"), make_person(synapse, "sam")
    liar = Claimer(synapse, "pat")
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    await alex.listen()
    room = await alex.create_room([bot.user_id, sam.user_id, liar.user_id])
    await sam.join(room)
    liar.join(room)
    await alex.wait_for_member(room, bot.user_id)

    await alex.send(room, "!poll Which day suits you? | Tuesday | Thursday")
    await wait_until(lambda: alex.events_from(bot.user_id, POLL_START, room), 30, "the poll")
    start = alex.events_from(bot.user_id, POLL_START, room)[-1]
    opened = start["origin_server_ts"]
    await sam.answer_poll(room, start["event_id"], ["a1"])
    await wait_until(
        lambda: bot.query("SELECT count(*) FROM poll_votes") == [(1,)], 30, "Sam's answer"
    )

    # The bot is busy (frozen) while the poll is closed and, after that, an answer
    # comes that claims to be from before; both come in the same sync.
    bot.signal(signal.SIGSTOP)
    try:
        await alex.send(room, "!poll close")
        relates = {"rel_type": "m.reference", "event_id": start["event_id"]}
        content = {"m.relates_to": relates, RESPONSE: {"answers": ["a2"]}}
        late = liar.send(room, RESPONSE, content, claimed=opened + 1)
    finally:
        bot.signal(signal.SIGCONT)

    await wait_until(lambda: alex.events_from(bot.user_id, POLL_END, room), 60, "the end")
    end = alex.events_from(bot.user_id, POLL_END, room)[-1]
    assert end["content"]["m.poll.results"] == {"a1": 1, "a2": 0}
    await wait_until(
        lambda: bot.query("SELECT state FROM inbox WHERE event_id = ?", [late]) == [("done",)],
        30,
        "the late answer to be handled",
    )
    await wait_until(lambda: late in alex.replies_from(bot.user_id), 30, "a reply to it")
    assert (
        "has closed, so I can't count this answer"
        in (alex.replies_from(bot.user_id)[late][0]["content"]["body"])
    )


async def test_a_going_that_claims_to_be_older_does_not_jump_the_waiting_list(
    synapse, make_bot, make_person
):
    alex, sam = make_person(synapse, "alex"), make_person(synapse, "sam")
    liar = Claimer(synapse, "lee")
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    await alex.listen()
    await sam.listen()
    room = await alex.create_room([bot.user_id, sam.user_id, liar.user_id])
    await sam.join(room)
    liar.join(room)
    await alex.wait_for_member(room, bot.user_id)
    await alex.send(room, "!workshop new Planning | in 3 days at 2pm | Town Hall | capacity 1")
    await wait_until(lambda: bot.query("SELECT count(*) FROM workshops") == [(1,)], 30, "it")
    await alex.ask(room, "!going 1", bot.user_id)
    answer = await sam.ask(room, "!going 1", bot.user_id)
    assert "You are number 1" in answer["content"]["body"]

    # Lee's "!going" comes now but claims to be an hour older than everyone's.
    claimed = int((time.time() - 3600) * 1000)
    content = {"msgtype": "m.text", "body": "!going 1"}
    going = liar.send(room, "m.room.message", content, claimed=claimed)
    await wait_until(
        lambda: bot.query("SELECT state FROM inbox WHERE event_id = ?", [going]) == [("done",)],
        30,
        "Lee's answer to be handled",
    )
    waiting = bot.query(
        "SELECT user_id FROM workshop_rsvps WHERE waiting = 1 ORDER BY since, rowid"
    )
    assert [u for (u,) in waiting] == [sam.user_id, liar.user_id]
