"""Unit tests for the Matrix adapter's pure parts: no homeserver, a real SQLite file.

The adapter is built without logging in; ``_ingest``, ``interpret`` and
``queue_text`` only need the database and the config. Invites and upgrades are
reported by the adapter and decided by the core: those tests run the real worker.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

import harness
from bot.config import Config, load_config
from bot.context import Choice, Choices, Incoming, Invitation, Message, RoomChange, RoomReplaced
from bot.dispatch import Dispatcher
from bot.matrix import INVITE_TYPE, Backoff, MatrixAdapter, notice, strip_reply_fallback
from bot.matrix.http import DEFAULT_RATE_LIMIT_WAIT, parse_retry_after
from bot.messages import Messages
from bot.worker import Worker
from commands import build_registry
from storage import inbox, rooms
from storage import roles as role_store
from storage.db import Store
from storage.inbox import InboxEvent

BOT = "@copro-bot:council.test"
TEAM = "@alice:staff.test"
ALLOWED_PERSON = "@dana:partner.test"
ALLOWED_SERVER = "council.test"
STRANGER = "@eve:elsewhere.test"
SAM = "@sam:council.test"
ROOM = "!room:council.test"


# ----- helpers ------------------------------------------------------------------


def write_config(tmp_path: Path, *, follow_upgrades: bool = True) -> Config:
    path = harness.write_config(
        tmp_path / "config.toml",
        user_id=BOT,
        team=[TEAM],
        allow_invites_from=[ALLOWED_PERSON, ALLOWED_SERVER],
        follow_upgrades=follow_upgrades,
    )
    return load_config(path, env={})


@pytest.fixture
def adapter(tmp_path: Path, store: Store) -> MatrixAdapter:
    return MatrixAdapter(write_config(tmp_path), store)


_ids = itertools.count(1)


def event(
    sender: str = SAM,
    body: Any = "!ping",
    *,
    ts: int = 1_000,
    msgtype: str = "m.text",
    **content: Any,
) -> dict[str, Any]:
    """A room message as it comes from /sync."""
    return {
        "event_id": f"$e{next(_ids)}",
        "sender": sender,
        "type": "m.room.message",
        "origin_server_ts": ts,
        "content": {"msgtype": msgtype, "body": body, **content},
    }


def bot_joins(ts: int, *, prev: str | None = "invite") -> dict[str, Any]:
    return {
        "event_id": f"$join{next(_ids)}",
        "sender": BOT,
        "type": "m.room.member",
        "state_key": BOT,
        "origin_server_ts": ts,
        "content": {"membership": "join"},
        "unsigned": {"prev_content": {"membership": prev}} if prev else {},
    }


def sync(joined: dict[str, list[dict[str, Any]]] | None = None, **rooms_data: Any) -> dict:
    """A /sync answer with the given timeline events per joined room."""
    join = {room_id: {"timeline": {"events": events}} for room_id, events in (joined or {}).items()}
    return {"next_batch": f"s{next(_ids)}", "rooms": {"join": join, **rooms_data}}


def ingest(
    adapter: MatrixAdapter,
    data: dict[str, Any],
    gaps: dict[str, list[dict[str, Any]]] | None = None,
    *,
    first: bool = False,
) -> int:
    with adapter.store.write() as db:
        return adapter._ingest(db, data, gaps or {}, first=first)


def stored_ids(store: Store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT event_id FROM inbox ORDER BY seq")]


def stored(store: Store, raw: dict[str, Any], room_id: str = ROOM) -> InboxEvent:
    """Put one event in the inbox and read it back, as the worker would."""
    with store.write() as db:
        inbox.add_events(db, room_id, [raw])
    return next(e for e in inbox.pending(store.db) if e.event_id == raw["event_id"])


def interpret(adapter: MatrixAdapter, raw: dict[str, Any], room_id: str = ROOM) -> Message | None:
    ev = stored(adapter.store, raw, room_id)
    with adapter.store.write() as db:
        return adapter.interpret(db, ev)


async def handled(
    adapter: MatrixAdapter, raw: dict[str, Any], room_id: str = ROOM
) -> Incoming | RoomChange | None:
    """Store one event; what interpret() reports of it, once the real worker has handled it."""
    ev = stored(adapter.store, raw, room_id)
    with adapter.store.write() as db:
        happened = adapter.interpret(db, ev)
    await run_worker(adapter)
    return happened


async def run_worker(adapter: MatrixAdapter) -> None:
    """The core (the real dispatcher and worker) handles what is in the inbox."""
    dispatcher = Dispatcher(adapter.config, Messages.load(), build_registry(), adapter)
    while await Worker(adapter.store, dispatcher, adapter).run_batch():
        pass


def outbox_actions(store: Store) -> list[tuple[str, str]]:
    return [tuple(r) for r in store.db.execute("SELECT action, room_id FROM outbox ORDER BY id")]


def invite_sync(inviter: str, room_id: str, *, is_direct: bool = False) -> dict[str, Any]:
    member = {
        "type": "m.room.member",
        "state_key": BOT,
        "sender": inviter,
        "content": {"membership": "invite", "is_direct": is_direct},
    }
    name = {"type": "m.room.name", "state_key": "", "sender": inviter, "content": {"name": "x"}}
    return sync(invite={room_id: {"invite_state": {"events": [name, member]}}})


# ----- strip_reply_fallback -----------------------------------------------------------


def test_reply_fallback_is_removed() -> None:
    assert strip_reply_fallback("> <@a:b> quoted\n> more\n\n!ping") == "!ping"


def test_reply_fallback_keeps_every_line_of_the_answer() -> None:
    assert strip_reply_fallback("> <@a:b> quoted\n\n!echo one\ntwo") == "!echo one\ntwo"


@pytest.mark.parametrize("body", ["!ping", "", "hello\n> not a fallback", "a > b"])
def test_text_without_a_fallback_is_unchanged(body: str) -> None:
    assert strip_reply_fallback(body) == body


def test_a_body_that_is_only_quotes_becomes_empty() -> None:
    assert strip_reply_fallback("> <@a:b> quoted\n> more") == ""


# ----- notice ---------------------------------------------------------------------


def test_notice_is_plain_and_pings_nobody() -> None:
    content = notice("Hello *there* <b>you</b>", None, ())
    assert content == {
        "msgtype": "m.notice",
        "body": "Hello *there* <b>you</b>",
        "m.mentions": {},
    }


def test_notice_mentions_only_the_given_people() -> None:
    content = notice("Hi", None, [SAM])
    assert content["m.mentions"] == {"user_ids": [SAM]}
    assert "format" not in content and "formatted_body" not in content


def test_notice_as_a_reply() -> None:
    content = notice("pong", "$abc", ())
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$abc"}}
    assert content["m.mentions"] == {}


def test_queue_text_writes_a_notice_to_the_outbox(adapter: MatrixAdapter, store: Store) -> None:
    with store.write() as db:
        adapter.queue_text(db, ROOM, "pong", reply_to="$abc")
    (row,) = store.db.execute(
        "SELECT action, room_id, event_type, content, state FROM outbox"
    ).fetchall()
    action, room_id, event_type, content, state = row
    assert (action, room_id, event_type, state) == ("send", ROOM, "m.room.message", "pending")
    assert json.loads(content) == notice("pong", "$abc", ())


def test_a_question_on_matrix_is_its_words_only(adapter: MatrixAdapter, store: Store) -> None:
    yes_no = Choices((Choice("yes", "Yes"), Choice("no", "No")), write="Write it here")
    with store.write() as db:
        adapter.queue_question(db, ROOM, SAM, "Can I save it? Reply yes or no.", yes_no)
    (content,) = store.db.execute("SELECT content FROM outbox").fetchone()
    assert json.loads(content) == notice("Can I save it? Reply yes or no.", None, ())


# ----- parse_retry_after -------------------------------------------------------------


def test_retry_after_header_in_seconds() -> None:
    assert parse_retry_after("7", {"retry_after_ms": 1000}) == 7.0
    assert parse_retry_after(" 2.5 ", {}) == 2.5


def test_retry_after_header_as_http_date() -> None:
    when = datetime.fromtimestamp(time.time() + 30, UTC)
    wait = parse_retry_after(format_datetime(when, usegmt=True), {})
    assert 25 <= wait <= 31


def test_retry_after_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", {}) == 0.0


def test_retry_after_ms_in_the_body() -> None:
    assert parse_retry_after(None, {"retry_after_ms": 1500}) == 1.5
    assert parse_retry_after("", {"retry_after_ms": 0}) == 0.0


def test_retry_after_default() -> None:
    assert parse_retry_after(None, {}) == DEFAULT_RATE_LIMIT_WAIT == 5.0


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        ("-3", {}, 5.0),  # a negative wait is invalid: fall back to the default
        ("-3", {"retry_after_ms": 1500}, 1.5),
        ("999999", {}, 3600.0),  # capped
        ("soon", {}, 5.0),
        ("soon", {"retry_after_ms": 2000}, 2.0),
        (None, {"retry_after_ms": -10}, 5.0),
        (None, {"retry_after_ms": "2000"}, 5.0),
        (None, {"retry_after_ms": None}, 5.0),
    ],
)
def test_retry_after_negative_or_garbage(header: str | None, body: dict, expected: float) -> None:
    assert parse_retry_after(header, body) == expected


@pytest.mark.parametrize(
    ("header", "body"),
    [("inf", {}), ("1e400", {}), (None, {"retry_after_ms": float("inf")})],
)
def test_retry_after_is_always_finite(header: str | None, body: dict) -> None:
    assert math.isfinite(parse_retry_after(header, body))


# ----- Backoff --------------------------------------------------------------------


def test_backoff_grows_then_caps() -> None:
    backoff = Backoff(first=0.5, most=4.0)
    delays = [backoff.next_delay() for _ in range(8)]
    expected = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    for got, base in zip(delays, expected, strict=True):
        assert 0.8 * base <= got <= 1.2 * base  # 20 % jitter either way


def test_backoff_reset_starts_again() -> None:
    backoff = Backoff(first=1.0, most=30.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert 0.8 <= backoff.next_delay() <= 1.2


# ----- _ingest ------------------------------------------------------------------------


def test_first_sync_stores_no_events_but_notes_joined_rooms(
    adapter: MatrixAdapter, store: Store
) -> None:
    data = sync({ROOM: [event(ts=100), event(ts=300), event(ts=200)], "!quiet:x.test": []})
    assert ingest(adapter, data, first=True) == 0
    assert stored_ids(store) == []
    assert rooms.get(store.db, ROOM) == rooms.Room(ROOM, "joined", False, None, 300)
    quiet = rooms.get(store.db, "!quiet:x.test")
    assert quiet is not None and quiet.state == "joined"


def test_in_a_joined_room_sync_order_not_clocks_decides_what_is_new(
    adapter: MatrixAdapter, store: Store
) -> None:
    """A server with a slow clock must not have its people's messages dropped."""
    ingest(adapter, sync({ROOM: [event(ts=300)]}), first=True)
    slow_clock, late = event(ts=299), event(ts=400)
    assert ingest(adapter, sync({ROOM: [slow_clock, late]})) == 2
    assert stored_ids(store) == [slow_clock["event_id"], late["event_id"]]


