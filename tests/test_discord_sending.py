"""Outbox rows as the Discord adapter's REST requests, on pure payloads."""

from __future__ import annotations

from typing import Any

from bot.discord.sending import MAX_CHARS, calls_for, new_channel, nonce, pieces
from storage.outbox import OutboxItem

TXN = "copro-0123456789abcdef0123456789abcdef"
CHANNEL = "discord:500000000000000005"


def row(action: str, content: dict[str, Any] | None = None, room: str = CHANNEL) -> OutboxItem:
    return OutboxItem(1, TXN, action, room, None, content, 0, 0.0)


def text(words: str, **extra: Any) -> dict[str, Any]:
    mentions = {"parse": [], "users": [], "replied_user": False}
    return {"content": words, "allowed_mentions": mentions, **extra}


def test_the_nonce_comes_from_the_row_and_fits_discord() -> None:
    assert nonce(TXN) == "0123456789abcdef0123"
    assert nonce(TXN) == nonce(TXN)  # the same after a crash
    assert len(nonce(TXN, 9999)) <= 25 and nonce(TXN, 1) != nonce(TXN)


def test_a_reply_is_a_message_reference_with_nobody_pinged() -> None:
    reference = {"message_id": "600000000000000006", "fail_if_not_exists": False}
    [call] = calls_for(row("send", text("Pong", message_reference=reference)), "channel", "9", "1")
    assert (call.method, call.path, call.values) == (
        "POST",
        "/channels/{channel_id}/messages",
        {"channel_id": "500000000000000005"},
    )
    assert call.body == {
        "content": "Pong",
        "allowed_mentions": {"parse": [], "users": [], "replied_user": False},
        "message_reference": reference,
        "nonce": "0123456789abcdef0123",
        "enforce_nonce": True,
    }


def test_peoples_words_are_shown_as_written_not_as_markdown() -> None:
    [call] = calls_for(row("send", text("You said: *great* _idea_")), "channel", "9", "1")
    assert call.body is not None and call.body["content"] == r"You said: \*great\* \_idea\_"


def test_a_long_message_goes_in_parts_each_with_its_own_nonce_the_reply_on_the_first() -> None:
    long = "\n".join(f"line {n} " + "x" * 90 for n in range(60))
    reference = {"message_id": "6", "fail_if_not_exists": False}
    calls = calls_for(row("send", text(long, message_reference=reference)), "channel", "9", "1")
    assert len(calls) > 1
    bodies = [c.body or {} for c in calls]
    assert all(len(b["content"]) <= MAX_CHARS for b in bodies)
    assert "\n".join(b["content"] for b in bodies) == long
    assert len({b["nonce"] for b in bodies}) == len(bodies)
    assert "message_reference" in bodies[0] and "message_reference" not in bodies[1]
    assert pieces("") == [""]


def test_reactions_and_their_removal() -> None:
    content = {"message_id": "discord:600000000000000006", "emoji": "👍"}
    [add] = calls_for(row("react", content), "channel", "9", "1")
    assert (add.method, add.path) == (
        "PUT",
        "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
    )
    assert add.values["emoji"] == "👍" and add.values["message_id"] == "600000000000000006"
    own = {"event_id": "discord:600000000000000006:reaction:👍"}
    [take_back] = calls_for(row("redact", own), "channel", "9", "1")
    assert take_back.method == "DELETE" and take_back.path == add.path
    [delete] = calls_for(
        row("redact", {"event_id": "discord:600000000000000007"}), "channel", "9", "1"
    )
    assert (delete.method, delete.values["message_id"]) == ("DELETE", "600000000000000007")


def test_a_direct_message_channel_is_opened_for_a_person() -> None:
    [call] = calls_for(row("create_dm", room="discord:300000000000000003"), "channel", "9", "1")
    assert (call.method, call.path, call.body) == (
        "POST",
        "/users/@me/channels",
        {"recipient_id": "300000000000000003"},
    )


def test_invites_and_kicks_are_channel_permissions_or_thread_members() -> None:
    person = {"user_id": "discord:300000000000000003", "reason": "left the project"}
    [invite] = calls_for(row("invite", person), "channel", "9", "1")
    assert invite.method == "PUT" and invite.path.endswith("/permissions/{user_id}")
    assert invite.body is not None and invite.body["type"] == 1
    [kick] = calls_for(row("kick", person), "channel", "9", "1")
    assert (kick.method, kick.reason) == ("DELETE", "left the project")
    [in_thread] = calls_for(row("invite", person), "thread", "9", "1")
    assert in_thread.path == "/channels/{channel_id}/thread-members/{user_id}"


def test_joining_and_leaving() -> None:
    assert calls_for(row("join"), "channel", "9", "1") == []
    [join] = calls_for(row("join"), "thread", "9", "1")
    assert (join.method, join.path) == ("PUT", "/channels/{channel_id}/thread-members/@me")
    [leave] = calls_for(row("leave"), "direct", "9", "1")
    assert (leave.method, leave.path) == ("DELETE", "/channels/{channel_id}")


def test_a_new_room_is_a_private_channel_open_to_the_bot_and_the_people_invited() -> None:
    body = new_channel({"name": "Better buses", "topic": "t", "invite": ["discord:3"]}, "9", "1")
    everyone, bot, person = body["permission_overwrites"]
    assert everyone["id"] == "1" and everyone["deny"] != "0"
    assert (bot["id"], person["id"]) == ("9", "3")
    [topic] = calls_for(row("topic", {"topic": "New"}), "channel", "9", "1")
    assert (topic.method, topic.body) == ("PATCH", {"topic": "New"})
