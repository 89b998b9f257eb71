"""The fake's objects as Discord's JSON, field for field (discord-api-docs, and discord.py's
``discord/types/*.py`` TypedDicts as the checklist: ``shapes.py`` checks against them).

``viewer`` is the bot a payload is for: it decides ``me`` in reactions and ``member`` in
threads. ``gateway=True`` adds what only gateway events carry (a message's ``guild_id``
and ``member``, and the members of the people it mentions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ids import created_ms, iso
from .model import (
    COMPONENT,
    DM,
    GUILD_MEMBERS,
    GUILD_PRESENCES,
    GUILD_TEXT,
    JSON,
    MESSAGE_CONTENT,
    THREADS,
    Attachment,
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    Poll,
    ScheduledEvent,
    User,
)

if TYPE_CHECKING:
    from .world import World


def user_payload(user: User, *, private: bool = False) -> JSON:
    body: JSON = {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": None if user.bot else user.username.title(),
        "avatar": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
        "banner": None,
        "accent_color": None,
        "public_flags": 0,
    }
    if user.bot:
        body["bot"] = True
    if private:  # GET /users/@me and READY: the account's own settings
        body.update(
            flags=0, mfa_enabled=False, locale="en-GB", verified=True, email=None, premium_type=0
        )
    return body


def member_payload(member: Member, *, with_user: bool = False) -> JSON:
    body: JSON = {
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in member.roles],
        "joined_at": iso(member.joined_ms),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "avatar_decoration_data": None,
    }
    if with_user:
        body["user"] = user_payload(member.user)
    return body


def emoji_payload(key: str) -> JSON:
    """``👍`` (a Unicode emoji) or ``name:id`` (a guild's own, as URLs write it)."""
    name, _, emoji_id = key.partition(":")
    if emoji_id:
        return {"id": emoji_id, "name": name, "animated": False}
    return {"id": None, "name": key}


def channel_payload(world: World, channel: Channel, viewer: User) -> JSON:
    if channel.type == DM:
        others = [u for u in channel.recipients if u is not viewer] or channel.recipients[:1]
        return {
            "id": str(channel.id),
            "type": DM,
            "last_message_id": _id(channel.last_message_id),
            "recipients": [user_payload(u) for u in others],
            "flags": 0,
        }
    if channel.type in THREADS:
        return thread_payload(channel, viewer)
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [dict(o) for o in channel.overwrites],
        "nsfw": False,
        "parent_id": _id(channel.parent_id),
        "topic": channel.topic,
        "last_message_id": _id(channel.last_message_id),
        "rate_limit_per_user": 0,
        "default_auto_archive_duration": 1440,
        "default_thread_rate_limit_per_user": 0,
        "flags": 0,
    }


def thread_payload(thread: Channel, viewer: User) -> JSON:
    started = iso(thread.created_ms or created_ms(thread.id))
    body: JSON = {
        "id": str(thread.id),
        "type": thread.type,
        "guild_id": str(thread.guild_id),
        "parent_id": str(thread.parent_id),
        "owner_id": str(thread.owner_id),
        "name": thread.name,
        "nsfw": False,
        "last_message_id": _id(thread.last_message_id),
        "rate_limit_per_user": 0,
        "message_count": thread.sent - thread.removed,
        "member_count": min(len(thread.thread_members), 50),
        "total_message_sent": thread.sent,
        "flags": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": started,
            "locked": False,
            "create_timestamp": started,
        },
    }
    if viewer.id in thread.thread_members:
        body["member"] = thread_member_payload(thread, viewer.id)
    return body


def thread_member_payload(thread: Channel, user_id: int) -> JSON:
    return {
        "id": str(thread.id),
        "user_id": str(user_id),
        "join_timestamp": iso(thread.thread_members[user_id]),
        "flags": 1,
    }


def guild_payload(world: World, guild: Guild, viewer: User, *, counts: bool = False) -> JSON:
    """The guild object (GET /guilds/{id}); ``guild_create_payload`` adds the rest."""
    text = [world.channels[c] for c in guild.channels]
    system = next((c.id for c in text if c.type == GUILD_TEXT), None)
    body: JSON = {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(guild.owner_id),
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": list(guild.roles),
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": _id(system),
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-GB",
        "public_updates_channel_id": None,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
        "incidents_data": None,
    }
    if counts:
        body["approximate_member_count"] = len(guild.members)
        body["approximate_presence_count"] = 0
    return body