def test_own_events_are_skipped(adapter: MatrixAdapter, store: Store) -> None:
    mine, theirs = event(sender=BOT), event(sender=SAM)
    assert ingest(adapter, sync({ROOM: [mine, theirs]})) == 1
    assert stored_ids(store) == [theirs["event_id"]]


def test_events_before_the_bot_joined_a_new_room_are_dropped(
    adapter: MatrixAdapter, store: Store
) -> None:
    before, after = event(ts=10), event(ts=30)
    assert ingest(adapter, sync({ROOM: [before, bot_joins(ts=20), after]})) == 1
    assert stored_ids(store) == [after["event_id"]]
    room = rooms.get(store.db, ROOM)
    assert room is not None and (room.state, room.joined_at_ts) == ("joined", 20)


def test_a_profile_change_is_not_a_new_join(adapter: MatrixAdapter, store: Store) -> None:
    before, after = event(ts=10), event(ts=30)
    ingest(adapter, sync({ROOM: [before, bot_joins(ts=20, prev="join"), after]}))
    assert stored_ids(store) == [before["event_id"], after["event_id"]]


@pytest.mark.parametrize("missing", ["event_id", "sender"])
def test_events_without_id_or_sender_are_skipped(
    adapter: MatrixAdapter, store: Store, missing: str
) -> None:
    broken, good = event(), event()
    del broken[missing]
    assert ingest(adapter, sync({ROOM: [broken, good]})) == 1
    assert stored_ids(store) == [good["event_id"]]


