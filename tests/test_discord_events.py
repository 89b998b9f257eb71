"""How the Discord adapter stores gateway dispatches and reads them back in
neutral terms, on payloads shaped as discord.py's ``discord/types`` say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.context import Edit, Message, PollLayout, Reaction, Removal
from bot.discord import DiscordAdapter
from bot.discord.base import snowflake_ms
from bot.discord.events import emoji_key, stored_event, to_incoming
from bot.discord.session import IDENTIFY_CALM, IDENTIFY_MOST, identify_wait
from bot.signals import Signals
from storage.db import Store
from storage.inbox import InboxEvent

BOT = "discord:900000000000000001"
SAM_ID = "300000000000000003"
SAM = f"discord:{SAM_ID}"
CHANNEL = "500000000000000005"
NOW = 1_800_000_000_000


def user(user_id: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": "sam",
        "discriminator": "0",
        "global_name": "Sam",
        "avatar": None,
        **({"bot": True} if bot else {}),
    }


def message(text: str, message_id: str = "600000000000000006", **extra: Any) -> dict[str, Any]:
    return {
        "id": message_id,
        "channel_id": CHANNEL,
        "guild_id": "100000000000000001",
        "author": user(SAM_ID),
        "content": text,
        "timestamp": "2027-01-15T10:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        **extra,
    }


def reaction(emoji: str = "👍", **extra: Any) -> dict[str, Any]:
    return {
        "user_id": SAM_ID,
        "channel_id": CHANNEL,
        "message_id": "600000000000000006",
        "emoji": {"id": None, "name": emoji},
        "burst": False,
        "type": 0,
        **extra,
    }


def as_stored(name: str, d: dict[str, Any], session: str = "s1", seq: int = 7) -> InboxEvent:
    row = stored_event(name, d, session, seq, NOW)
    assert row is not None
    room_id, event = row
    return InboxEvent(
        1, event["event_id"], room_id, event["sender"], name, event["origin_server_ts"], event
    )


def read(event: InboxEvent, *, is_direct: bool = False, thread: bool = False) -> object:
    return to_incoming(event, bot_id=BOT, is_direct=is_direct, thread=thread)


def test_a_message_is_stored_under_its_discord_id_and_read_as_a_message() -> None:
    stored = as_stored("MESSAGE_CREATE", message("!ping"))
    assert stored.event_id == "discord:600000000000000006"
    assert stored.room_id == f"discord:{CHANNEL}"
    assert stored.event["d"]["content"] == "!ping"  # the raw payload is kept
    assert stored.origin_server_ts == snowflake_ms("600000000000000006")
    found = read(stored, is_direct=True)
    assert isinstance(found, Message)
    assert (found.body, found.sender, found.is_direct, found.reply_to, found.thread) == (
        "!ping",
        SAM,
        True,
        None,
        None,
    )


def test_markdown_and_html_stay_text() -> None:
    found = read(as_stored("MESSAGE_CREATE", message("**bold** <b>x</b>")))
    assert isinstance(found, Message) and found.body == "**bold** <b>x</b>"


def test_a_reply_names_the_message_it_answers_and_a_thread_its_root() -> None:
    reply = message(
        "yes",
        type=19,
        message_reference={"message_id": "600000000000000001", "channel_id": CHANNEL},
    )
    found = read(as_stored("MESSAGE_CREATE", reply), thread=True)
    assert isinstance(found, Message)
    assert found.reply_to == "discord:600000000000000001"
    assert found.thread == f"discord:{CHANNEL}"  # a thread's ID is its starter message's


def test_the_bots_own_messages_other_bots_and_system_messages_are_ignored() -> None:
    own = message("hello", author=user("900000000000000001"))
    other_bot = message("beep", author=user("700000000000000007", bot=True))
    pinned_notice = message("", type=6)
    for payload in (own, other_bot, pinned_notice):
        assert read(as_stored("MESSAGE_CREATE", payload)) is None


def test_an_edit_is_unique_per_change_and_targets_the_message() -> None:
    first = message("new words", edited_timestamp="2027-01-15T10:05:00+00:00")
    again = message("newer words", edited_timestamp="2027-01-15T10:06:00+00:00")
    one, two = as_stored("MESSAGE_UPDATE", first), as_stored("MESSAGE_UPDATE", again)
    assert one.event_id != two.event_id
    found = read(one)
    assert isinstance(found, Edit)
    assert (found.target, found.body) == ("discord:600000000000000006", "new words")
    # A link preview coming is an update too, but nobody changed anything.
    assert stored_event("MESSAGE_UPDATE", message("x"), "s1", 8, NOW) is None


def test_a_deletion_is_a_removal_of_the_message() -> None:
    gone = {"id": "600000000000000006", "channel_id": CHANNEL, "guild_id": "1"}
    stored = as_stored("MESSAGE_DELETE", gone)
    found = to_incoming(stored, bot_id=BOT, is_direct=False, thread=False, removed_by=SAM)
    assert isinstance(found, Removal)
    assert (found.target, found.sender) == ("discord:600000000000000006", SAM)


def test_a_reaction_is_unique_per_dispatch_so_a_replay_is_one_and_a_re_add_is_two() -> None:
    added = as_stored("MESSAGE_REACTION_ADD", reaction(), session="s1", seq=7)
    replayed = as_stored("MESSAGE_REACTION_ADD", reaction(), session="s1", seq=7)
    added_again = as_stored("MESSAGE_REACTION_ADD", reaction(), session="s1", seq=9)
    assert added.event_id == replayed.event_id != added_again.event_id
    found = read(added)
    assert isinstance(found, Reaction)
    assert (found.sender, found.target, found.key) == (SAM, "discord:600000000000000006", "👍")


def test_taking_a_reaction_back_removes_what_was_added() -> None:
    taken = as_stored("MESSAGE_REACTION_REMOVE", reaction(), seq=8)
    assert read(taken) is None  # the ingest did not know what it takes back
    taken.event["target"] = "discord:reaction:s1:7"
    found = read(taken)
    assert isinstance(found, Removal) and found.target == "discord:reaction:s1:7"


def test_a_servers_own_emoji_is_named_with_its_id() -> None:
    assert emoji_key({"id": "42", "name": "tick"}) == "tick:42"
    assert emoji_key({"id": None, "name": "✅"}) == "✅"


def test_identify_waits_longer_each_time_soon_after_the_last_and_not_after_a_calm() -> None:
    assert identify_wait(None, 0, NOW) == (0.0, 0)
    waits, streak, last = [], 0, NOW
    for _ in range(12):  # a crash loop: each start right after the last IDENTIFY
        wait, streak = identify_wait(last, streak, last)
        waits.append(wait)
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and waits[-1] == IDENTIFY_MOST
    assert identify_wait(NOW, 9, NOW + int(IDENTIFY_CALM * 1000)) == (0.0, 0)


def test_people_are_typed_shown_and_linked_in_discords_forms(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[discord]\ntoken = "t"\nguild_id = 100000000000000001\n'
        '[storage]\ndatabase = "copro.db"\ndata_dir = "data"\n'
    )
    store = Store.open(tmp_path / "copro.db")
    try:
        adapter = DiscordAdapter(load_config(path), store, Signals())
        for typed in (SAM, f"<@{SAM_ID}>", f"<@!{SAM_ID}>"):
            assert adapter.person(typed) == SAM
        for not_a_person in ("@sam:council.org", f"<@{SAM_ID}", f"discord:{SAM_ID}>", "sam"):
            assert adapter.person(not_a_person) is None
        assert adapter.meant_as_person(f"<@{SAM_ID}>") and not adapter.meant_as_person("sam")
        assert adapter.mention(SAM) == f"<@{SAM_ID}>"
        assert all(adapter.person(p) == p for p in adapter.example_people)
        assert adapter.link(f"discord:{CHANNEL}", "discord:600000000000000006") == (
            f"https://discord.com/channels/100000000000000001/{CHANNEL}/600000000000000006"
        )
        assert adapter.owns(SAM) and not adapter.owns("@sam:council.org")
        assert adapter.server_of(SAM) == ""
        # Polls are their plain text for now, answered by numbered replies.
        room, poll_message = f"discord:{CHANNEL}", "discord:600000000000000009"
        layout = PollLayout("Which day?", (("a1", "Monday"),), 1, True, "Which day?\n1. Monday")
        with store.write() as db:
            adapter.queue_poll(db, room, layout)
            adapter.queue_poll_end(db, room, poll_message, {"a1": 2}, "Monday won")
        rows = store.db.execute("SELECT action, content, platform FROM outbox ORDER BY id")
        poll, result = [(a, json.loads(c), p) for a, c, p in rows.fetchall()]
        assert poll[0] == result[0] == "send" and poll[2] == result[2] == "discord"
        assert poll[1]["content"] == "Which day?\n1. Monday"
        assert result[1]["message_reference"]["message_id"] == "600000000000000009"
    finally:
        store.close()
