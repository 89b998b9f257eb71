"""``!poll results`` (the count so far, or the final one) and ``!poll close``.

The count is made by ``poll_rules.count`` from what is stored, so it is the same
however often it is made. A secret poll shows no totals before the close: totals
that change as each person votes would tell who chose what.
"""

from __future__ import annotations

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.common import by_number_or_newest
from commands.poll_close import close_now
from commands.poll_rules import FINAL, HIDDEN, TURNOUT_ONLY, count_so_far, what_shows
from commands.poll_words import results
from storage import polls as store
from storage.polls import Poll

commands = CommandSet("polls")  # the same help section as the polls themselves


@commands.command("poll results", summary="poll.results_summary", usage="poll results 2")
async def show_results(ctx: Context) -> None:
    poll = _find(ctx, open_only=False)
    shows = what_shows(poll)
    if shows == FINAL:
        ctx.reply_text(results(ctx, poll, poll.results or {}, poll.voters or 0, poll.members))
        return
    if shows == HIDDEN:
        raise UserError("poll.results_hidden", number=poll.id)
    if shows == TURNOUT_ONLY:
        voters, _ = store.secret_turnout(ctx.db, poll.id)
        raise UserError("poll.secret_so_far", number=poll.id, count=voters)
    result = count_so_far(poll, store.votes(ctx.db, poll.id))
    ctx.reply_text(results(ctx, poll, result.counts, result.voters, None))


@commands.command(
    "poll close", summary="poll.close_summary", usage="poll close 2", role=Role.CHAMPION
)
async def close_by_hand(ctx: Context) -> None:
    poll = _find(ctx, open_only=True)
    if ctx.sender != poll.creator and ctx.role < Role.TEAM:
        raise UserError("poll.not_yours", number=poll.id)
    close_now(ctx.db, poll, ctx.now, platform=ctx.platform.name)
    ctx.reply("poll.closing", number=poll.id)


def _find(ctx: Context, *, open_only: bool) -> Poll:
    """The poll named by number, or the newest one in this room."""

    def here(number: int) -> Poll | None:
        poll = store.get(ctx.db, number)
        return poll if poll is not None and poll.room_id == ctx.room_id else None

    def newest() -> Poll | None:
        return store.newest_in_room(ctx.db, ctx.room_id, state="open" if open_only else None)

    none = "poll.none_open" if open_only else "poll.none_here"
    poll = by_number_or_newest(ctx.args, here, newest, "poll.number_needed", "poll.not_found", none)
    if open_only and poll.state != "open":
        raise UserError("poll.already_closed", number=poll.id)
    return poll