def test_gap_events_come_before_the_timeline(adapter: MatrixAdapter, store: Store) -> None:
    gap = [event(ts=1), event(ts=2)]
    timeline = [event(ts=3), event(ts=4)]
    assert ingest(adapter, sync({ROOM: timeline}), gaps={ROOM: gap}) == 4
    assert stored_ids(store) == [e["event_id"] for e in gap + timeline]


def test_a_reingested_event_is_not_duplicated(adapter: MatrixAdapter, store: Store) -> None:
    ev = event()
    assert ingest(adapter, sync({ROOM: [ev]})) == 1
    assert ingest(adapter, sync({ROOM: [ev]}), gaps={ROOM: [ev]}) == 0
    assert stored_ids(store) == [ev["event_id"]]


def test_left_rooms_are_noted(adapter: MatrixAdapter, store: Store) -> None:
    ingest(adapter, sync(leave={ROOM: {}}))
    room = rooms.get(store.db, ROOM)
    assert room is not None and room.state == "left"


# ----- invites ------------------------------------------------------------------------


async def answer_invite(adapter: MatrixAdapter, inviter: str, *, is_direct: bool = False) -> None:
    """Ingest an invite: interpret() reports it, and the core answers it."""
    assert ingest(adapter, invite_sync(inviter, ROOM, is_direct=is_direct)) == 1
    (row,) = inbox.pending(adapter.store.db)
    assert (row.type, row.sender, row.room_id) == (INVITE_TYPE, inviter, ROOM)
    with adapter.store.write() as db:
        reported = adapter.interpret(db, row)
    assert reported == Invitation(row.event_id, ROOM, inviter, is_direct, row.origin_server_ts)
    await run_worker(adapter)
    assert inbox.pending(adapter.store.db) == []


