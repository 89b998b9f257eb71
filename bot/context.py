"""What a command handler receives. Handlers never touch the chat client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlite_utils import Database

from bot.config import Config
from bot.messages import Messages
from bot.registry import Registry
from bot.roles import Role


@dataclass(frozen=True)
class Message:
    """A text message from a person, in platform-neutral form."""

    event_id: str
    room_id: str
    sender: str
    body: str  # reply quotes already removed
    is_direct: bool


class Outgoing(Protocol):
    """How the core queues something to say. Implemented by each platform adapter."""

    def queue_text(
        self,
        db: Database,
        room_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
    ) -> None: ...


class UserError(Exception):
    """Something the person can fix: the message (a catalogue key) is shown to them."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass
class Context:
    message: Message
    args: str  # the text after the command words
    role: Role
    db: Database  # inside the current write transaction
    config: Config
    messages: Messages
    registry: Registry
    outgoing: Outgoing

    @property
    def sender(self) -> str:
        return self.message.sender

    @property
    def room_id(self) -> str:
        return self.message.room_id

    def text(self, key: str, **values: object) -> str:
        """A catalogue message, with ``{prefix}`` filled in."""
        return self.messages.get(key, prefix=self.config.bot.prefix, **values)

    def reply(self, key: str, **values: object) -> None:
        """Answer in the same room, as a reply to the person's message."""
        self.reply_text(self.text(key, **values))

    def reply_text(self, text: str) -> None:
        """Answer with text already built from catalogue messages."""
        self.outgoing.queue_text(self.db, self.room_id, text, reply_to=self.message.event_id)
