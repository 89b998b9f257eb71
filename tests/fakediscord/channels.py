"""Channels the bot makes and changes: ``POST /guilds/{g}/channels`` (a text channel,
with permission overwrites), ``PATCH /channels/{c}`` (its name or topic), and one
overwrite at a time, ``PUT`` / ``DELETE /channels/{c}/permissions/{id}``; each
change is a CHANNEL_CREATE or CHANNEL_UPDATE on the gateway. Overwrites are
shown as given (``permission_overwrites``); who may read a channel they hide
is not enforced on the gateway (every member's client hears it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import GUILD_TEXT, GUILDS, JSON, Channel, FakeError, invalid_form
from .payloads import channel_payload

if TYPE_CHECKING:
    from .rest import Handler, Request, Result
    from .world import World

MANAGE_CHANNELS, MANAGE_ROLES = 1 << 4, 1 << 28
ROLE, MEMBER = 0, 1  # an overwrite's type


class Channels:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> dict[str, Handler]:
        c = "/channels/{channel_id}"
        return {
            "POST /guilds/{guild_id}/channels": self.create,
            f"PATCH {c}": self.edit,
            f"PUT {c}/permissions/{{overwrite_id}}": self.set_overwrite,
            f"DELETE {c}/permissions/{{overwrite_id}}": self.remove_overwrite,
        }

    async def create(self, r: Request) -> Result:
        guild, body = self.world.guild(r.id("guild_id")), _body(r)
        self._may(r, guild.id, MANAGE_CHANNELS)
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise invalid_form(
                "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        if int(body.get("type") or GUILD_TEXT) != GUILD_TEXT:
            raise invalid_form("type", "BASE_TYPE_CHOICES", "Only text channels here.")
        overwrites = [_overwrite(o) for o in body.get("permission_overwrites") or []]
        if overwrites:
            self._may(r, guild.id, MANAGE_ROLES)
        channel = self.world.add_channel(guild, name, body.get("topic") or None, overwrites)
        return 201, channel_payload(self.world, channel, r.bot)

    async def edit(self, r: Request) -> Result:
        channel, body = self._text_channel(r), _body(r)
        self._may(r, channel.guild_id, MANAGE_CHANNELS)
        if "name" in body:
            channel.name = str(body["name"])
        if "topic" in body:
            topic = body["topic"]
            if topic is not None and len(str(topic)) > 1024:
                raise invalid_form(
                    "topic", "BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length."
                )
            channel.topic = topic or None
        self._updated(channel)
        return 200, channel_payload(self.world, channel, r.bot)

    async def set_overwrite(self, r: Request) -> Result:
        channel = self._text_channel(r)
        self._may(r, channel.guild_id, MANAGE_ROLES)
        overwrite = _overwrite({**_body(r), "id": str(r.id("overwrite_id"))})
        channel.overwrites = [o for o in channel.overwrites if o["id"] != overwrite["id"]]
        channel.overwrites.append(overwrite)
        self._updated(channel)
        return 204, None

    async def remove_overwrite(self, r: Request) -> Result:
        channel = self._text_channel(r)
        self._may(r, channel.guild_id, MANAGE_ROLES)
        gone = str(r.id("overwrite_id"))
        channel.overwrites = [o for o in channel.overwrites if o["id"] != gone]
        self._updated(channel)
        return 204, None

    # -- helpers -------------------------------------------------------------------
    def _text_channel(self, r: Request) -> Channel:
        channel = self.world.channel(r.id("channel_id"))
        if channel.guild_id is None or r.bot.id not in self.world.guilds[channel.guild_id].members:
            raise FakeError(403, 50001, "Missing Access")
        if channel.type != GUILD_TEXT:
            raise FakeError(400, 50024, "Cannot execute action on this channel type")
        return channel

    def _may(self, r: Request, guild_id: int | None, permission: int) -> None:
        guild = self.world.guild(guild_id or 0)
        member = guild.members.get(r.bot.id)
        roles = [
            guild.everyone_role,
            *(x for x in guild.roles if member and int(x["id"]) in member.roles),
        ]
        if not any(int(role["permissions"]) & permission for role in roles):
            raise FakeError(403, 50013, "Missing Permissions")

    def _updated(self, channel: Channel) -> None:
        def build(viewer: Any) -> JSON:
            return channel_payload(self.world, channel, viewer)

        self.world._emit_guild("CHANNEL_UPDATE", build, channel.guild_id or 0, GUILDS)


def _body(r: Request) -> JSON:
    return r.body if isinstance(r.body, dict) else {}


def _overwrite(given: Any) -> JSON:
    """An overwrite as Discord keeps it: ``{id, type, allow, deny}``, the bits as strings."""
    if not isinstance(given, dict) or "id" not in given or given.get("type") not in (ROLE, MEMBER):
        raise invalid_form("permission_overwrites", "BASE_TYPE_REQUIRED", "Invalid overwrite.")
    return {
        "id": str(given["id"]),
        "type": int(given["type"]),
        "allow": str(int(given.get("allow") or 0)),
        "deny": str(int(given.get("deny") or 0)),
    }
