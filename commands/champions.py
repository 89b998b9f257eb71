"""The team adds and removes Co-production Champions. Every change is audited."""

from __future__ import annotations

from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.roles import Role
from storage import roles as role_store

commands = CommandSet("team")


def _one_person(ctx: Context) -> str:
    parts = ctx.args.split()
    person = ctx.platform.person(parts[0]) if len(parts) == 1 else None
    if person is None:
        raise UserError("champion.bad_id", text=(parts[0] if parts else "")[:80] or "nothing")
    return person


@commands.command(
    "champion add",
    summary="champion.add_summary",
    usage="champion add {someone}",
    role=Role.TEAM,
)
async def champion_add(ctx: Context) -> None:
    person = _one_person(ctx)
    if person in ctx.config.people.champions or role_store.granted_role(ctx.db, person):
        raise UserError("champion.already", person=ctx.platform.mention(person))
    role_store.grant(ctx.db, person, "champion", actor=ctx.sender)
    ctx.reply("champion.added", person=ctx.platform.mention(person))


@commands.command(
    "champion remove",
    summary="champion.remove_summary",
    usage="champion remove {someone}",
    role=Role.TEAM,
)
async def champion_remove(ctx: Context) -> None:
    person = _one_person(ctx)
    if person in ctx.config.people.champions:
        raise UserError("champion.in_config", person=ctx.platform.mention(person))
    if not role_store.revoke(ctx.db, person, "champion", actor=ctx.sender):
        raise UserError("champion.not_one", person=ctx.platform.mention(person))
    ctx.reply("champion.removed", person=ctx.platform.mention(person))


@commands.command("champions", summary="champion.list_summary", role=Role.TEAM)
async def champion_list(ctx: Context) -> None:
    people = sorted(
        set(ctx.config.people.champions) | set(role_store.users_with_role(ctx.db, "champion"))
    )
    if not people:
        ctx.reply("champion.none")
    else:
        shown = ", ".join(ctx.platform.mention(p) for p in people)
        ctx.reply("champion.list", count=len(people), people=shown)
