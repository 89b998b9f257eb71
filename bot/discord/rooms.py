"""Threads and project channels on Discord.

A feedback question (``!ask``) gets a thread of its own: Discord shows a thread
only once it is opened, so the bot opens one on its question message
(``queue_thread``); a thread from a message has the message's ID, which is the
``thread`` the core names when it posts there or reads an answer from there.

A project room is a private text channel in the server (``Sending.new_channel``):
hidden from everyone by the server's @everyone role, open to the bot and, one
permission overwrite each, to the people who said yes. Who is in it
(``joined_members``) is read from those overwrites."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.http import Route
from sqlite_utils import Database

from bot.discord.base import PLATFORM, snowflake, stored
from bot.discord.ingest import Ingest
from bot.discord.sending import Sending
from bot.signals import until_written
from storage import inbox, outbox, rooms
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

THREAD = "thread"  # the outbox action that opens a thread on a message the bot sent
THREAD_NAME_MAX = 100  # the longest name Discord gives a thread
ARCHIVE_AFTER_MINUTES = 10080  # a quiet thread is tidied away after a week (a reply reopens it)
MEMBER_OVERWRITE = 1  # a permission overwrite for one person (0 is for a role)
VIEW = discord.Permissions(view_channel=True).value
# What the bot's invite link asks for (README, "Setting up the Discord bot"): what
# the adapter does, and no more. It can only let people into a private channel
# with permissions it has itself.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    manage_threads=True,
    manage_channels=True,
    manage_roles=True,
    add_reactions=True,
    read_message_history=True,
    attach_files=True,
    embed_links=True,
    manage_events=True,
    use_application_commands=True,
    send_polls=True,
)


def thread_name(question: str) -> str:
    """A thread's name: the question, cut to what Discord allows."""
    words = " ".join(question.split())
    if len(words) <= THREAD_NAME_MAX:
        return words
    return words[: THREAD_NAME_MAX - 1].rstrip() + "…"


def who_may_see(channel: dict[str, Any], guild: str) -> set[str] | None:
    """The people a channel's overwrites let in, if @everyone is kept out (a private
    channel); None when the channel is open to the whole server."""
    overwrites = channel.get("permission_overwrites") or []
    everyone = next((o for o in overwrites if str(o.get("id")) == guild), None)
    if everyone is None or not int(everyone.get("deny") or 0) & VIEW:
        return None
    return {
        stored(o["id"])
        for o in overwrites
        if o.get("type") == MEMBER_OVERWRITE and int(o.get("allow") or 0) & VIEW
    }


class Rooms(Ingest, Sending):
    def queue_thread(self, db: Database, room_id: str, root_txn: str, name: str) -> str | None:
        """Open a thread on a message the bot queued in a channel (``root_txn``); it
        goes out after the message, in the same channel's order. Discord has no
        threads in threads or in direct messages: there, nothing is opened."""
        room = rooms.get(db, room_id)
        if (room is not None and room.is_direct) or self.is_thread(db, room_id):
            return None
        content = {"message_txn": root_txn, "name": thread_name(name)}
        return outbox.enqueue(db, THREAD, room_id, content=content, platform=PLATFORM)

    async def _perform(self, item: OutboxItem) -> str | None:
        if item.action == THREAD:
            return await self._open_thread(item)
        return await super()._perform(item)

    async def _open_thread(self, item: OutboxItem) -> str:
        content = item.content or {}
        message = outbox.result_of(self.store.db, str(content.get("message_txn")))
        if message is None:
            raise LookupError("the message to open a thread on was never sent")
        channel = snowflake(item.room_id)
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=channel,
            message_id=snowflake(message),
        )
        body = {"name": content.get("name") or "…", "auto_archive_duration": ARCHIVE_AFTER_MINUTES}
        thread = await self.http.request(route, json=body)
        key = f"thread:{thread['id']}"  # answers in it are in a thread from now on
        await until_written(self.store, inbox.set_position, PLATFORM, key, channel)
        return stored(thread["id"])

    async def joined_members(self, room_id: str) -> set[str]:
        """A private channel's people are those its overwrites let in; any other
        channel is read as the adapter reads it (the server's members)."""
        channel = snowflake(room_id)
        guild = self._channels(self.store.db).get(channel, str(self.settings.guild_id))
        if channel and guild:  # a direct message's guild is
            found = await self.http.request(
                Route("GET", "/channels/{channel_id}", channel_id=channel)
            )
            let_in = who_may_see(found, guild) if isinstance(found, dict) else None
            if let_in is not None:
                return let_in
        return await super().joined_members(room_id)
