"""Help and ping: what everyone can do from the first message."""

from __future__ import annotations

from bot.context import Context
from bot.registry import CommandSet

commands = CommandSet("basics")

# What people most often come for first; staff-only sections last.
HELP_ORDER = ("feedback", "polls", "workshops", "projects", "privacy", "team", "export")


def _reading_order(section: str) -> int:
    return HELP_ORDER.index(section) if section in HELP_ORDER else len(HELP_ORDER)


@commands.command("help", summary="help.summary")
async def help_(ctx: Context) -> None:
    """List what the asker may do, generated from the registry."""
    by_section: dict[str, list[str]] = {}
    for cmd in ctx.registry.visible_to(ctx.role, ctx.config):
        line = ctx.text(
            "help.line", usage=ctx.config.bot.prefix + cmd.usage, summary=ctx.text(cmd.summary)
        )
        by_section.setdefault(cmd.section, []).append(line)
    lines = [ctx.text("help.intro"), *by_section.pop("basics", [])]
    for section in sorted(by_section, key=_reading_order):
        lines += ["", ctx.text(f"help.section.{section}"), *by_section[section]]
    ctx.reply_text("\n".join(lines))


@commands.command("ping", summary="ping.summary")
async def ping(ctx: Context) -> None:
    ctx.reply("ping.pong")
