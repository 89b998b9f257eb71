"""``!workshop new``: a champion (or the team) announces a workshop.

The command is read by ``workshop_rules.parse_new`` (what, when, where, who it is
for, access, places, the project it belongs to); the workshop is saved, then
``workshops.announce`` posts the announcement with its calendar file and
schedules the reminders.
"""

from __future__ import annotations

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.workshop_rules import parse_new, start_time
from commands.workshop_words import tz
from commands.workshops import announce
from storage import projects
from storage import workshops as store

commands = CommandSet("workshops")  # the same help section as the workshops themselves


@commands.command(
    "workshop new",
    summary="workshop.new_summary",
    usage="workshop new Planning day | Wed 3 June 2pm | Town Hall | Tea and cake",
    role=Role.CHAMPION,
)
async def new_workshop(ctx: Context) -> None:
    spec = parse_new(ctx.args)
    now = ctx.now
    start = start_time(spec.when, now, tz(ctx.config))
    if spec.project is not None and projects.get(ctx.db, spec.project) is None:
        raise UserError("workshop.no_such_project", project=spec.project)
    workshop_id = store.create(
        ctx.db,
        room_id=ctx.room_id,
        organiser=ctx.sender,
        title=spec.title,
        starts_at=start.timestamp(),
        place=spec.place,
        details=spec.details,
        minutes=spec.minutes,
        capacity=spec.capacity,
        project=spec.project,
        access=spec.access,
        audience=spec.audience,
        kind=spec.kind,
        level=spec.level,
    )
    w = store.get(ctx.db, workshop_id)
    assert w is not None
    announce(ctx, w, now)
