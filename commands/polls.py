"""Quick polls anyone can answer, in any chat app, counted exactly.

A poll is posted twice: as a native poll (apps like Element show buttons) and
as a plain companion message listing the choices by number, for apps that do
not show polls. People answer by tapping a choice, by replying with a number,
or by reacting to the companion message with a number emoji. Every answer is
stored as it arrives; the count is made by ``poll_rules.count`` from what is
stored, so it is the same however often it is made.

This module starts polls (``!poll``) and lists them (``!polls``). The rest of the
capability, in the same help section: ``commands.poll_results`` (``!poll results``,
``!poll close``), ``commands.poll_answers`` (taps, numbered replies, reactions),
``commands.poll_ballots`` (secret ballots, one per person by direct message) and
``commands.poll_close`` (the close: counting and publishing); pure rules in
``commands.poll_rules``, the words in ``commands.poll_words``.
"""

from __future__ import annotations

from bot.context import Context, UserError
from bot.registry import CommandSet
from commands.poll_ballots import announce
from commands.poll_close import close_at
from commands.poll_rules import PollError, closing_time, parse_poll, who_may_start
from commands.poll_words import companion, layout, tz, when_closes
from storage import polls as store

commands = CommandSet("polls")
commands.forgets(store.forget)  # !forget me
commands.shares(store.personal_data)  # !mydata


@commands.command(
    "poll",
    summary="poll.summary",
    usage="poll Which day suits you? | Tuesday | Thursday",
    role=who_may_start,
)
async def start_poll(ctx: Context) -> None:
    try:
        spec = parse_poll(ctx.args)
        sent_at = ctx.now
        closes_at = None
        if spec.closes is not None:
            closes_at = closing_time(spec.closes, sent_at, tz(ctx.config))
    except PollError as err:
        raise UserError(err.key, **err.values) from None
    answers = [(f"a{i}", label) for i, label in enumerate(spec.options, 1)]
    poll_id = store.create(
        ctx.db,
        ctx.room_id,
        ctx.sender,
        spec.question,
        answers,
        spec.max_selections,
        spec.disclosed,
        spec.secret,
        closes_at.timestamp() if closes_at else None,
    )
    poll = store.get(ctx.db, poll_id)
    assert poll is not None
    shown = layout(ctx, poll)
    if spec.secret:
        announce(ctx, poll)
    else:
        start = ctx.platform.queue_poll(ctx.db, ctx.room_id, shown)
        text = ctx.platform.queue_text(ctx.db, ctx.room_id, companion(ctx, poll))
        store.set_messages(ctx.db, poll_id, start, text)
    if (why := ctx.platform.poll_not_native(ctx.room_id, shown)) is not None:
        ctx.say(f"poll.plain_{why}")  # where the platform's own poll cannot do it
    if closes_at is not None:
        close_at(ctx.db, poll_id, closes_at, platform=ctx.platform.name)


@commands.command("polls", summary="poll.list_summary")
async def list_polls(ctx: Context) -> None:
    open_polls = store.open_in_room(ctx.db, ctx.room_id)
    if not open_polls:
        ctx.reply("poll.none_open")
        return
    lines = [ctx.text("poll.list_intro")]
    for poll in open_polls:
        if poll.closes_at is None:
            lines.append(ctx.text("poll.list_line", number=poll.id, question=poll.question))
        else:
            lines.append(
                ctx.text(
                    "poll.list_line_closes",
                    number=poll.id,
                    question=poll.question,
                    when=when_closes(ctx, poll),
                )
            )
    ctx.reply_text("\n".join(lines))