@pytest.mark.parametrize(
    "inviter",
    [ALLOWED_PERSON, "@erin:council.test", TEAM],
    ids=["allowed person", "allowed server", "team member"],
)
async def test_invite_from_someone_allowed_is_accepted(
    adapter: MatrixAdapter, store: Store, inviter: str
) -> None:
    await answer_invite(adapter, inviter, is_direct=True)
    assert outbox_actions(store) == [("join", ROOM), ("send", ROOM)]  # and a greeting
    assert rooms.get(store.db, ROOM) == rooms.Room(ROOM, "invited", True, inviter, None)


async def test_invite_from_a_granted_champion_is_accepted(
    adapter: MatrixAdapter, store: Store
) -> None:
    with store.write() as db:
        role_store.grant(db, "@chris:far.test", "champion", actor=TEAM)
    await answer_invite(adapter, "@chris:far.test")
    assert outbox_actions(store) == [("join", ROOM)]


@pytest.mark.parametrize(
    "inviter",
    [STRANGER, "@dana:council.test.evil.test", "@Dana:partner.test"],
    ids=["stranger", "lookalike server", "different case"],
)
async def test_invite_from_a_stranger_is_refused(
    adapter: MatrixAdapter, store: Store, inviter: str
) -> None:
    await answer_invite(adapter, inviter)
    assert outbox_actions(store) == [("leave", ROOM)]
    room = rooms.get(store.db, ROOM)
    assert room is not None and (room.state, room.inviter) == ("refused", inviter)


