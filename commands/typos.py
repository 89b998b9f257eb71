"""Commands typed almost right: the words after "!feedbak" are not lost.

The dispatcher answers an unknown command with "Did you mean !feedback?" (the
nearest command the person may run). When they meant ``!feedback`` and wrote
words after it, the words go the way ``!feedback``'s do: nothing is kept, and
the person is asked privately whether to save them (and whether to keep their
name), exactly as if they had typed the command right. The safeguarding check
that every ``!feedback`` gets runs on them at once.
"""

from __future__ import annotations

from dataclasses import replace

from bot.context import Context, Message
from bot.registry import Command, CommandSet
from commands import feedback

commands = CommandSet("typos")


@commands.near_miss("feedback")
async def offer_to_keep_feedback(ctx: Context, meant: Command) -> None:
    event = ctx.event
    assert isinstance(event, Message)
    prefix = ctx.config.bot.prefix
    typed = prefix + event.body.strip()[len(prefix) :].split(None, 1)[0][:40]
    suggestion = prefix + meant.name
    typed_right = replace(event, body=f"{suggestion} {ctx.args}")
    if event.is_direct:
        ctx.reply("errors.did_you_mean", command=typed, suggestion=suggestion)
    else:
        ctx.reply("typos.asked_privately", command=typed, suggestion=suggestion)
        _watch_as_typed_right(ctx, typed_right)
    feedback.hold_command_words(replace(ctx, event=typed_right))


def _watch_as_typed_right(ctx: Context, typed_right: Message) -> None:
    """What sees every !feedback first (safeguarding) sees these words too. A direct
    message needs nothing more: everything in a direct chat is checked as it comes."""
    for watcher in ctx.registry.watchers_for(typed_right):
        watcher(replace(ctx, event=typed_right))
