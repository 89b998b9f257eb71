"""Scheduled events: the bot creates, changes, starts, ends or cancels them; people say
"Interested" (and take it back), which the bot hears as GUILD_SCHEDULED_EVENT_USER_ADD
and _REMOVE and can read back from ``.../users``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .model import GUILD_SCHEDULED_EVENTS, JSON, FakeError, ScheduledEvent, User, invalid_form
from .payloads import member_payload, scheduled_event_payload, user_payload

if TYPE_CHECKING:
    from .rest import Handler, Request, Result
    from .world import World

STAGE, VOICE, EXTERNAL = 1, 2, 3
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
MOVES = {SCHEDULED: (ACTIVE, CANCELED), ACTIVE: (COMPLETED,)}  # the status changes allowed


class ScheduledEvents:
    def __init__(self, world: World) -> None:
        self.world = world
        self.all: dict[int, ScheduledEvent] = {}

    # -- people ------------------------------------------------------------------------
    def interested(self, user: User, event_id: int, yes: bool = True) -> None:
        event = self._event(event_id)
        if user.id not in self.world.guilds[event.guild_id].members:
            raise ValueError(f"{user.username} is not in that guild")
        if yes == (user.id in event.users):
            return
        if yes:
            event.users.append(user.id)
        else:
            event.users.remove(user.id)
        name = "GUILD_SCHEDULED_EVENT_USER_ADD" if yes else "GUILD_SCHEDULED_EVENT_USER_REMOVE"
        body = {
            "guild_scheduled_event_id": str(event.id),
            "user_id": str(user.id),
            "guild_id": str(event.guild_id),
        }
        self._emit(name, event, lambda _viewer: body)

    # -- the bot's side (REST) ---------------------------------------------------------
    def routes(self) -> dict[str, Handler]:
        base = "/guilds/{guild_id}/scheduled-events"
        one = base + "/{guild_scheduled_event_id}"
        return {
            f"GET {base}": self.list,
            f"POST {base}": self.create,
            f"GET {one}": self.get,
            f"PATCH {one}": self.edit,
            f"DELETE {one}": self.delete,
            f"GET {one}/users": self.users,
        }

    async def list(self, r: Request) -> Result:
        counts = r.query.get("with_user_count", "").lower() == "true"
        guild_id = r.id("guild_id")
        found = [e for e in self.all.values() if e.guild_id == guild_id]
        return 200, [scheduled_event_payload(e, user_count=counts) for e in found]

    async def create(self, r: Request) -> Result:
        body, guild = _body(r), self.world.guild(r.id("guild_id"))
        if r.bot.id not in guild.members:
            raise FakeError(403, 50001, "Missing Access")
        for name in ("name", "scheduled_start_time", "privacy_level", "entity_type"):
            _need(body, name)
        kind = int(body["entity_type"])
        location = (body.get("entity_metadata") or {}).get("location")
        channel = body.get("channel_id")
        if kind == EXTERNAL and (not location or not body.get("scheduled_end_time") or channel):
            raise invalid_form(
                "entity_metadata",
                "GUILD_SCHEDULED_EVENT_INVALID",
                "Needs a location and an end time, and no channel",
            )
        if kind in (STAGE, VOICE) and not channel:
            raise invalid_form("channel_id", "BASE_TYPE_REQUIRED", "This field is required")
        if _when(body["scheduled_start_time"]) <= datetime.now(UTC):
            raise invalid_form(
                "scheduled_start_time",
                "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                "Cannot schedule event in the past",
            )
        event = ScheduledEvent(
            self.world.ids.next(),
            guild.id,
            r.bot,
            str(body["name"]),
            str(body["scheduled_start_time"]),
            body.get("scheduled_end_time"),
            kind,
            int(channel) if channel else None,
            location,
            body.get("description"),
        )
        self.all[event.id] = event
        self._emit("GUILD_SCHEDULED_EVENT_CREATE", event, lambda _v: scheduled_event_payload(event))
        return 200, scheduled_event_payload(event)

    async def get(self, r: Request) -> Result:
        counts = r.query.get("with_user_count", "").lower() == "true"
        return 200, scheduled_event_payload(self._event_in(r), user_count=counts)

    async def edit(self, r: Request) -> Result:
        event, body = self._event_in(r), _body(r)
        if "status" in body and int(body["status"]) != event.status:
            if int(body["status"]) not in MOVES.get(event.status, ()):
                raise invalid_form(
                    "status", "GUILD_SCHEDULED_EVENT_INVALID_STATUS", "Cannot change to that status"
                )
            event.status = int(body["status"])
        for key, attr in (
            ("name", "name"),
            ("description", "description"),
            ("scheduled_start_time", "start"),
            ("scheduled_end_time", "end"),
        ):
            if key in body:
                setattr(event, attr, body[key])
        if "entity_metadata" in body:
            event.location = (body["entity_metadata"] or {}).get("location")
        self._emit("GUILD_SCHEDULED_EVENT_UPDATE", event, lambda _v: scheduled_event_payload(event))
        return 200, scheduled_event_payload(event)

    async def delete(self, r: Request) -> Result:
        event = self._event_in(r)
        del self.all[event.id]
        self._emit("GUILD_SCHEDULED_EVENT_DELETE", event, lambda _v: scheduled_event_payload(event))
        return 204, None

    async def users(self, r: Request) -> Result:
        """Who said "Interested", by user ID (``before``/``after``), up to 100 at once."""
        event = self._event_in(r)
        limit = min(max(int(r.query.get("limit", 100)), 1), 100)
        after, before = int(r.query.get("after", 0)), int(r.query.get("before", 1 << 63))
        chosen = sorted(u for u in event.users if after < u < before)
        chosen = chosen[-limit:] if "before" in r.query else chosen[:limit]
        with_member = r.query.get("with_member", "").lower() == "true"
        guild = self.world.guilds[event.guild_id]
        answer = []
        for user_id in chosen:
            item: JSON = {
                "guild_scheduled_event_id": str(event.id),
                "user": user_payload(self.world.users[user_id]),
            }
            if with_member and user_id in guild.members:
                item["member"] = member_payload(guild.members[user_id])
            answer.append(item)
        return 200, answer

    # -- helpers -----------------------------------------------------------------------
    def _event(self, event_id: int) -> ScheduledEvent:
        if event_id not in self.all:
            raise FakeError(404, 10070, "Unknown Guild Scheduled Event")
        return self.all[event_id]

    def _event_in(self, r: Request) -> ScheduledEvent:
        event = self._event(r.id("guild_scheduled_event_id"))
        if event.guild_id != r.id("guild_id"):
            raise FakeError(404, 10070, "Unknown Guild Scheduled Event")
        return event

    def _emit(self, name: str, event: ScheduledEvent, build: Any) -> None:
        if self.world.dispatcher is not None:
            self.world.dispatcher.dispatch(
                name, build, guild_id=event.guild_id, audience=None, intent=GUILD_SCHEDULED_EVENTS
            )
        self.world.on_change()


def _body(r: Request) -> JSON:
    return r.body if isinstance(r.body, dict) else {}


def _need(body: JSON, name: str) -> Any:
    if body.get(name) is None:
        raise invalid_form(name, "BASE_TYPE_REQUIRED", "This field is required")
    return body[name]


def _when(text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise invalid_form("scheduled_start_time", "DATE_TIME_TYPE_PARSE", "Not a time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
