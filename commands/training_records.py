"""Co-production training records: ``!mytraining`` shows a person their own
levels, ``!training`` gives the team the numbers, by level and by council team,
and ``!myteam`` is how council staff say which team they work in (optional).
A level is done by coming to a training session (``commands.training``).
"""

from __future__ import annotations

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.workshop_words import say_day
from commands.workshops import tell_privately
from storage import profiles
from storage import workshops as store
from storage.workshops import LEVELS, Workshop

commands = CommandSet("workshops")  # the same help section as the workshops themselves

TEAM_LONGEST = 100


@commands.command("myteam", summary="workshop.myteam_summary", usage="myteam Adult Social Care")
async def my_team(ctx: Context) -> None:
    """Council staff say which team they work in (for the training report). Optional."""
    team = " ".join(ctx.args.split())
    if not team:
        raise UserError("workshop.myteam_how")
    if team.lower() in ("remove", "none", "delete"):
        profiles.save(ctx.db, ctx.sender, staff_team="")
        ctx.reply("workshop.myteam_removed")
        return
    if len(team) > TEAM_LONGEST:
        raise UserError("workshop.myteam_too_long", most=TEAM_LONGEST)
    profiles.save(ctx.db, ctx.sender, staff_team=team)
    ctx.reply("workshop.myteam_saved", team=team)


@commands.command("training", summary="workshop.training_summary", role=Role.TEAM)
async def training_report(ctx: Context) -> None:
    report = store.training_report(ctx.db)
    if not report.by_level:
        ctx.reply("workshop.training_none")
        return
    lines = [ctx.text("workshop.training_title")]
    lines += [
        ctx.text("workshop.training_report_level", level=n, count=report.by_level[n])
        for n in LEVELS
    ]
    if report.teams:
        lines.append(ctx.text("workshop.training_by_team"))
        for name, levels in report.teams:
            lines.append(
                ctx.text(
                    "workshop.training_team_line",
                    team=name,
                    one=levels[1],
                    two=levels[2],
                    three=levels[3],
                )
            )
    if report.no_team:
        lines.append(ctx.text("workshop.training_no_team", count=report.no_team))
    ctx.reply_text("\n".join(lines))


@commands.command("mytraining", summary="workshop.mytraining_summary")
async def my_training(ctx: Context) -> None:
    came = store.attended(ctx.db, ctx.sender)
    first: dict[int, Workshop] = {}
    others = 0
    for w in came:
        if w.is_training and w.level:
            first.setdefault(w.level, w)
        else:
            others += 1
    lines = [ctx.text("workshop.mytraining_title")]
    for level in LEVELS:
        if level in first:
            day = say_day(ctx, first[level].start)
            lines.append(ctx.text("workshop.mytraining_done", level=level, date=day))
        else:
            lines.append(ctx.text("workshop.mytraining_not_yet", level=level))
    if others:
        lines.append(ctx.text("workshop.mytraining_others", count=others))
    lines.append(ctx.text("workshop.mytraining_next"))
    tell_privately(ctx, "\n".join(lines), "workshop.sent_privately")
