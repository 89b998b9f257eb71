"""Nothing a person sends is lost: bursts, gaps, crashes, outages and rate limits."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from bot.localsynapse import LocalSynapse
from harness import PONG, BotProcess, Person, call, wait_until

pytestmark = pytest.mark.e2e


async def shared_room(owner: Person, bot: BotProcess, people: list[Person]) -> str:
    room = await owner.create_room([bot.user_id, *(p.user_id for p in people)])
    await asyncio.gather(*(p.join(room) for p in people))
    await owner.wait_for_member(room, bot.user_id)
    return room


async def send_burst(room: str, people: list[Person], per_person: int) -> list[str]:
    """Everyone sends ``per_person`` pings at once. Returns the event IDs."""

    async def one(person: Person) -> list[str]:
        return [await person.send(room, f"!ping {i}") for i in range(per_person)]

    return [eid for ids in await asyncio.gather(*(one(p) for p in people)) for eid in ids]


async def settle(
    bot: BotProcess, observer: Person, seconds: float = 3, timeout: float = 180
) -> None:
    """Wait until the bot has nothing left to do and nothing new arrives for a while."""

    def snapshot() -> tuple[object, ...]:
        return (
            bot.query("SELECT count(*) FROM inbox WHERE state = 'pending'"),
            bot.query("SELECT count(*) FROM outbox WHERE state = 'pending'"),
            bot.query("SELECT count(*) FROM inbox"),
            len(observer.events),
        )

    deadline = time.monotonic() + timeout
    last, since = snapshot(), time.monotonic()
    while time.monotonic() - since < seconds:
        assert time.monotonic() < deadline, "the bot never settled"
        await asyncio.sleep(0.25)
        now = snapshot()
        if now != last or now[0] != [(0,)] or now[1] != [(0,)]:
            last, since = now, time.monotonic()


def stored(bot: BotProcess, event_ids: list[str]) -> bool:
    """Are all these events in the bot's inbox?"""
    marks = ",".join("?" * len(event_ids))
    found = bot.query(f"SELECT count(*) FROM inbox WHERE event_id IN ({marks})", event_ids)
    return bool(found[0][0] == len(event_ids))


def inbox_states(bot: BotProcess, room: str) -> list[tuple[object, ...]]:
    """(state, messages, distinct messages) of the room's messages in the inbox."""
    return bot.query(
        "SELECT state, count(*), count(DISTINCT event_id) FROM inbox "
        "WHERE room_id = ? AND type = 'm.room.message' GROUP BY state",
        [room],
    )


async def assert_each_answered_once(
    observer: Person, bot: BotProcess, room: str, pings: list[str]
) -> None:
    replies = observer.replies_from(bot.user_id, await observer.history(room))
    missing = [p for p in pings if p not in replies]
    twice = [p for p in pings if len(replies.get(p, [])) > 1]
    assert not missing, f"{len(missing)} of {len(pings)} messages were never answered"
    assert not twice, f"{len(twice)} messages were answered more than once"
    assert all(r[0]["content"]["body"] == PONG for r in replies.values())


@pytest.mark.parametrize("fill_gaps", [True, False], ids=["gap-filling", "no-gap-filling"])
async def test_burst_while_busy_is_handled_exactly_once(synapse, make_bot, make_person, fill_gaps):
    """30 people send 300 messages while the bot is frozen (SIGSTOP): the next sync
    is `limited`. Without gap filling the same test must fail."""
    people = [make_person(synapse, "burst") for _ in range(30)]
    bot = await make_bot(synapse, extra_args=[] if fill_gaps else ["--no-gap-filling"]).run()
    observer = people[0]
    await observer.listen()
    room = await shared_room(observer, bot, people[1:])

    bot.signal(signal.SIGSTOP)  # busy: it cannot sync while people talk
    pings = await send_burst(room, people, 10)
    bot.signal(signal.SIGCONT)
    await settle(bot, observer)

    if fill_gaps:
        await assert_each_answered_once(observer, bot, room, pings)
        assert bot.query(
            "SELECT count(*) FROM inbox WHERE room_id = ? AND state = 'done'", [room]
        ) == [(300,)]
        assert "Filled a gap" in bot.log()
    else:
        with pytest.raises(AssertionError, match="never answered"):
            await assert_each_answered_once(observer, bot, room, pings)


async def test_crash_mid_burst_handles_every_event_once(synapse, make_bot, make_person):
    people = [make_person(synapse, "crash") for _ in range(30)]
    bot = await make_bot(synapse).run()
    observer = people[0]
    await observer.listen()
    room = await shared_room(observer, bot, people[1:])

    burst = asyncio.create_task(send_burst(room, people, 10))
    await wait_until(
        lambda: len(observer.replies_from(bot.user_id)) >= 40, 60, "the bot to be mid-burst"
    )
    bot.kill()  # SIGKILL: no chance to tidy up
    pings = await burst
    bot.start()
    await bot.wait_running()
    await settle(bot, observer)

    await assert_each_answered_once(observer, bot, room, pings)
    assert inbox_states(bot, room) == [("done", 300, 300)]


