"""Catching up on reactions: after a fresh IDENTIFY, the reactions on the bot's own
recent messages (its announcements, polls and questions: what the features count
reactions on) are read over REST and compared with what the inbox holds, and each
difference becomes a reaction added or taken back, for the ingest to store.

Which messages: the bot's own in the server's channels and threads, sent in the
last ``RECENT_DAYS`` days, the newest ``MOST_MESSAGES`` of them (a bound on the
requests a restart makes: one for each message and one for each of its emoji).
Reactions on people's own messages count for no feature, nor do reactions in
direct messages (a reaction to a secret ballot is no vote), so they are not read.

What the inbox holds: the ingest keeps, for each reaction a person has on a
message, the ID its adding was stored under (``reaction:<message>:<person>:<emoji>``
in the positions; empty once taken back). A reaction Discord shows and the inbox
does not hold is added; one the inbox holds and Discord no longer shows is taken
back (naming its adding as the target, as a live one does). Each is numbered like
a gateway dispatch, in a session of its own, ``fill-<session>``, so one catching-up
never clashes with another or with the gateway; and since the position moves in
the same transaction as the event is stored, a reaction seen again by the gateway
or by the next catching-up is not counted twice."""

from __future__ import annotations

import logging
import time
from typing import Any

import discord
from discord.http import Route

from bot.discord.base import PLATFORM, DiscordBase, snowflake
from bot.discord.events import REACTIONS, emoji_key
from storage import inbox

log = logging.getLogger(__name__)

RECENT_DAYS = 14  # the bot's messages older than this are not looked at again
MOST_MESSAGES = 50  # and at most this many of them, the newest

Arrival = tuple[str, dict[str, Any], str, int]  # (dispatch name, payload, session, sequence)


class Reactions(DiscordBase):
    async def reaction_changes(self, channels: dict[str, str], session: str) -> list[Arrival]:
        """Reactions added or taken back while the bot was away, on its recent messages
        (see above), as dispatches for the ingest to store. ``channels``: each known
        channel's server ("" for a direct message)."""
        db = self.store.db
        since = int((time.time() - RECENT_DAYS * 86400) * 1000)
        numbered = f"fill-{session or int(time.time() * 1000)}"
        arrivals: list[Arrival] = []
        for room, event_id in inbox.latest_from(db, PLATFORM, self.user_id, since, MOST_MESSAGES):
            channel, message = snowflake(room), snowflake(event_id)
            if not message or not channels.get(channel):
                continue  # a direct message: no feature counts reactions there
            try:
                now = await self._reactions_now(channel, message)
            except discord.NotFound:
                continue  # deleted: nothing on it counts any more
            except (discord.HTTPException, OSError) as err:
                log.warning("Could not read the reactions on message %s (%s)", message, err)
                continue
            held = {
                key: value
                for key, value in inbox.positions_under(
                    db, PLATFORM, f"reaction:{message}:"
                ).items()
                if not key.startswith(f"reaction:{message}:{snowflake(self.user_id)}:")
            }  # the bot's own reactions are not people's
            base = {"channel_id": channel, "message_id": message, "guild_id": channels[channel]}
            for name, person, emoji in _differences(message, now, held):
                d = {**base, "user_id": person, "emoji": emoji}
                arrivals.append((name, d, numbered, len(arrivals) + 1))
        return arrivals

    async def _reactions_now(self, channel: str, message: str) -> dict[str, dict[str, Any]]:
        """Who has which reaction on a message now: {person: {emoji key: emoji}}."""
        route = Route(
            "GET",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=channel,
            message_id=message,
        )
        found = await self.http.request(route)
        now: dict[str, dict[str, Any]] = {}
        for reaction in found.get("reactions") or []:
            emoji = reaction.get("emoji")
            key = emoji_key(emoji)
            if not key or not reaction.get("count"):
                continue
            for person in await self._reacted(channel, message, key):
                now.setdefault(person, {})[key] = emoji
        return now

    async def _reacted(self, channel: str, message: str, key: str) -> list[str]:
        """Everyone but the bot with one reaction on a message."""
        route = Route(
            "GET",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}",
            channel_id=channel,
            message_id=message,
            emoji=key,
        )
        people = await self.people_listed(route, lambda page: [str(u["id"]) for u in page or []])
        return [p for p in people if p != snowflake(self.user_id)]


def _differences(
    message: str, now: dict[str, dict[str, Any]], held: dict[str, str]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(dispatch name, person, emoji) for each reaction to add or take back: what
    Discord shows (``now``) against what the positions hold (``held``, by key)."""
    added, taken = REACTIONS
    changes: list[tuple[str, str, dict[str, Any]]] = []
    for person, emojis in sorted(now.items()):
        for key, emoji in sorted(emojis.items()):
            if not held.get(f"reaction:{message}:{person}:{key}"):
                changes.append((added, person, emoji))
    prefix = f"reaction:{message}:"
    for position, value in sorted(held.items()):
        person, _, key = position.removeprefix(prefix).partition(":")
        if value and key not in now.get(person, {}):
            changes.append((taken, person, _emoji_of(key)))
    return changes


def _emoji_of(key: str) -> dict[str, Any]:
    """An emoji payload from its key (``emoji_key`` the other way round)."""
    name, _, emoji_id = key.rpartition(":") if ":" in key else (key, "", "")
    return {"id": emoji_id, "name": name} if emoji_id else {"id": None, "name": key}
