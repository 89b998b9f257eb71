"""Sending: the outbox's Discord rows (``platform = 'discord'``), one channel at
a time in order, each through discord.py's low-level ``http.request(Route)``.

Nothing is posted twice: a message's ``nonce`` comes from its outbox row (its
transaction ID, so the same after a crash) with ``enforce_nonce``, and Discord
answers a repeat with the message it already made. discord.py does part of the
rest: it keeps each route's bucket and the global limit from the
``X-RateLimit-*`` headers, waits out a 429's ``retry_after`` when it is short
(``max_ratelimit_timeout``), and tries a 500/502/504 up to five times; it keeps
none of that across a restart and gives up after five tries. What it gives up
on comes back here: a longer 429 waits its ``retry_after`` in the outbox
(``retry_later``), 5xx and network errors back off there, a refusal (4xx) is
failed, and anything unexpected is tried ``SEND_TRIES`` times and then parked
with a reference number (``bot.sending``: every platform's sender's rules)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import discord
from discord.http import Route
from sqlite_utils import Database

from bot.discord.base import INTERACTION_ID, snowflake, stored
from bot.discord.native import ACTIONS, Native
from bot.sending import Backoff, Retry, Sender
from storage import rooms
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

MAX_CHARS = 2000  # the most a Discord message may say
REACTION = (
    ":reaction:"  # in the ID of a reaction the bot made: "discord:<message>:reaction:<emoji>"
)
MEMBER_ALLOWS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
    add_reactions=True,
).value


@dataclass(frozen=True)
class Call:
    """One REST request: ``path`` is a ``Route`` template filled from ``values``."""

    method: str
    path: str
    values: dict[str, str]
    body: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def nonce(txn_id: str, part: int = 0) -> str:
    """A message's nonce, from its outbox row (at most 25 characters)."""
    base = txn_id.removeprefix("copro-")[:20]
    return f"{base}-{part}" if part else base


def pieces(text: str, limit: int = MAX_CHARS) -> list[str]:
    """Text cut into messages Discord takes, at line ends where it can."""
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        out.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*out, text] if text or not out else out


def message_bodies(txn_id: str, content: dict[str, Any]) -> list[dict[str, Any]]:
    """The message-create bodies for a queued text: its words shown as written
    (markdown escaped), cut to size; each with a nonce; the reply on the first."""
    text = discord.utils.escape_markdown(str(content.get("content", "")))
    bodies = []
    for part, words in enumerate(pieces(text)):
        body = {**content, "content": words, "nonce": nonce(txn_id, part), "enforce_nonce": True}
        if part:  # buttons too: only on the first, whose ID is the row's (answers reply to it)
            body.pop("message_reference", None)
            body.pop("components", None)
        bodies.append(body)
    return bodies


def calls_for(item: OutboxItem, channel_kind: str, bot: str, guild: str) -> list[Call]:
    """The REST requests an outbox row makes (``channel_kind``: "thread", "direct"
    or "channel"; ``bot`` and ``guild``: snowflakes). Files are sent apart."""
    content = item.content or {}
    channel = {"channel_id": snowflake(item.room_id)}
    messages = "/channels/{channel_id}/messages"
    if item.action == "send":
        return [
            Call("POST", messages, channel, body) for body in message_bodies(item.txn_id, content)
        ]
    if item.action == "react":
        reaction = {
            **channel,
            "message_id": snowflake(content["message_id"]),
            "emoji": content["emoji"],
        }
        return [Call("PUT", messages + "/{message_id}/reactions/{emoji}/@me", reaction)]
    if item.action == "redact":
        target = str(content["event_id"])
        if target.startswith(INTERACTION_ID):
            return []  # a press (a ballot's): it left nothing in the chat to delete
        if REACTION in target:
            message, emoji = target.split(REACTION, 1)
            values = {**channel, "message_id": snowflake(message), "emoji": emoji}
            return [Call("DELETE", messages + "/{message_id}/reactions/{emoji}/@me", values)]
        return [
            Call("DELETE", messages + "/{message_id}", {**channel, "message_id": snowflake(target)})
        ]
    if item.action == "topic":
        return [Call("PATCH", "/channels/{channel_id}", channel, {"topic": content["topic"]})]
    if item.action in ("invite", "kick"):
        values = {**channel, "user_id": snowflake(content["user_id"])}
        method = "PUT" if item.action == "invite" else "DELETE"
        if channel_kind == "thread":
            return [Call(method, "/channels/{channel_id}/thread-members/{user_id}", values)]
        body = {"type": 1, "allow": str(MEMBER_ALLOWS), "deny": "0"} if method == "PUT" else None
        reason = content.get("reason") or None
        return [
            Call(
                method, "/channels/{channel_id}/permissions/{user_id}", values, body, reason=reason
            )
        ]
    if item.action in ("join", "leave"):
        method = "PUT" if item.action == "join" else "DELETE"
        if channel_kind == "thread":
            return [Call(method, "/channels/{channel_id}/thread-members/@me", channel)]
        if channel_kind == "direct" and method == "DELETE":
            return [Call("DELETE", "/channels/{channel_id}", channel)]
        return []  # a bot is in every channel of its server it may see
    if item.action == "create_dm":
        body = {"recipient_id": snowflake(item.room_id)}
        return [Call("POST", "/users/@me/channels", {}, body)]
    if item.action == "create_room":
        return [
            Call(
                "POST",
                "/guilds/{guild_id}/channels",
                {"guild_id": guild},
                new_channel(content, bot, guild),
            )
        ]
    raise ValueError(f"no Discord request for {item.action!r}")


