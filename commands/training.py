"""Who came to a workshop: the organiser records it with ``!attended N``, once the
workshop has started. Coming to a training session completes that level: the
person is told, and asked (once, if they have not said) which council team they
work in, which they can say with ``!myteam`` (optional). The training records
themselves (``!training``, ``!mytraining``, ``!myteam``) are
``commands.training_records``.
"""

from __future__ import annotations

import re

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.common import read_people
from commands.workshop_rules import started
from commands.workshops import organised
from storage import profiles
from storage import workshops as store

commands = CommandSet("workshops")  # the same help section as the workshops themselves


@commands.command(
    "attended",
    summary="workshop.attended_summary",
    usage="attended 2 {someone} {someone_else}",
    role=Role.CHAMPION,
)
async def record_attendance(ctx: Context) -> None:
    w, rest = organised(ctx)
    if w.state == "cancelled":
        raise UserError("workshop.already_cancelled", number=w.id)
    if not started(w, ctx.now):
        raise UserError("workshop.not_started_yet", number=w.id)
    words = [p for p in re.split(r"[\s,]+", rest) if p]
    if not words:
        raise UserError("workshop.attended_how")
    people, wrong = read_people(words, ctx.platform.person)
    if wrong:
        raise UserError("workshop.attended_bad_id", text=wrong[0][:80])
    added = [p for p in people if store.record_attendance(ctx.db, w.id, p, ctx.sender)]
    if w.is_training:
        for person in added:
            lines = [ctx.text("workshop.training_done", level=w.level)]
            profile = profiles.get(ctx.db, person)
            if profile is None or not (profile.staff_team or "").strip():
                lines.append(ctx.text("workshop.training_team_ask"))
            ctx.platform.queue_direct(ctx.db, person, "\n".join(lines))
    lines = [ctx.text("workshop.attended_saved", number=w.id, count=len(added))]
    already = len(people) - len(added)
    if already:
        lines.append(ctx.text("workshop.attended_already", count=already))
    ctx.reply_text("\n".join(lines))