async def test_a_direct_chat_turned_down_is_told_why_and_nothing_in_it_is_taken_in(
    adapter: MatrixAdapter, store: Store
) -> None:
    await answer_invite(adapter, STRANGER, is_direct=True)
    assert outbox_actions(store) == [("join", ROOM), ("send", ROOM), ("leave", ROOM)]
    # While the bot is in the room to say why, what is said there is not handled.
    assert ingest(adapter, sync({ROOM: [bot_joins(ts=20), event(STRANGER, "hello", ts=30)]})) == 0
    room = rooms.get(store.db, ROOM)
    assert room is not None and room.state == "refused"


def test_invite_for_someone_else_is_ignored(adapter: MatrixAdapter, store: Store) -> None:
    data = invite_sync(TEAM, ROOM)
    for e in data["rooms"]["invite"][ROOM]["invite_state"]["events"]:
        e["state_key"] = "@other:council.test"
    assert ingest(adapter, data) == 0


async def test_a_refused_room_stays_refused_when_left(adapter: MatrixAdapter, store: Store) -> None:
    await answer_invite(adapter, STRANGER)
    ingest(adapter, sync(leave={ROOM: {}}))
    room = rooms.get(store.db, ROOM)
    assert room is not None and room.state == "refused"


# ----- interpret -----------------------------------------------------------------------


def test_a_text_message_becomes_a_message(adapter: MatrixAdapter) -> None:
    raw = event(body="!ping")
    assert interpret(adapter, raw) == Message(
        raw["event_id"], ROOM, SAM, "!ping", False, ts=raw["origin_server_ts"]
    )


def test_a_reply_loses_its_fallback(adapter: MatrixAdapter) -> None:
    raw = event(
        body="> <@alice:staff.test> Welcome!\n\n!help",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": "$earlier"}}},
    )
    msg = interpret(adapter, raw)
    assert msg is not None and msg.body == "!help"


def test_quotes_are_kept_when_it_is_not_a_reply(adapter: MatrixAdapter) -> None:
    msg = interpret(adapter, event(body="> a quote\n\nmy words"))
    assert msg is not None and msg.body == "> a quote\n\nmy words"


def test_is_direct_comes_from_the_rooms_table(adapter: MatrixAdapter, store: Store) -> None:
    with store.write() as db:
        rooms.upsert(db, "!dm:council.test", state="joined", is_direct=True)
    dm = interpret(adapter, event(), room_id="!dm:council.test")
    group = interpret(adapter, event(), room_id=ROOM)
    assert dm is not None and dm.is_direct
    assert group is not None and not group.is_direct


