"""Feedback threads: ``!ask`` starts a question in a room, and every reply in its
thread is saved as feedback (about the room's project, if it has one), with a
✅ to say so. ``!ask close`` ends it: later replies are told it is closed.
"""

from __future__ import annotations

from bot.context import Context, Message, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.common import by_number_or_newest
from storage import feedback as store
from storage import projects as project_store

commands = CommandSet("feedback")  # the same help section as the rest of feedback

THUMBS = "✅"


@commands.command(
    "ask",
    summary="feedback.ask_summary",
    usage="ask What would make the café better?",
    role=Role.CHAMPION,
)
async def ask_question(ctx: Context) -> None:
    text = " ".join(ctx.args.split())
    if not text:
        raise UserError("feedback.question_needed")
    if len(text) > 500:
        raise UserError("feedback.question_too_long", most=500)
    question_id = store.add_question(
        ctx.db, ctx.room_id, ctx.sender, text, project_store.in_room(ctx.db, ctx.room_id)
    )
    root = ctx.platform.queue_text(
        ctx.db, ctx.room_id, ctx.text("feedback.ask_root", question=text, number=question_id)
    )
    store.set_root(ctx.db, question_id, root)
    ctx.platform.queue_thread(ctx.db, ctx.room_id, root, text)


@commands.command(
    "ask close",
    summary="feedback.ask_close_summary",
    usage="ask close 2",
    role=Role.CHAMPION,
)
async def close_question(ctx: Context) -> None:

    def here(number: int) -> store.Question | None:
        question = store.question(ctx.db, number)
        return question if question is not None and question.room_id == ctx.room_id else None

    question = by_number_or_newest(
        ctx.args,
        here,
        lambda: store.newest_open_question(ctx.db, ctx.room_id),
        "feedback.number_needed",
        "feedback.no_such_question",
        "feedback.no_question_open",
    )
    if question.state != "open":
        raise UserError("feedback.question_already_closed", number=question.id)
    store.close_question(ctx.db, question.id)
    root = ctx.platform.sent_event(ctx.db, question.root_txn) if question.root_txn else None
    ctx.platform.queue_text(ctx.db, ctx.room_id, ctx.text("feedback.ask_closed"), thread=root)


@commands.on(Message)
async def thread_answer(ctx: Context) -> bool:
    event = ctx.event
    assert isinstance(event, Message)
    txn = ctx.platform.sent_txn(ctx.db, event.thread) if event.thread else None
    question = store.question_by_root(ctx.db, txn) if txn else None
    if question is None or not event.body.strip():
        return False
    if question.state != "open":
        ctx.platform.queue_text(
            ctx.db, ctx.room_id, ctx.text("feedback.question_closed"), thread=event.thread
        )
        return True
    store.add(
        ctx.db,
        event.body,
        source="thread",
        user_id=ctx.sender,
        room_id=ctx.room_id,
        event_id=event.event_id,
        project_id=question.project_id,
        question_id=question.id,
        contact_ok=True,
    )
    ctx.platform.queue_reaction(ctx.db, ctx.room_id, event.event_id, THUMBS)
    return True
