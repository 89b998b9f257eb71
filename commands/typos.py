"""Commands typed almost right: the words after "!feedbak" are not lost.

The dispatcher answers an unknown command with "Did you mean !feedback?" (the
nearest command the person may run). When they meant ``!feedback`` and wrote
words after it, the bot asks them privately, by direct message, whether to save
those words; on yes they go to ``!feedback`` itself, as if typed right where they
first wrote them. The question's record holds no copy of the words: they are
read again from the person's message when they say yes. The safeguarding check
that ``!feedback`` gets runs on them at once, not only after a yes.
"""

from __future__ import annotations

from dataclasses import replace

from bot.answers import yes_or_no
from bot.context import Context, Message
from bot.registry import Command, CommandSet
from commands import feedback
from storage import conversations
from storage.conversations import Pending

commands = CommandSet("typos")

KEEP_FEEDBACK = "typos.keep_feedback"
SHOWN_WORDS = 200  # how much of their words the question repeats


@commands.near_miss("feedback")
async def offer_to_keep_feedback(ctx: Context, meant: Command) -> None:
    event = ctx.event
    assert isinstance(event, Message)
    prefix = ctx.config.bot.prefix
    typed = prefix + _command_words(ctx, event.body)[0][:40]
    suggestion = prefix + meant.name
    words = " ".join(ctx.args.split())
    shown = words if len(words) <= SHOWN_WORDS else words[: SHOWN_WORDS - 1] + "…"
    question = ctx.text("typos.keep_feedback", command=typed, suggestion=suggestion, words=shown)
    if not event.is_direct:
        ctx.reply("typos.asked_privately", command=typed, suggestion=suggestion)
        _watch_as_typed_right(ctx, replace(event, body=f"{suggestion} {ctx.args}"))
    data = {
        "room": event.room_id,
        "direct": event.is_direct,
        "thread": event.thread,
        "command": meant.name,
        "used": len(meant.words),
    }
    ctx.ask(ctx.sender, KEEP_FEEDBACK, event.event_id, question, data)


@commands.answer(KEEP_FEEDBACK)
async def keep_feedback_answer(ctx: Context, waiting: Pending) -> bool:
    said = yes_or_no(ctx.event.body)  # type: ignore[union-attr]
    if said is None:
        return False  # something else: it is treated as new
    conversations.finish(ctx.db, ctx.sender, KEEP_FEEDBACK)
    if not said:
        ctx.reply("typos.not_kept")
        return True
    original = _as_typed_right(ctx, waiting)
    if original is None:
        ctx.reply("typos.words_gone")
        return True
    await save_as_feedback(ctx, original)
    return True


def _as_typed_right(ctx: Context, waiting: Pending) -> Message | None:
    """Their first message as if they had typed the command right (None if it is gone)."""
    data = waiting.data
    used = int(data.get("used", 1))
    words = _command_words(ctx, ctx.platform.message_text(ctx.db, waiting.ref) or "", used)
    if len(words) <= used or not words[used].strip():
        return None
    fixed = f"{ctx.config.bot.prefix}{data.get('command', 'feedback')} {words[used].strip()}"
    return Message(
        event_id=waiting.ref,
        room_id=str(data.get("room", "")),
        sender=ctx.sender,
        body=fixed,
        is_direct=bool(data.get("direct")),
        thread=data.get("thread") or None,
    )


def _command_words(ctx: Context, body: str, most: int = 1) -> list[str]:
    """The words after the prefix: the first ``most`` of them, then the rest as one."""
    return body.strip()[len(ctx.config.bot.prefix) :].split(None, most) or [""]


def _watch_as_typed_right(ctx: Context, typed_right: Message) -> None:
    """What sees every !feedback first (safeguarding) sees these words too. A direct
    message needs nothing more: everything in a direct chat is checked as it comes."""
    for watcher in ctx.registry.watchers_for(typed_right):
        watcher(replace(ctx, event=typed_right))


async def save_as_feedback(ctx: Context, original: Message) -> None:
    """Hand the words to ``!feedback``, as if typed right in the first place: the same
    saving and replies (the one way into commands/feedback.py)."""
    words = original.body.split(None, 1)[1]
    await feedback.give_feedback(replace(ctx, event=original, args=words))