async def test_crash_while_a_gap_is_stored_ahead_loses_and_doubles_nothing(
    synapse, make_bot, make_person
):
    """While the bot is down, 20 people send 600 pings to a room. On restart the bot
    stores the gap page by page, ahead of its sync position, and the worker starts
    on what is stored. Killed (SIGKILL) there, with part of the gap stored and some
    of it handled but the position not moved, then started again: every ping is
    handled once, answered once, and each person's pings in the order sent."""
    people = [make_person(synapse, "ahead") for _ in range(20)]
    bot = await make_bot(synapse).run()
    observer = people[0]
    await observer.listen()
    room = await shared_room(observer, bot, people[1:])
    await settle(bot, observer, seconds=1)
    bot.stop()
    per_person = 30
    pings = await send_burst(room, people, per_person)
    texts = "SELECT count(*), total(state = 'done') FROM inbox "
    texts += "WHERE room_id = ? AND type = 'm.room.message'"

    def part_stored_and_handled() -> bool:
        """A sync brings at most 100 events of the room (its timeline): the newest,
        stored with the new position after the gap. So more than 100 stored, but not
        the last 100, is the middle of a gap, ahead of the position."""
        stored, handled = bot.query(texts, [room])[0]
        return 100 < stored < len(pings) - 100 and handled > 0

    bot.start()
    await wait_until(part_stored_and_handled, 60, "part of the gap stored and handled", 0.005)
    bot.signal(signal.SIGSTOP)  # frozen where it was: check, then crash there
    assert part_stored_and_handled(), "the gap was stored before the crash: try more pings"
    bot.kill()
    bot.start()
    await bot.wait_running()
    await settle(bot, observer)

    await assert_each_answered_once(observer, bot, room, pings)
    assert inbox_states(bot, room) == [("done", len(pings), len(pings))]
    order = [r[0] for r in bot.query("SELECT event_id FROM inbox ORDER BY seq")]
    for i in range(0, len(pings), per_person):
        sent = pings[i : i + per_person]  # one person's, in the order sent
        assert sorted(sent, key=order.index) == sent


async def test_homeserver_outage_recovers_by_itself(tmp_path, make_bot, make_person):
    server = LocalSynapse(tmp_path / "synapse")
    server.start()
    try:
        person = make_person(server, "outage")
        bot = await make_bot(server).run()
        await person.listen()
        dm = await person.open_dm(bot.user_id)

        before = [await person.send(dm, f"!ping {i}") for i in range(5)]
        server.stop()  # replies may be in flight: they wait in the outbox
        await asyncio.sleep(5)
        server.start()
        after = [await person.send(dm, f"!ping {i}") for i in range(5, 10)]
        # The bot syncs again when its back-off ends (up to some seconds after the
        # homeserver is back): quiet before that is not the end.
        await wait_until(lambda: stored(bot, before + after), 120, "the bot to sync again")
        await settle(bot, person, timeout=120)

        await assert_each_answered_once(person, bot, dm, before + after)
        assert bot.alive()
        assert "Sync failed" in bot.log()
    finally:
        server.stop()


def override_rate_limit(server: LocalSynapse, admin_token: str, user_id: str) -> None:
    """Let a test person send freely, so only the bot meets Synapse's default limits."""
    path = f"/_synapse/admin/v1/users/{user_id}/override_ratelimit"
    call(server, admin_token, "POST", path, {"messages_per_second": 0, "burst_count": 0})


@pytest.mark.timeout(900)
async def test_default_rate_limits_every_reply_delivered_once_in_order(
    tmp_path, make_bot, make_person
):
    server = LocalSynapse(tmp_path / "synapse", default_rate_limits=True)
    server.start()
    try:
        admin = server.register("admin", admin=True)
        person = make_person(server, "limited")
        override_rate_limit(server, admin.access_token, person.user_id)
        bot = await make_bot(server).run()
        await person.listen()
        dm = await person.open_dm(bot.user_id)

        pings = [await person.send(dm, f"!ping {i}") for i in range(50)]
        await settle(bot, person, seconds=3, timeout=600)

        await assert_each_answered_once(person, bot, dm, pings)
        replies = [
            e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
            for e in await person.history(dm)
            if e.get("sender") == bot.user_id and e.get("type") == "m.room.message"
            if e["content"].get("body") == PONG
        ]
        assert replies == pings, "replies arrived out of order"
        assert bot.query("SELECT count(*) FROM outbox WHERE attempts > 1") != [(0,)], (
            "the homeserver never rate-limited the bot, so this test proved nothing"
        )
    finally:
        server.stop()


async def test_bot_started_before_the_homeserver_waits_for_it(tmp_path, make_bot, make_person):
    server = LocalSynapse(tmp_path / "synapse")
    server.start()
    try:
        person = make_person(server, "early")
        bot = make_bot(server)
        server.stop()
        bot.start()  # the homeserver is down: the bot must wait, not die
        await wait_until(lambda: "Cannot log in yet" in bot.log(), 30, "a login retry")
        assert bot.alive()
        server.start()
        await bot.wait_running(timeout=60)
        await person.listen()
        dm = await person.open_dm(bot.user_id)
        assert (await person.ask(dm, "!ping", bot.user_id))["content"]["body"] == PONG
    finally:
        server.stop()


async def test_session_ended_by_the_homeserver_logs_in_again(synapse, make_bot, make_person):
    person = make_person(synapse, "relogin")
    bot = await make_bot(synapse).run()
    await person.listen()
    dm = await person.open_dm(bot.user_id)

    credentials = json.loads((bot.directory / "data" / "credentials.json").read_text())
    call(synapse, credentials["access_token"], "POST", "/_matrix/client/v3/logout", {})

    assert (await person.ask(dm, "!ping", bot.user_id, timeout=60))["content"]["body"] == PONG
    assert "logging in again" in bot.log()
    renewed = json.loads((bot.directory / "data" / "credentials.json").read_text())
    assert renewed["access_token"] != credentials["access_token"]
    assert renewed["device_id"] == credentials["device_id"]  # same device: same transaction IDs
