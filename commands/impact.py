"""``!impact``: the numbers the team reports. Groups of people smaller than five
are shown as "fewer than 5", so nobody can be picked out."""

from __future__ import annotations

from bot.context import Context
from bot.registry import CommandSet
from bot.roles import Role
from commands.project_words import Numbers, impact_report
from storage import impact as store

commands = CommandSet("projects")  # listed in help with the projects


@commands.command("impact", summary="impact.summary", role=Role.TEAM)
async def impact(ctx: Context) -> None:
    db = ctx.db
    numbers = Numbers(
        stages=store.stage_counts(db),
        people=store.people_involved(db, leave_out=[ctx.platform.user_id]),
        polls=store.polls_run(db),
        feedback=store.feedback_count(db),
        workshops=store.workshops_held(db, ctx.now),
        areas=store.area_counts(db),
        known_areas=list(ctx.config.projects.areas),
        relationships=store.relationship_counts(db),
    )
    ctx.reply_text(impact_report(ctx, numbers))
