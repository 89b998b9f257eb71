"""The Discord adapter, made of its parts, and what it offers the core (the
``Platform`` seam): people and links in Discord's forms, and queueing what the
bot says or does (written to the outbox with ``platform = 'discord'``)."""

from __future__ import annotations

import re
from collections.abc import Coroutine, Sequence
from typing import Any

from sqlite_utils import Database

from bot.context import Choices, UserId
from bot.discord.base import PLATFORM, PREFIX, snowflake
from bot.discord.events import Events
from bot.discord.interactions import Interactions, components, reply_parts
from bot.discord.rooms import Rooms
from bot.discord.session import Session
from bot.sending import Queueing
from storage import rooms

# A person as typed in a command: "discord:123", or a mention, "<@123>" / "<@!123>".
TYPED_PERSON = re.compile(r"^(?:discord:|<@!?)(\d{1,20})>?$")
EXAMPLE_PEOPLE = ("discord:123456789012345678", "discord:876543210987654321")  # made up


class DiscordAdapter(Queueing, Rooms, Session, Events, Interactions):
    """The core's ``Platform`` for Discord: log in and stay connected
    (``Session``), store the gateway's dispatches and catch up (``Ingest``),
    understand them (``Events``), send from the outbox (``Sending``), open
    threads and read who is in a private channel (``Rooms``, over the ingest and
    the sending), and answer buttons and slash commands (``Interactions``, which
    sets those up); the outbox rows queued as on every platform are ``Queueing``'s."""

    name = PLATFORM

    def owns(self, some_id: str) -> bool:
        return some_id.startswith(PREFIX)

    def loops(self) -> list[Coroutine[Any, Any, None]]:
        return [self.gateway_loop(), self.ingest_loop(), self.sender_loop(), self.slash_setup()]

    # ----- people and links ---------------------------------------------------

    def person(self, text: str) -> UserId | None:
        found = TYPED_PERSON.match(text)
        if found is None or (text.startswith("<") != text.endswith(">")):
            return None
        return UserId(PREFIX + found.group(1))

    def meant_as_person(self, word: str) -> bool:
        return word.startswith((PREFIX, "<@"))

    def mention(self, user_id: str) -> str:
        person = snowflake(user_id)
        return f"<@{person}>" if person else user_id  # shown as their name; pings only if asked

    @property
    def example_people(self) -> tuple[str, str]:
        return EXAMPLE_PEOPLE

    def link(self, room_id: str, event_id: str) -> str:
        room = rooms.get(self.store.db, room_id)
        guild = "@me" if room is not None and room.is_direct else str(self.settings.guild_id)
        return f"https://discord.com/channels/{guild}/{snowflake(room_id)}/{snowflake(event_id)}"

    @property
    def uid_domain(self) -> str:
        return f"discord-{self.settings.guild_id}.copro-bot"

    # ----- queueing (written to the outbox; the sender sends) ---------------

    def queue_text(
        self,
        db: Database,
        room_id: str,
        text: str,
        *,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        thread: str | None = None,
    ) -> str:
        """Plain words (sent with markdown escaped); only the people in ``mentions``
        are pinged, never the person replied to. In a thread: posted in the thread."""
        body = self._text_body(db, text, reply_to, mentions)
        return self._queue(db, "send", thread or room_id, body)

    def _text_body(
        self, db: Database, text: str, reply_to: str | None, mentions: Sequence[str]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "content": text,
            "allowed_mentions": {
                "parse": [],
                "users": [snowflake(m) for m in mentions if snowflake(m)],
                "replied_user": False,
            },
        }
        if reply_to:
            body.update(reply_parts(db, reply_to))  # a message, or a slash command
        return body

    def queue_question(
        self, db: Database, room_id: str, user_id: str, text: str, choices: Choices
    ) -> str:
        """The question's words, with its answers as buttons (or a menu) under them."""
        body = self._text_body(db, text, None, ())
        buttons = components(user_id, choices)
        return self._queue(
            db, "send", room_id, {**body, **({"components": buttons} if buttons else {})}
        )

    def queue_reaction(self, db: Database, room_id: str, target: str, key: str) -> str:
        return self._queue(db, "react", room_id, {"message_id": target, "emoji": key})

    def queue_direct(self, db: Database, user_id: str, text: str) -> str:
        return self.queue_text(db, self.direct_room(db, user_id), text)

    def queue_create_room(
        self, db: Database, key: str, name: str, topic: str, invite: Sequence[str] = ()
    ) -> str:
        """A private text channel in the server, open to the bot and ``invite``."""
        content = {"name": name, "topic": topic, "invite": list(invite)}
        return self._queue_new_room(db, key, content)

    def queue_topic(self, db: Database, room_id: str, topic: str) -> str:
        return self._queue(db, "topic", room_id, {"topic": topic})
