"""Edits and deletions of feedback: the author's edit updates the saved words, and
deleting the message deletes them. Words still waiting for a yes follow the edit,
or are dropped. A moderator's deletion goes to the team, who decide (``!review``).
"""

from __future__ import annotations

from bot.context import Context, Edit, Removal
from bot.registry import CommandSet
from commands.feedback import waiting_for_consent, words_of
from storage import conversations, inbox
from storage import feedback as store

commands = CommandSet("feedback")  # the same help section as the rest of feedback


@commands.on(Edit)
async def edited(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Edit)
    waiting = waiting_for_consent(ctx, event.target)
    if waiting is not None:  # not saved yet: remember which edit is the latest
        edits = {**waiting.data.get("edits", {}), event.target: event.event_id}
        conversations.update(ctx.db, waiting, {**waiting.data, "edits": edits})
        return True
    saved = store.by_event(ctx.db, event.target)
    if saved is None:
        return False
    if saved.user_id == event.sender:  # only the author may change their words
        text = words_of(ctx, event.body) if saved.source == "command" else event.body
        if text:
            store.update(ctx.db, saved.id, text=text)
    return True


@commands.on(Removal)
async def removed(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Removal)
    waiting = waiting_for_consent(ctx, event.target)
    if waiting is not None:  # not saved yet: it never will be
        events = [e for e in waiting.data.get("events", []) if e != event.target]
        inbox.scrub(ctx.db, event.target)
        conversations.update(ctx.db, waiting, {**waiting.data, "events": events})
        return True
    saved = store.by_event(ctx.db, event.target)
    if saved is None:
        return False
    if saved.user_id == event.sender:  # the author took it back
        store.delete(ctx.db, saved.id)
    elif saved.removed_at is None:  # a moderator: the team decides, left out of exports
        store.flag_removed(ctx.db, saved.id)
        if saved.state == "saved":
            text = ctx.text("feedback.removed_by_other", number=saved.id)
            for team_room in ctx.config.team_rooms().values():
                ctx.platform.queue_text(ctx.db, team_room, text)
    return True
