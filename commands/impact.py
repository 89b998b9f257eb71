"""``!impact``: the numbers the team reports. Groups of people smaller than five
are shown as "fewer than 5", so nobody can be picked out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.context import Context
from bot.registry import CommandSet
from bot.roles import Role
from commands.project_words import Numbers, Words, impact_report, impact_sections
from storage import impact as store
from storage.db import Reader

commands = CommandSet("projects")  # listed in help with the projects


@commands.command("impact", summary="impact.summary", role=Role.TEAM)
async def impact(ctx: Context) -> None:
    numbers = gather(
        ctx.db, now=ctx.now, areas=ctx.config.projects.areas, leave_out=[ctx.platform.user_id]
    )
    ctx.reply_text(impact_report(ctx, numbers))


def gather(db: Reader, *, now: datetime, areas: Iterable[str], leave_out: Iterable[str]) -> Numbers:
    """Everything ``!impact`` counts, as of ``now`` (the dashboard's overview reads the
    same, through its own connection). ``areas``: the config's, in its order;
    ``leave_out``: the bots themselves."""
    return Numbers(
        stages=store.stage_counts(db),
        people=store.people_involved(db, leave_out=leave_out),
        polls=store.polls_run(db),
        feedback=store.feedback_count(db),
        workshops=store.workshops_held(db, now),
        areas=store.area_counts(db),
        known_areas=list(areas),
        relationships=store.relationship_counts(db),
    )


def sections(
    words: Words, db: Reader, *, now: datetime, areas: Iterable[str], leave_out: Iterable[str]
) -> list[tuple[str, list[str]]]:
    """The report's parts (``impact_sections``), for the dashboard's overview."""
    return impact_sections(words, gather(db, now=now, areas=areas, leave_out=leave_out))
