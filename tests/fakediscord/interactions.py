"""Interactions: people press buttons, choose from select menus, submit modals and run
slash commands; the bot answers through the callback (within 3 seconds) and the
interaction's webhook (for 15 minutes). Slash commands are registered first
(``PUT /applications/{id}/commands``, globally or for a guild).

Messages the bot sends with the ephemeral flag (64) are kept, but only the person who
interacted sees them: they are in ``posted()``, not in the channel's history or the
gateway. Authentication is by the interaction's token in the URL, as on Discord.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from .model import (
    COMMAND,
    COMPONENT,
    JSON,
    MODAL_SUBMIT,
    FakeError,
    Interaction,
    Message,
    User,
    invalid_form,
)
from .payloads import interaction_payload, message_payload

if TYPE_CHECKING:
    from .rest import Handler, Request, Result
    from .world import World

PONG, MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, MODAL = 1, 4, 5, 6, 7, 9
EPHEMERAL = 1 << 6
ANSWER_WITHIN, TOKEN_LASTS = 3.0, 15 * 60.0


class Interactions:
    def __init__(self, world: World) -> None:
        self.world = world
        self.all: dict[int, Interaction] = {}
        self.commands: dict[tuple[int, int | None], list[JSON]] = {}  # (app, guild) -> list

    # -- people ------------------------------------------------------------------------
    def press(self, user: User, message: Message, custom_id: str, values: list[str] | None) -> int:
        component = _find(message.components, custom_id)
        if component is None or component.get("disabled"):
            raise ValueError(f"no such component on that message: {custom_id}")
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None or component["type"] != 2:
            data["values"] = list(values or [])
        return self._create(COMPONENT, message.author, user, message.channel_id, data, message).id

    def submit(self, user: User, custom_id: str, fields: dict[str, str]) -> int:
        """Submit the modal ``custom_id`` the bot last opened for ``user``."""
        opened = [
            i
            for i in self.all.values()
            if i.user is user and (i.modal or {}).get("custom_id") == custom_id
        ]
        if not opened:
            raise ValueError(f"no modal {custom_id} is open for {user.username}")
        asked = opened[-1]
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in fields.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        message = self.world.messages.get(asked.message_id or 0)
        made = self._create(MODAL_SUBMIT, asked.bot, user, asked.channel_id, data, message)
        made.trigger = asked
        return made.id

    def run(self, user: User, channel_id: int, name: str, options: dict[str, Any]) -> int:
        """A slash command as the person types it: ``/name option:value``."""
        channel = self.world.channel(channel_id)
        for (app_id, guild_id), commands in self.commands.items():
            for command in commands:
                if command["name"] == name and guild_id in (None, channel.guild_id):
                    bot = next(b for b in self.world.bots.values() if b.application_id == app_id)
                    given = {o["name"]: o for o in command.get("options", [])}
                    if set(options) - set(given):
                        raise ValueError(f"/{name} has no option {set(options) - set(given)}")
                    data: JSON = {
                        "id": command["id"],
                        "name": name,
                        "type": 1,
                        "options": [
                            {"name": k, "type": given[k].get("type", 3), "value": v}
                            for k, v in options.items()
                        ],
                    }
                    if guild_id is not None:
                        data["guild_id"] = str(guild_id)
                    return self._create(COMMAND, bot, user, channel_id, data).id
        raise ValueError(f"no slash command /{name} is registered here")

    def _create(
        self,
        kind: int,
        bot: User,
        user: User,
        channel_id: int,
        data: JSON,
        message: Message | None = None,
    ) -> Interaction:
        interaction = Interaction(
            self.world.ids.next(),
            f"aW50ZXJhY3Rpb24{secrets.token_urlsafe(48)}",
            kind,
            bot,
            user,
            channel_id,
            data,
            message.id if message else None,
        )
        self.all[interaction.id] = interaction

        def build(viewer: User) -> JSON:
            return interaction_payload(self.world, interaction, viewer)

        if self.world.dispatcher is not None:
            self.world.dispatcher.dispatch(
                "INTERACTION_CREATE", build, guild_id=None, audience=[bot], intent=0
            )
        self.world.on_change()
        return interaction

    # -- the bot's side (REST) ---------------------------------------------------------
    def routes(self) -> dict[str, Handler]:
        hook, apps = (
            "/webhooks/{application_id}/{interaction_token}",
            "/applications/{application_id}",
        )
        return {
            "POST /interactions/{interaction_id}/{interaction_token}/callback": self.callback,
            f"POST {hook}": self.follow_up,
            f"GET {hook}/messages/{{message_id}}": self.get_reply,
            f"PATCH {hook}/messages/{{message_id}}": self.edit_reply,
            f"DELETE {hook}/messages/{{message_id}}": self.delete_reply,
            f"GET {apps}/commands": self.list_commands,
            f"PUT {apps}/commands": self.overwrite_commands,
            f"GET {apps}/guilds/{{guild_id}}/commands": self.list_commands,
            f"PUT {apps}/guilds/{{guild_id}}/commands": self.overwrite_commands,
        }

    def by_token(self, token: str) -> Interaction | None:
        return next((i for i in self.all.values() if i.token == token), None)

    async def callback(self, r: Request) -> Result:
        interaction = self.all.get(r.id("interaction_id"))
        if interaction is None or interaction.token != r.params["interaction_token"]:
            raise FakeError(404, 10062, "Unknown interaction")
        if interaction.response is not None:
            raise FakeError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - interaction.at > ANSWER_WITHIN:
            raise FakeError(404, 10062, "Unknown interaction")
        body = r.body if isinstance(r.body, dict) else {}
        kind, data = int(_need(body, "type")), body.get("data") or {}
        allowed = {
            COMMAND: (MESSAGE, DEFERRED_MESSAGE, MODAL),
            COMPONENT: (MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, MODAL),
            MODAL_SUBMIT: (MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE),
        }.get(interaction.type, (PONG,))
        if kind not in allowed:
            raise invalid_form("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid type")
        interaction.response, interaction.answered_at = kind, time.monotonic()
        resource: JSON = {"type": kind}
        if kind == MESSAGE:
            made = self._post(interaction, r, data)
            interaction.original_id = made.id
            resource["message"] = message_payload(self.world, made, interaction.bot)
        elif kind == UPDATE and interaction.message_id is not None:
            target = self.world.messages[interaction.message_id]
            self._edit(target, data)
            resource["message"] = message_payload(self.world, target, interaction.bot)
        elif kind == DEFERRED_MESSAGE:
            interaction.deferred_flags = int(data.get("flags") or 0)
        elif kind == MODAL:
            for name in ("custom_id", "title", "components"):
                _need(data, name)
            interaction.modal = data
        self.world.on_change()
        if r.query.get("with_response", "").lower() not in ("1", "true"):
            return 204, None
        summary: JSON = {"id": str(interaction.id), "type": interaction.type}
        if kind in (MESSAGE, DEFERRED_MESSAGE):
            summary["response_message_id"] = str(interaction.original_id or interaction.id)
            summary["response_message_loading"] = kind == DEFERRED_MESSAGE
            summary["response_message_ephemeral"] = bool(int(data.get("flags") or 0) & EPHEMERAL)
        return 200, {"interaction": summary, "resource": resource}

    async def follow_up(self, r: Request) -> Result:
        interaction = self._hook(r)
        made = self._post(interaction, r, r.body if isinstance(r.body, dict) else {})
        return 200, message_payload(self.world, made, interaction.bot)

    async def get_reply(self, r: Request) -> Result:
        interaction = self._hook(r)
        return 200, message_payload(self.world, self._reply(interaction, r), interaction.bot)

    async def edit_reply(self, r: Request) -> Result:
        interaction = self._hook(r)
        body = r.body if isinstance(r.body, dict) else {}
        if r.params["message_id"] == "@original" and interaction.original_id is None:
            if interaction.response == DEFERRED_MESSAGE:  # the deferred answer arrives
                flags = int(body.get("flags") or 0) | interaction.deferred_flags
                made = self._post(interaction, r, {**body, "flags": flags})
                interaction.original_id = made.id
                return 200, message_payload(self.world, made, interaction.bot)
        message = self._reply(interaction, r)
        self._edit(message, body)
        return 200, message_payload(self.world, message, interaction.bot)

    async def delete_reply(self, r: Request) -> Result:
        self.world.delete(self._reply(self._hook(r), r))
        return 204, None

    async def list_commands(self, r: Request) -> Result:
        guild = int(r.params["guild_id"]) if "guild_id" in r.params else None
        return 200, self.commands.get((r.id("application_id"), guild), [])

    async def overwrite_commands(self, r: Request) -> Result:
        app_id = r.id("application_id")
        if app_id != r.bot.application_id:
            raise FakeError(403, 50001, "Missing Access")
        guild = int(r.params["guild_id"]) if "guild_id" in r.params else None
        made = []
        for spec in r.body if isinstance(r.body, list) else []:
            if not isinstance(spec, dict) or not spec.get("name"):
                raise invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
            command = {
                "id": str(self.world.ids.next()),
                "application_id": str(app_id),
                "version": str(self.world.ids.next()),
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
                "contexts": [0, 1, 2],
                "integration_types": [0],
                **{k: v for k, v in spec.items() if v is not None},  # null: Discord's default
            }
            if guild is not None:
                command["guild_id"] = str(guild)
            made.append(command)
        self.commands[(app_id, guild)] = made
        return 200, made

    # -- helpers -----------------------------------------------------------------------
    def _hook(self, r: Request) -> Interaction:
        interaction = self.by_token(r.params["interaction_token"])
        if interaction is None or r.id("application_id") != interaction.bot.application_id:
            raise FakeError(404, 10015, "Unknown Webhook")
        if time.monotonic() - interaction.at > TOKEN_LASTS:
            raise FakeError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _reply(self, interaction: Interaction, r: Request) -> Message:
        wanted = r.params["message_id"]
        message_id = interaction.original_id if wanted == "@original" else int(wanted)
        message = self.world.messages.get(message_id or 0)
        if message is None or message.deleted or message.interaction_id != interaction.id:
            raise FakeError(404, 10008, "Unknown Message")
        return message

    def _post(self, interaction: Interaction, r: Request, data: JSON) -> Message:
        channel = self.world.channel(interaction.channel_id)
        flags = int(data.get("flags") or 0)
        message, _ = self.world.post(
            interaction.bot,
            channel,
            str(data.get("content") or ""),
            embeds=data.get("embeds"),
            components=data.get("components"),
            flags=flags,
            message_type=20 if interaction.type == COMMAND else None,
            interaction_id=interaction.id,
            ephemeral_for=interaction.user.id if flags & EPHEMERAL else None,
        )
        return message

    def _edit(self, message: Message, data: JSON) -> None:
        changes = {k: data[k] for k in ("embeds", "components") if data.get(k) is not None}
        content = data.get("content")
        self.world.edit(message, None if content is None else str(content), **changes)


def _find(components: list[JSON], custom_id: str) -> JSON | None:
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        found = _find(component.get("components", []), custom_id)
        if found is not None:
            return found
    return None


def _need(body: Any, name: str) -> Any:
    if not isinstance(body, dict) or body.get(name) is None:
        raise invalid_form(name, "BASE_TYPE_REQUIRED", "This field is required")
    return body[name]
