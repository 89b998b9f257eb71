"""What an event means to the bot: parse, check permission, run, and never stop on an error.

The worker (``bot.worker``) hands each event people sent here, inside its
transaction. A person's message that starts with the prefix is a command.
Anything else a person does (a plain message, a reaction, a removal, a poll
answer, a message the bot cannot read yet) is offered to the listeners that
modules declared, in order, until one takes it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from sqlite_utils import Database

from bot.answers import everyday_word, yes_or_no
from bot.config import Config
from bot.context import Context, Incoming, Message, Platform, Speaking, UserError
from bot.messages import Messages
from bot.registry import Registry
from bot.roles import Role, role_of
from storage import conversations
from storage.conversations import Pending

ROLE_NAMES = {Role.CHAMPION: "roles.champion", Role.TEAM: "roles.team"}
# The kind of a question that "stop" ends (for Registry.abandoned handlers).
STOPPED = "dm.stop"
# "Did you mean !workshop 3?": what followed the typo is shown if it is this short.
SHOWN_ARGS = 30


class Dispatcher(Speaking):
    def __init__(
        self, config: Config, messages: Messages, registry: Registry, platform: Platform
    ) -> None:
        self.config = config
        self.messages = messages
        self.registry = registry
        self.platform = platform

    def on(self, platform: Platform) -> Dispatcher:
        """The same dispatcher, speaking through ``platform`` (the platforms bound to
        where the event being handled came from)."""
        if platform is self.platform:
            return self
        return Dispatcher(self.config, self.messages, self.registry, platform)

    async def handle(self, db: Database, event: Incoming) -> None:
        ctx = Context(
            event=event,
            args="",
            role=role_of(self.config, db, event.sender),
            db=db,
            config=self.config,
            messages=self.messages,
            registry=self.registry,
            platform=self.platform,
        )
        for watcher in self.registry.watchers_for(event):
            watcher(ctx)
        prefix = self.config.bot.prefix
        if isinstance(event, Message) and event.body.strip().startswith(prefix):
            await self._command(ctx, event.body.strip()[len(prefix) :])
            return
        waiting = None
        if isinstance(event, Message) and event.is_direct and await self._everyday(ctx, event):
            return
        if isinstance(event, Message) and event.is_direct:
            answered, waiting = await self._answer(ctx, event)
            if answered:
                return
        for listener in self.registry.listeners_for(event):
            if await _guarded(ctx, partial(listener, ctx)):
                break
        else:
            if isinstance(event, Message) and event.is_direct:
                ctx.reply("dm.hint")
        if waiting is not None:
            self._nudge(ctx, waiting)

    async def _answer(self, ctx: Context, event: Message) -> tuple[bool, Pending | None]:
        """Offer a direct message to the question waiting in that chat, if any.

        Returns whether it was the answer (or "skip"), and the question that still
        waits if not: the message is then new input, and the person hears once,
        after it is handled, that the bot is still waiting. An answer must look
        like one: the feature that asked decides. A question older than
        ``bot.questions_expire_minutes`` (or than the feature said) is dropped first."""
        waiting = conversations.pending(ctx.db, event.sender, event.room_id)
        if waiting is None:
            return False, None
        waiting = conversations.settle(ctx.db, waiting, event.room_id)
        lasts = timedelta(minutes=self.config.bot.questions_expire_minutes)
        if conversations.expired(waiting, ctx.now, lasts):
            self._drop(ctx, waiting)
            if _looks_like_answer(event.body):  # an answer, too late: never mis-file it
                ctx.reply("questions.expired")
                return True, None
            return False, None
        if _is_skip(event.body):
            self._drop(ctx, waiting)
            ctx.reply("questions.skipped")
            return True, None
        answer = self.registry.answers.get(waiting.kind)
        if answer is not None and await _guarded(ctx, lambda: answer(ctx, waiting)):
            return True, None
        return False, waiting

    def _drop(self, ctx: Context, waiting: Pending, why: str = "") -> None:
        """Stop waiting, as when a newer question takes the place of this one."""
        if waiting.kind in self.registry.abandoned:
            self.registry.abandoned[waiting.kind](ctx, waiting, why)
        conversations.finish(ctx.db, waiting.user_id, room_id=waiting.room_id)

    def _nudge(self, ctx: Context, waiting: Pending) -> None:
        """Once per question: say the bot is still waiting, and how to answer or skip."""
        still = conversations.pending(ctx.db, waiting.user_id, waiting.room_id)
        if still is None or still.nudged or (still.kind, still.txn) != (waiting.kind, waiting.txn):
            return
        about = f"questions.about.{waiting.kind}"
        if about in self.messages:
            topic = ctx.text(about, number=waiting.ref)
            ctx.reply("questions.waiting_about", about=topic)
        else:
            ctx.reply("questions.waiting")
        conversations.mark_nudged(ctx.db, still)

    async def _everyday(self, ctx: Context, event: Message) -> bool:
        """help, menu, hi, hello, stop typed without the prefix in a direct chat get what
        a person expects, even while the bot waits for an answer. True if it was one."""
        word = everyday_word(event.body)
        if word == "help":
            await self._command(ctx, "help")
        elif word == "hello":
            ctx.reply("dm.welcome")
        elif word == "stop":
            self._stop(ctx)
        return word is not None

    def _stop(self, ctx: Context) -> None:
        """Stop waiting for this person's answer in this chat, as a newer question would."""
        waiting = conversations.pending(ctx.db, ctx.sender, ctx.room_id)
        if waiting is None:
            ctx.reply("dm.nothing_to_stop")
            return
        self._drop(ctx, waiting, STOPPED)
        ctx.reply("dm.stopped")

    async def _command(self, ctx: Context, text: str) -> None:
        words = text.split()
        if not words:
            ctx.reply("dm.hint")
            return
        found = self.registry.find(words)
        if found is None:
            await self._unknown(ctx, text, words)
            return
        cmd, used = found
        required = cmd.required_role(self.config)
        if ctx.role < required:
            ctx.reply("errors.not_allowed", who=ctx.text(ROLE_NAMES[required]))
            return
        ctx.args = _after(text, used)
        await _guarded(ctx, lambda: cmd.handler(ctx))

    async def _unknown(self, ctx: Context, text: str, words: list[str]) -> None:
        """ "Did you mean !feedback?" for the nearest command the person may run; a
        command that looks after people's words (see CommandSet.near_miss) is handed them."""
        prefix = self.config.bot.prefix
        typed = prefix + words[0][:40]
        near = self.registry.suggest(words, ctx.role, self.config)
        if near is None:
            ctx.reply("errors.unknown_command", command=typed)
            return
        cmd, used = near
        rest = _after(text, used)
        offer = self.registry.near_misses.get(cmd.name)
        if offer is not None and rest:
            ctx.args = rest
            await _guarded(ctx, lambda: offer(ctx, cmd))
            return
        shown = f"{cmd.name} {rest}" if rest and len(rest) <= SHOWN_ARGS else cmd.name
        ctx.reply("errors.did_you_mean", command=typed, suggestion=prefix + shown)


def _after(text: str, used: int) -> str:
    """What follows the first ``used`` words of a command: its arguments."""
    rest = text.split(None, used)[used:]
    return rest[0].strip() if rest else ""


async def _guarded(ctx: Context, run: Callable[[], Awaitable[object]]) -> bool:
    """Run a handler in a savepoint. A UserError undoes its writes and is shown
    to the person; counts as handled."""
    try:
        with ctx.db.atomic():
            return bool(await run())
    except UserError as err:
        ctx.reply(err.key, **err.values)
        return True


_SKIP = {"skip", "skip it", "skip this", "skip that", "skip please", "skip question"}
_NUMBERS = re.compile(r"\s*#?\d{1,3}[.)]?(\s*(,|and|&)?\s*#?\d{1,3}[.)]?)*\s*", re.IGNORECASE)


def _is_skip(text: str) -> bool:
    """Does the person want to leave the question unanswered?"""
    return " ".join(text.lower().strip(" .!").split()) in _SKIP


def _looks_like_answer(text: str) -> bool:
    """A yes, a no, a number or a few, or skip: words that only make sense as an answer."""
    return yes_or_no(text) is not None or bool(_NUMBERS.fullmatch(text)) or _is_skip(text)
