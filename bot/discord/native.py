"""What the Discord adapter does with Discord's own features, in one place for its
other parts: its own polls (``polls``), secret-ballot answers (``ballots``) and
scheduled events (``listings``); and the outbox rows of theirs it sends."""

from __future__ import annotations

import time

from discord.http import Route

from bot.discord.ballots import Ballots
from bot.discord.base import snowflake, stored
from bot.discord.listings import INTERESTED, Listings
from bot.discord.polls import VOTES, Polls, expire, poll_request
from storage.outbox import OutboxItem

ACTIONS = ("poll", "end_poll", "listing_new", "listing_edit", "listing_cancel")
__all__ = ["ACTIONS", "INTERESTED", "VOTES", "Native"]


class Native(Polls, Ballots, Listings):
    async def perform_native(self, item: OutboxItem) -> str | None:
        """One outbox row of these features; what came of it (a message's ID)."""
        if item.action == "poll":
            route = Route(
                "POST", "/channels/{channel_id}/messages", channel_id=snowflake(item.room_id)
            )
            made = await self.http.request(route, json=poll_request(item, time.time()))
            return stored(made["id"])
        if item.action == "end_poll":
            await expire(self.http, item.room_id, str((item.content or {})["message_id"]))
            return None
        return await self.send_listing(item)