def guild_create_payload(world: World, guild: Guild, viewer: User, intents: int) -> JSON:
    """GUILD_CREATE: the guild with its channels, active threads and (as Discord does without
    the presences intent) only the bot's own member; the rest come by REQUEST_GUILD_MEMBERS."""
    members = list(guild.members.values())
    if not intents & GUILD_PRESENCES:
        members = [m for m in members if m.user is viewer]
    channels = [world.channels[c] for c in guild.channels]
    listed = []
    for channel in channels:
        if channel.type in THREADS:
            continue
        body = channel_payload(world, channel, viewer)
        del body["guild_id"]  # channels in GUILD_CREATE carry no guild_id
        listed.append(body)
    return {
        **guild_payload(world, guild, viewer),
        "joined_at": iso(guild.members[viewer.id].joined_ms),
        "large": len(guild.members) > 250,
        "unavailable": False,
        "member_count": len(guild.members),
        "voice_states": [],
        "members": [member_payload(m, with_user=True) for m in members],
        "channels": listed,
        "threads": [thread_payload(c, viewer) for c in channels if c.type in THREADS],
        "presences": [],
        "guild_scheduled_events": [
            scheduled_event_payload(e)
            for e in world.scheduled.all.values()
            if e.guild_id == guild.id
        ],
        "soundboard_sounds": [],
    }


def attachment_payload(world: World, channel_id: int, attachment: Attachment) -> JSON:
    url = f"{world.cdn_url}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
    body: JSON = {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": len(attachment.data),
        "url": url,
        "proxy_url": url,
        "content_type": attachment.content_type,
        "flags": 0,
    }
    if attachment.description is not None:
        body["description"] = attachment.description
    return body


def reactions_payload(message: Message, viewer: User) -> list[JSON]:
    return [
        {
            "count": len(users),
            "count_details": {"burst": 0, "normal": len(users)},
            "me": viewer.id in users,
            "me_burst": False,
            "burst_colors": [],
            "emoji": emoji_payload(key),
        }
        for key, users in message.reactions.items()
    ]


def message_payload(
    world: World, message: Message, viewer: User, *, gateway: bool = False, nested: bool = False
) -> JSON:
    channel = world.channels[message.channel_id]
    guild = world.guilds.get(channel.guild_id or 0)
    mentions = []
    for user_id in message.mentions:
        mentioned = user_payload(world.users[user_id])
        if gateway and guild is not None and user_id in guild.members:
            mentioned["member"] = member_payload(guild.members[user_id])
        mentions.append(mentioned)
    body: JSON = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "author": user_payload(message.author),
        "content": message.content,
        "timestamp": iso(message.created_ms),
        "edited_timestamp": None if message.edited_ms is None else iso(message.edited_ms),
        "tts": message.tts,
        "mention_everyone": False,
        "mentions": mentions,
        "mention_roles": [],
        "attachments": [attachment_payload(world, channel.id, a) for a in message.attachments],
        "embeds": list(message.embeds),
        "pinned": False,
        "type": message.type,
        "flags": message.flags,
        "components": list(message.components),
    }
    if message.nonce is not None:
        body["nonce"] = message.nonce
    if message.reactions:
        body["reactions"] = reactions_payload(message, viewer)
    if message.position is not None:
        body["position"] = message.position
    if message.thread_id is not None:
        body["thread"] = thread_payload(world.channels[message.thread_id], viewer)
    if message.poll is not None:
        body["poll"] = poll_payload(message.poll, viewer)
    if message.interaction_id is not None:
        answered = world.interactions.all[message.interaction_id]
        body["interaction_metadata"] = interaction_metadata(world, answered)
    if message.reply_to is not None:
        body["message_reference"] = {
            "type": 0,
            "message_id": str(message.reply_to),
            "channel_id": str(message.channel_id),
        }
        if guild is not None:
            body["message_reference"]["guild_id"] = str(guild.id)
        if not nested:
            target = world.messages.get(message.reply_to)
            body["referenced_message"] = (
                None
                if target is None or target.deleted
                else message_payload(world, target, viewer, nested=True)
            )
    if gateway and guild is not None:
        body["guild_id"] = str(guild.id)
        if message.author.id in guild.members:
            body["member"] = member_payload(guild.members[message.author.id])
    return body


def poll_payload(poll: Poll, viewer: User) -> JSON:
    answers = []
    for number, (text, emoji) in enumerate(poll.answers, start=1):
        media: JSON = {"text": text}
        if emoji is not None:
            media["emoji"] = emoji
        answers.append({"answer_id": number, "poll_media": media})
    counts = [
        {"id": answer, "count": len(users), "me_voted": viewer.id in users}
        for answer, users in sorted(poll.votes.items())
        if users
    ]
    return {
        "question": {"text": poll.question},
        "answers": answers,
        "expiry": iso(poll.expiry_ms),
        "allow_multiselect": poll.allow_multiselect,
        "layout_type": 1,
        "results": {"is_finalized": poll.finalized, "answer_counts": counts},
    }


def without_content(body: JSON) -> JSON:
    """What a bot without the message-content intent sees of someone else's message."""
    hidden = {**body, "content": "", "embeds": [], "attachments": [], "components": []}
    hidden.pop("poll", None)
    return hidden


