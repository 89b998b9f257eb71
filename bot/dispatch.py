"""From inbox to handler: parse, check permission, run, and never stop on an error.

The worker takes pending inbox events in order. Each batch runs in one write
transaction; each event in its own savepoint. What a handler writes and what
it says (the outbox) commit together with the event being marked done, so a
crash at any point replays the event and changes nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import traceback
from typing import Protocol

from sqlite_utils import Database

from bot.config import Config
from bot.context import Context, Message, Outgoing, UserError
from bot.messages import Messages
from bot.registry import Registry
from bot.roles import Role, role_of
from storage import deadletters, inbox
from storage.db import Store
from storage.inbox import InboxEvent

log = logging.getLogger(__name__)

ROLE_NAMES = {Role.CHAMPION: "roles.champion", Role.TEAM: "roles.team"}


class Platform(Outgoing, Protocol):
    """What the worker needs from a chat platform adapter."""

    def interpret(self, db: Database, event: InboxEvent) -> Message | None:
        """Turn a stored event into a message for the dispatcher, or handle it
        (membership, room upgrades...) and return None."""
        ...

    def wake_sender(self) -> None: ...


class Dispatcher:
    def __init__(self, config: Config, messages: Messages, registry: Registry) -> None:
        self.config = config
        self.messages = messages
        self.registry = registry

    def text(self, key: str, **values: object) -> str:
        """A catalogue message; ``{prefix}`` is always available to it."""
        return self.messages.get(key, **{"prefix": self.config.bot.prefix, **values})

    def _say(self, out: Outgoing, db: Database, msg: Message, key: str, **values: object) -> None:
        out.queue_text(db, msg.room_id, self.text(key, **values), reply_to=msg.event_id)

    async def handle(self, db: Database, msg: Message, out: Outgoing) -> None:
        prefix = self.config.bot.prefix
        body = msg.body.strip()
        if not body.startswith(prefix):
            if msg.is_direct:
                self._say(out, db, msg, "dm.hint")
            return
        words = body[len(prefix) :].split()
        if not words:
            self._say(out, db, msg, "dm.hint")
            return
        found = self.registry.find(words)
        if found is None:
            self._say(out, db, msg, "errors.unknown_command", command=prefix + words[0][:40])
            return
        cmd, used = found
        role = role_of(self.config, db, msg.sender)
        if role < cmd.role:
            self._say(out, db, msg, "errors.not_allowed", who=self.text(ROLE_NAMES[cmd.role]))
            return
        args = body[len(prefix) :].split(None, used)[used:]
        ctx = Context(
            message=msg,
            args=args[0].strip() if args else "",
            role=role,
            db=db,
            config=self.config,
            messages=self.messages,
            registry=self.registry,
            outgoing=out,
        )
        try:
            with db.atomic():
                await cmd.handler(ctx)
        except UserError as err:
            ctx.reply(err.key, **err.values)


def new_ref() -> str:
    """A short reference number a person can read out to the team."""
    return secrets.token_hex(3).upper()


class Worker:
    """Handles pending inbox events, in order, one batch per transaction."""

    def __init__(self, store: Store, dispatcher: Dispatcher, platform: Platform) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.platform = platform
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while await self.run_batch():
                pass

    async def run_batch(self, size: int = 50) -> int:
        """Handle up to ``size`` pending events. Returns how many were handled."""
        async with self.store.writing() as db:
            batch = inbox.pending(db, size)
            for event in batch:
                await self._handle_one(db, event)
        if batch:
            self.platform.wake_sender()
        return len(batch)

    async def _handle_one(self, db: Database, event: InboxEvent) -> None:
        msg: Message | None = None
        try:
            with db.atomic():
                msg = self.platform.interpret(db, event)
                if msg is not None:
                    await self.dispatcher.handle(db, msg, self.platform)
                inbox.mark(db, event.seq, "done" if msg is not None else "ignored")
        except Exception:
            ref = new_ref()
            log.exception(
                "Handling event %s in %s failed (ref %s)", event.event_id, event.room_id, ref
            )
            deadletters.add(
                db,
                ref,
                event.event_id,
                event.room_id,
                event.sender,
                event.event,
                traceback.format_exc(),
            )
            inbox.mark(db, event.seq, "failed")
            if msg is None:  # not a person's message: nobody is waiting for an answer
                return
            self.platform.queue_text(
                db,
                event.room_id,
                self.dispatcher.text("errors.internal", ref=ref),
                reply_to=event.event_id,
            )
