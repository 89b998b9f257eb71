"""Help and ping: what everyone can do from the first message.

``!help`` lists what everyone can do, section by section, and then, for champions
and the team, one line per section where they can do more (``!help polls``).
``!help <section>`` (or a command's name: ``!help going``) shows all of that
section the asker may run: what everyone can do first, then what only
champions and the team can do.
"""

from __future__ import annotations

from bot.context import Context
from bot.registry import Command, CommandSet

commands = CommandSet("basics")

# What people most often come for first; staff-only sections last.
HELP_ORDER = (
    "feedback", "polls", "workshops", "projects", "privacy", "dashboard", "team", "export"
)  # fmt: skip


def _reading_order(section: str) -> int:
    return HELP_ORDER.index(section) if section in HELP_ORDER else len(HELP_ORDER)


@commands.command("help", summary="help.summary", usage="help")
async def help_(ctx: Context) -> None:
    """What the asker may do, generated from the registry (see the module's doc)."""
    section = ctx.registry.section_named(ctx.args.split())
    if section and section != commands.section:
        ctx.reply_text("\n".join(_section_help(ctx, section)))
    else:
        ctx.reply_text("\n".join(_overview(ctx)))


def _line(ctx: Context, cmd: Command) -> str:
    """One command in help: its example (made-up people in the platform's own form,
    for ``{someone}`` in it), and what it does."""
    usage = ctx.config.bot.prefix + cmd.usage.format_map(ctx.standard_values)
    return ctx.text("help.line", usage=usage, summary=ctx.text(cmd.summary))


def _sections(ctx: Context) -> list[tuple[str, list[Command], list[Command]]]:
    """(section, what everyone may run, what only the asker's role adds), in reading order."""
    everyone: dict[str, list[Command]] = {}
    staff: dict[str, list[Command]] = {}
    for cmd in ctx.registry.visible_to(ctx.role, ctx.config):
        split = everyone if cmd.for_everyone(ctx.config) else staff
        split.setdefault(cmd.section, []).append(cmd)
    names = sorted({*everyone, *staff} - {commands.section}, key=_reading_order)
    return [(name, everyone.get(name, []), staff.get(name, [])) for name in names]


def _overview(ctx: Context) -> list[str]:
    basics = ctx.registry.visible_to(ctx.role, ctx.config)
    lines = [ctx.text("help.intro"), *(_line(ctx, c) for c in basics if c.section == "basics")]
    more: list[str] = []
    for section, everyone, staff in _sections(ctx):
        if everyone:
            lines += ["", ctx.text(f"help.section.{section}"), *(_line(ctx, c) for c in everyone)]
        if staff:
            usage = f"{ctx.config.bot.prefix}help {section}"
            more.append(
                ctx.text("help.line", usage=usage, summary=ctx.text(f"help.more.{section}"))
            )
    if more:
        lines += ["", ctx.text("help.more_intro"), *more]
    return lines


def _section_help(ctx: Context, section: str) -> list[str]:
    for name, everyone, staff in _sections(ctx):
        if name == section:
            lines = [ctx.text(f"help.section.{name}"), *(_line(ctx, c) for c in everyone)]
            if everyone and staff:
                lines += ["", ctx.text("help.staff_heading")]
            return lines + [_line(ctx, c) for c in staff]
    return _overview(ctx)  # nothing there that the asker may run


@commands.command("ping", summary="ping.summary", usage="ping")
async def ping(ctx: Context) -> None:
    ctx.reply("ping.pong")
