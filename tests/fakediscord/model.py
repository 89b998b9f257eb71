"""The fake Discord's objects: users, bots, guilds, channels (threads and DMs too), messages.

Plain data; ``world.py`` changes them and ``payloads.py`` shows them as Discord's JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .ids import created_ms

JSON = dict[str, Any]

# Channel types (discord-api-docs "Channel Types").
GUILD_TEXT, DM, GUILD_CATEGORY, PUBLIC_THREAD, PRIVATE_THREAD = 0, 1, 4, 11, 12
THREADS = (PUBLIC_THREAD, PRIVATE_THREAD)
# Message types and flags.
DEFAULT, REPLY, CHAT_INPUT_COMMAND, POLL_RESULT = 0, 19, 20, 46
# Interaction types.
PING, COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
HAS_THREAD = 1 << 5
# Gateway intents.
GUILDS, GUILD_MEMBERS, GUILD_PRESENCES = 1 << 0, 1 << 1, 1 << 8
GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS = 1 << 9, 1 << 10
DIRECT_MESSAGES, DIRECT_MESSAGE_REACTIONS = 1 << 12, 1 << 13
MESSAGE_CONTENT = 1 << 15
GUILD_MESSAGE_POLLS, DIRECT_MESSAGE_POLLS = 1 << 24, 1 << 25
GUILD_SCHEDULED_EVENTS = 1 << 16
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
ALL_INTENTS = (1 << 26) - 1


class FakeError(Exception):
    """A request Discord would refuse: HTTP status, Discord's JSON error code, message."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def invalid_form(field: str, code: str, message: str) -> FakeError:
    """Discord's 400 for a bad field: ``errors: {field: {_errors: [{code, message}]}}``."""
    errors = {field: {"_errors": [{"code": code, "message": message}]}}
    return FakeError(400, 50035, "Invalid Form Body", errors)


def unknown(what: str, code: int) -> FakeError:
    return FakeError(404, code, f"Unknown {what}")


@dataclass(eq=False)
class User:
    id: int
    username: str
    bot: bool = False
    # Bots only: the token, the application and which privileged intents it may use.
    token: str = ""
    application_id: int = 0
    privileged_intents: int = 0


@dataclass(eq=False)
class Member:
    user: User
    joined_ms: int
    nick: str | None = None
    roles: list[int] = field(default_factory=list)


@dataclass(eq=False)
class Channel:
    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipients: list[User] = field(default_factory=list)  # DMs
    owner_id: int | None = None  # threads
    thread_members: dict[int, int] = field(default_factory=dict)  # user id -> joined (ms)
    sent: int = 0  # messages ever sent here (threads: total_message_sent)
    removed: int = 0  # of those, deleted since
    created_ms: int = 0
    last_message_id: int | None = None
    overwrites: list[JSON] = field(default_factory=list)  # permission overwrites, as given


@dataclass(eq=False)
class Guild:
    id: int
    name: str
    owner_id: int
    everyone_role: JSON
    roles: list[JSON] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    channels: list[int] = field(default_factory=list)  # text channels and threads, in order


@dataclass(eq=False)
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str
    description: str | None = None


@dataclass(eq=False)
class Poll:
    """A native poll: answers are numbered from 1; votes are user IDs per answer."""

    question: str
    answers: list[tuple[str, JSON | None]]  # text, emoji
    expiry_ms: int
    allow_multiselect: bool = False
    votes: dict[int, list[int]] = field(default_factory=dict)
    finalized: bool = False

    def chosen_by(self, user_id: int) -> list[int]:
        return [answer for answer, users in self.votes.items() if user_id in users]


@dataclass(eq=False)
class Message:
    id: int
    channel_id: int
    author: User
    content: str
    type: int = DEFAULT
    nonce: str | int | None = None
    edited_ms: int | None = None
    reply_to: int | None = None
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    mentions: list[int] = field(default_factory=list)
    # emoji key ("👍" or "name:id") -> user ids in the order they reacted
    reactions: dict[str, list[int]] = field(default_factory=dict)
    flags: int = 0
    tts: bool = False
    position: int | None = None  # in a thread
    thread_id: int | None = None  # a thread started from this message
    poll: Poll | None = None
    interaction_id: int | None = None  # an answer to an interaction
    ephemeral_for: int | None = None  # only this person sees it (flag 64)
    system: bool = False  # made by Discord (a poll's result), not posted by its author
    deleted: bool = False

    @property
    def created_ms(self) -> int:
        return created_ms(self.id)


@dataclass(eq=False)
class Interaction:
    id: int
    token: str
    type: int
    bot: User
    user: User
    channel_id: int
    data: JSON
    message_id: int | None = None  # the message whose component was used
    at: float = field(default_factory=time.monotonic)
    trigger: Interaction | None = None  # a modal's submit: what opened the modal
    response: int | None = None  # the callback type the bot answered with
    answered_at: float | None = None
    original_id: int | None = None  # the message the callback (or its follow-up) made
    modal: JSON | None = None  # the modal the bot opened
    deferred_flags: int = 0  # a deferred answer's flags (ephemeral is decided then)


@dataclass(eq=False)
class ScheduledEvent:
    """A guild's scheduled event (the server's Events list); ``users`` said "Interested"."""

    id: int
    guild_id: int
    creator: User
    name: str
    start: str  # ISO 8601, as given
    end: str | None
    entity_type: int  # 1 stage, 2 voice, 3 somewhere else (entity_metadata.location)
    channel_id: int | None = None
    location: str | None = None
    description: str | None = None
    status: int = 1  # 1 scheduled, 2 active, 3 completed, 4 canceled
    users: list[int] = field(default_factory=list)