@pytest.mark.parametrize(
    "raw",
    [
        event(msgtype="m.notice"),
        event(msgtype="m.image"),
        event(body="!ping", **{"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}}),
        event(body=None),
        event(body=["!ping"]),
        {k: v for k, v in event().items() if k != "content"},
        {**event(), "content": "!ping"},
        {**event(), "type": "m.reaction"},
    ],
    ids=[
        "notice",
        "image",
        "edit",
        "no body",
        "list body",
        "no content",
        "content not a table",
        "reaction",
    ],
)
def test_things_that_are_not_commands(adapter: MatrixAdapter, store: Store, raw: dict) -> None:
    assert interpret(adapter, raw) is None
    assert outbox_actions(store) == []


def tombstone(sender: str, replacement: Any = "!new:council.test", state_key: str = "") -> dict:
    return {
        "event_id": f"$tomb{next(_ids)}",
        "sender": sender,
        "type": "m.room.tombstone",
        "state_key": state_key,
        "origin_server_ts": 5,
        "content": {"body": "This room has moved", "replacement_room": replacement},
    }


async def test_upgrade_by_an_allowed_sender_is_followed(
    adapter: MatrixAdapter, store: Store
) -> None:
    with store.write() as db:
        rooms.upsert(db, ROOM, state="joined", is_direct=True)
    raw = tombstone(TEAM)
    reported = await handled(adapter, raw)
    assert reported == RoomReplaced(raw["event_id"], ROOM, TEAM, "!new:council.test", 5)
    assert outbox_actions(store) == [("join", "!new:council.test")]
    new = rooms.get(store.db, "!new:council.test")
    assert new == rooms.Room("!new:council.test", "invited", True, TEAM, None)


@pytest.mark.parametrize(
    ("sender", "replacement", "state_key"),
    [
        (STRANGER, "!new:council.test", ""),
        (TEAM, "#new:council.test", ""),
        (TEAM, None, ""),
        (TEAM, "!new:council.test", "not-empty"),
    ],
    ids=["stranger", "room alias", "no replacement", "not a state event"],
)
async def test_upgrade_not_followed(
    adapter: MatrixAdapter, store: Store, sender: str, replacement: Any, state_key: str
) -> None:
    await handled(adapter, tombstone(sender, replacement, state_key))
    assert outbox_actions(store) == []
    assert rooms.get(store.db, "!new:council.test") is None


async def test_upgrade_not_followed_when_switched_off(tmp_path: Path, store: Store) -> None:
    adapter = MatrixAdapter(write_config(tmp_path, follow_upgrades=False), store)
    await handled(adapter, tombstone(TEAM))
    assert outbox_actions(store) == []


# ----- who is in a direct chat ----------------------------------------------------------

DM = "!dm:council.test"
TOM = "@tom:council.test"


def member(user_id: str, membership: str, sender: str = SAM) -> dict[str, Any]:
    return {
        "event_id": f"$m{next(_ids)}",
        "sender": sender,
        "type": "m.room.member",
        "state_key": user_id,
        "origin_server_ts": 2_000,
        "content": {"membership": membership},
    }


def in_sam_dm(adapter: MatrixAdapter, *events: dict[str, Any]) -> Message | None:
    """Sync these member events in Sam's direct chat, then a message from Sam there."""
    ingest(adapter, sync({DM: list(events)}))
    return interpret(adapter, event(), room_id=DM)


def test_a_direct_chat_with_a_third_person_is_no_longer_private(
    adapter: MatrixAdapter, store: Store
) -> None:
    with store.write() as db:
        rooms.upsert(db, DM, state="joined", is_direct=True, dm_with=SAM)
    msg = in_sam_dm(adapter, member(SAM, "join"), member(BOT, "join", sender=BOT))
    assert msg is not None and msg.is_direct
    assert rooms.find_direct(store.db, SAM) == DM

    # Sam invites Tom: the chat is a group now, for what Sam sends and what the bot sends.
    msg = in_sam_dm(adapter, member(TOM, "invite"))
    assert msg is not None and not msg.is_direct
    assert rooms.find_direct(store.db, SAM) is None
    with store.write() as db:
        assert adapter.direct_room(db, SAM) == SAM  # a new chat is opened first
    assert ("create_dm", SAM) in outbox_actions(store)

    # Tom joins, then leaves: just the two of them again, so it is private again.
    assert not in_sam_dm(adapter, member(TOM, "join", sender=TOM)).is_direct  # type: ignore[union-attr]
    msg = in_sam_dm(adapter, member(TOM, "leave", sender=TOM))
    assert msg is not None and msg.is_direct
    assert rooms.find_direct(store.db, SAM) == DM


def test_members_in_a_gap_and_in_the_state_count_in_time_order(
    adapter: MatrixAdapter, store: Store
) -> None:
    with store.write() as db:
        rooms.upsert(db, DM, state="joined", is_direct=True, dm_with=SAM)
    data = sync({DM: [event()]})
    data["rooms"]["join"][DM]["state"] = {"events": [member(TOM, "join", sender=TOM)]}
    ingest(adapter, data, gaps={DM: [member(TOM, "invite")]})  # invited, then joined
    assert rooms.find_direct(store.db, SAM) is None


def test_members_of_group_rooms_are_not_tracked(adapter: MatrixAdapter, store: Store) -> None:
    ingest(adapter, sync({ROOM: [member(TOM, "join", sender=TOM)]}))
    assert store.db.execute("SELECT count(*) FROM room_members").fetchone() == (0,)


def test_forgetting_a_third_person_keeps_the_chat_shared(
    adapter: MatrixAdapter, store: Store
) -> None:
    from commands import build_registry
    from storage import privacy

    forgetters = build_registry().forgetters

    with store.write() as db:
        rooms.upsert(db, DM, state="joined", is_direct=True, dm_with=SAM)
    in_sam_dm(adapter, member(SAM, "join"), member(TOM, "join", sender=TOM))
    with store.write() as db:
        privacy.forget(db, TOM, keep_words=False, forgetters=forgetters)
    assert rooms.find_direct(store.db, SAM) is None  # Tom may still be there
    with store.write() as db:
        privacy.forget(db, SAM, keep_words=False, forgetters=forgetters)
    rows = store.db.execute("SELECT user_id FROM room_members").fetchall()
    assert all("@" not in user_id for (user_id,) in rows)
    assert rows  # Tom's place, under no one's name


# ----- sending: a failure that is not a Matrix error ---------------------------------


async def test_an_unexpected_sending_failure_is_retried_then_parked_with_its_reference(
    adapter: MatrixAdapter, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.matrix import SEND_TRIES
    from bot.matrix.http import MatrixHTTP
    from storage import deadletters, outbox

    adapter.http = MatrixHTTP("https://matrix.council.test")  # never reached
    adapter.crash_delay = 0.001
    with store.write() as db:  # a file item without its path: _do_file raises KeyError
        txn = outbox.enqueue(db, "file", ROOM, content={"filename": "report.csv"})
    await adapter._drain_room(ROOM)  # returns once the room has nothing left to send
    state, attempts, result = store.db.execute(
        "SELECT state, attempts, result FROM outbox WHERE txn_id = ?", [txn]
    ).fetchone()
    assert (state, attempts) == ("failed", SEND_TRIES)
    ref = result.split()[1].rstrip(":")
    letter = deadletters.get(store.db, ref)
    assert letter is not None and letter["event_id"] == txn and "KeyError" in letter["error"]
    lines = [r.getMessage() for r in caplog.records if f"ref {ref}" in r.getMessage()]
    assert len(lines) == SEND_TRIES  # every try is logged, with the same reference
    assert "trying again" in lines[0] and "Gave up" in lines[-1]


# ----- one way: the core knows the adapter only as a Platform ------------------------

ROOT = Path(__file__).resolve().parent.parent
CORE = (
    "bot/dispatch.py",
    "bot/worker.py",
    "bot/invites.py",
    "bot/scheduler.py",
    "bot/context.py",
    "bot/platforms.py",
)


def project_imports(path: Path) -> set[str]:
    """The bot, commands and storage modules a file imports (by name, as written)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.split(".")[0] in ("bot", "commands", "storage")}


@pytest.mark.parametrize("path", sorted((ROOT / "bot" / "matrix").glob("*.py")), ids=str)
def test_the_adapter_calls_nothing_in_the_core(path: Path) -> None:
    """It reports what happened and does what it is asked: the worker, the dispatcher,
    the room policy and the features are never its to call."""
    for name in project_imports(path):
        assert not name.startswith(("bot.dispatch", "bot.worker", "bot.invites", "commands"))


@pytest.mark.parametrize("name", CORE)
def test_the_core_knows_no_adapter(name: str) -> None:
    assert not any(m.startswith("bot.matrix") for m in project_imports(ROOT / name))