def new_channel(content: dict[str, Any], bot: str, guild: str) -> dict[str, Any]:
    """A private text channel: hidden from everyone (the server's @everyone role has
    the server's ID), open to the bot and the people invited."""
    allow = {"allow": str(MEMBER_ALLOWS), "deny": "0", "type": 1}
    people = [snowflake(p) for p in content.get("invite", [])]
    return {
        "name": content.get("name", ""),
        "type": 0,
        "topic": content.get("topic", ""),
        "permission_overwrites": [
            {
                "id": guild,
                "type": 0,
                "allow": "0",
                "deny": str(discord.Permissions(view_channel=True).value),
            },
            *({**allow, "id": person} for person in [bot, *people] if person),
        ],
    }


def _retry_after(err: BaseException) -> float | None:
    """How long Discord asked the bot to wait, if it did."""
    if isinstance(err, discord.RateLimited):
        return err.retry_after
    if not isinstance(err, discord.HTTPException) or err.response is None:
        return None
    header = err.response.headers.get("Retry-After")
    try:
        return float(header) if header else None
    except ValueError:
        return None


def transient(err: BaseException) -> bool:
    """Worth trying again later: rate limits, Discord's own troubles, the network,
    a token being sorted out (401)."""
    if isinstance(err, discord.RateLimited):
        return True
    if isinstance(err, discord.HTTPException):
        return err.status in (401, 408, 429) or err.status >= 500
    return isinstance(err, OSError | aiohttp.ClientError | TimeoutError)


class Sending(Native, Sender):
    """The outbox's Discord rows, by the rules of ``bot.sending.Sender``."""

    refusals = (discord.DiscordException, OSError, aiohttp.ClientError, TimeoutError)
    room_word = "channel"
    sender_log = log

    def _retry_in(self, err: Exception, backoff: Backoff) -> Retry | None:
        """Discord said no, or could not be reached: later, or never (see above)."""
        if not transient(err):
            return None
        asked = _retry_after(err)
        return Retry(backoff.next_delay(), False) if asked is None else Retry(asked, True)

    def _sent(self, db: Database, item: OutboxItem, result: str | None) -> None:
        super()._sent(db, item, result)
        if item.action == "create_dm" and result:  # the person is in it from the start
            rooms.set_member(db, result, item.room_id, "join")

    def _channel_kind(self, room_id: str) -> str:
        room = rooms.get(self.store.db, room_id)
        if room is not None and room.is_direct:
            return "direct"
        return "thread" if self.is_thread(self.store.db, room_id) else "channel"

    async def _perform(self, item: OutboxItem) -> str | None:
        """Do one outbox row. Returns what came of it (a message or channel ID)."""
        if item.action == "file":
            return await self._send_file(item)
        if item.action in ACTIONS:  # Discord's own polls, scheduled events
            return await self.perform_native(item)
        if item.action == "send" and "interaction" in (item.content or {}):
            return await self.answer_interaction(item)  # a reply to a slash command
        kind = self._channel_kind(item.room_id)
        calls = calls_for(item, kind, snowflake(self.user_id), str(self.settings.guild_id))
        first: Any = None
        for n, call in enumerate(calls):
            answer = await self.request(call)
            first = answer if n == 0 else first
        if item.action == "react":
            content = item.content or {}
            return f"{content['message_id']}{REACTION}{content['emoji']}"
        return stored(first["id"]) if isinstance(first, dict) and "id" in first else None

    async def send_now(self, room_id: str, text: str, key: str) -> None:
        """``Adapter.send_now``: plain words (markdown escaped, nobody pinged), the
        nonce from ``key`` (Discord shows a repeat once)."""
        content = {"content": text, "allowed_mentions": {"parse": []}}
        channel = {"channel_id": snowflake(room_id)}
        for body in message_bodies(key, content):
            await self.request(Call("POST", "/channels/{channel_id}/messages", channel, body))

    async def request(self, call: Call) -> Any:
        """One REST request through discord.py (its rate limits; a body only if any)."""
        options: dict[str, Any] = {"reason": call.reason}
        if call.body is not None:
            options["json"] = call.body
        if call.params:
            options["params"] = call.params
        return await self.http.request(Route(call.method, call.path, **call.values), **options)

    async def _send_file(self, item: OutboxItem) -> str:
        """A file, with the same nonce rule; it is deleted once sent."""
        content = item.content or {}
        source = Path(content["path"])
        payload = {
            "nonce": nonce(item.txn_id),
            "enforce_nonce": True,
            "allowed_mentions": {"parse": []},
        }
        payload["attachments"] = [{"id": 0, "filename": content["filename"]}]
        data = await asyncio.to_thread(source.read_bytes)  # bytes: discord.py may send it again
        form = [
            {"name": "payload_json", "value": json.dumps(payload)},
            {
                "name": "files[0]",
                "value": data,
                "filename": content["filename"],
                "content_type": content["mimetype"],
            },
        ]
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=snowflake(item.room_id))
        answer = await self.http.request(route, form=form)
        await asyncio.to_thread(source.unlink, missing_ok=True)
        return stored(answer["id"])
