"""Who came to a workshop, and co-production training records.

The organiser records who came with ``!attended N``, once the workshop has
started. Coming to a training session completes that level: the person is told,
and asked (once, if they have not said) which council team they work in, which
they can say with ``!myteam`` (optional). ``!mytraining`` shows a person their
own levels; ``!training`` gives the team the numbers, by level and by team.
"""

from __future__ import annotations

import re
from collections import Counter

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from commands.common import read_people
from commands.workshop_rules import started
from commands.workshop_words import say_day
from commands.workshops import organised, tell_privately
from storage import profiles
from storage import workshops as store
from storage.workshops import Workshop

commands = CommandSet("workshops")  # the same help section as the workshops themselves

LEVELS = (1, 2, 3)
TEAM_LONGEST = 100


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
    done = store.completions(ctx.db)
    if not done:
        ctx.reply("workshop.training_none")
        return
    by_level = Counter(level for _, level, _ in done)
    lines = [ctx.text("workshop.training_title")]
    lines += [
        ctx.text("workshop.training_report_level", level=n, count=by_level[n]) for n in LEVELS
    ]
    # Teams in people's own words: "Adult Social Care" and "adult social care" are one.
    teams: dict[str, Counter[int]] = {}
    spellings: dict[str, Counter[str]] = {}
    no_team: set[str] = set()
    for person, level, _ in done:
        profile = profiles.get(ctx.db, person)
        team = " ".join((profile.staff_team or "").split()) if profile else ""
        if not team:
            no_team.add(person)
            continue
        teams.setdefault(team.casefold(), Counter())[level] += 1
        spellings.setdefault(team.casefold(), Counter())[team] += 1
    if teams:
        lines.append(ctx.text("workshop.training_by_team"))
        for key, levels in sorted(teams.items()):
            # The commonest spelling; on a tie, the one with capitals.
            name = min(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            lines.append(
                ctx.text(
                    "workshop.training_team_line",
                    team=name,
                    one=levels[1],
                    two=levels[2],
                    three=levels[3],
                )
            )
    if no_team:
        lines.append(ctx.text("workshop.training_no_team", count=len(no_team)))
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