def content_visible(world: World, message: Message, viewer: User, intents: int) -> bool:
    """Discord's rule: content needs the intent, except in DMs, the bot's own messages
    and messages that mention it."""
    channel = world.channels[message.channel_id]
    return bool(
        intents & MESSAGE_CONTENT
        or channel.type == DM
        or message.author is viewer
        or viewer.id in message.mentions
    )


def application_payload(world: World, bot: User) -> JSON:
    """GET /oauth2/applications/@me. ``interactions_endpoint_url`` stays null: with one set,
    Discord sends interactions there instead of the gateway."""
    limited = {GUILD_PRESENCES: 1 << 13, GUILD_MEMBERS: 1 << 15, MESSAGE_CONTENT: 1 << 19}
    flags = sum(bit for intent, bit in limited.items() if bot.privileged_intents & intent)
    return {
        "id": str(bot.application_id),
        "name": bot.username,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot": user_payload(bot),
        "is_monetized": False,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": f"{bot.application_id:064x}"[-64:],
        "flags": flags,
        "owner": user_payload(world.owner),
        "team": None,
        "approximate_guild_count": len(world.guilds),
        "approximate_user_install_count": 0,
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "tags": [],
        "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        "integration_types_config": {"0": {}},
    }


def ready_payload(
    world: World, bot: User, session_id: str, resume_url: str, shard: list[int]
) -> JSON:
    guilds = [g for g in world.guilds.values() if bot.id in g.members]
    return {
        "v": 10,
        "user": user_payload(bot, private=True),
        "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_url,
        "shard": shard,
        "application": {
            "id": str(bot.application_id),
            "flags": application_payload(world, bot)["flags"],
        },
        "private_channels": [],
        "relationships": [],
        "presences": [],
    }


def interaction_payload(world: World, interaction: Interaction, viewer: User) -> JSON:
    """INTERACTION_CREATE: what a person did, with where and who (member or user)."""
    channel = world.channel(interaction.channel_id)
    body: JSON = {
        "id": str(interaction.id),
        "application_id": str(interaction.bot.application_id),
        "type": interaction.type,
        "data": interaction.data,
        "channel_id": str(channel.id),
        "channel": {**channel_payload(world, channel, viewer), "permissions": "2248473465835073"},
        "token": interaction.token,
        "version": 1,
        "app_permissions": "2248473465835073",
        "locale": "en-GB",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": 10 * 1024 * 1024,
        "authorizing_integration_owners": _owners(world, interaction),
    }
    if channel.type == DM:
        body["user"] = user_payload(interaction.user)
        body["context"] = 1
    else:
        guild = world.guilds[channel.guild_id or 0]
        member = member_payload(guild.members[interaction.user.id], with_user=True)
        body["member"] = {**member, "permissions": guild.everyone_role["permissions"]}
        body["guild_id"] = str(guild.id)
        body["guild"] = {"id": str(guild.id), "locale": "en-GB", "features": []}
        body["guild_locale"] = "en-GB"
        body["context"] = 0
    if interaction.message_id is not None:
        message = world.messages[interaction.message_id]
        body["message"] = message_payload(world, message, viewer)
    return body


def interaction_metadata(world: World, interaction: Interaction) -> JSON:
    """What a message made in answer to an interaction says about it."""
    body: JSON = {
        "id": str(interaction.id),
        "type": interaction.type,
        "user": user_payload(interaction.user),
        "authorizing_integration_owners": _owners(world, interaction),
    }
    if interaction.original_id is not None:
        body["original_response_message_id"] = str(interaction.original_id)
    if interaction.type == COMPONENT:
        body["interacted_message_id"] = str(interaction.message_id)
    if interaction.trigger is not None:
        body["triggering_interaction_metadata"] = interaction_metadata(world, interaction.trigger)
    return body


def _owners(world: World, interaction: Interaction) -> JSON:
    channel = world.channels[interaction.channel_id]
    return {"0": str(channel.guild_id or 0)}


def scheduled_event_payload(event: ScheduledEvent, *, user_count: bool = False) -> JSON:
    body: JSON = {
        "id": str(event.id),
        "guild_id": str(event.guild_id),
        "channel_id": _id(event.channel_id),
        "creator_id": str(event.creator.id),
        "creator": user_payload(event.creator),
        "name": event.name,
        "description": event.description,
        "scheduled_start_time": event.start,
        "scheduled_end_time": event.end,
        "privacy_level": 2,
        "status": event.status,
        "entity_type": event.entity_type,
        "entity_id": None,
        "entity_metadata": None if event.location is None else {"location": event.location},
        "image": None,
        "recurrence_rule": None,
    }
    if user_count:
        body["user_count"] = len(event.users)
    return body


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)
