"""Help and ping: what everyone can do from the first message."""

from __future__ import annotations

from bot.context import Context
from bot.registry import CommandSet

commands = CommandSet("basics")


@commands.command("help", summary="help.summary")
async def help_(ctx: Context) -> None:
    """List what the asker may do, generated from the registry."""
    lines = [ctx.text("help.intro")]
    section = None
    for cmd in ctx.registry.visible_to(ctx.role):
        if cmd.section != section:
            section = cmd.section
            if section != "basics":
                lines.append("")
                lines.append(ctx.text(f"help.section.{section}"))
        lines.append(
            ctx.text(
                "help.line", usage=ctx.config.bot.prefix + cmd.usage, summary=ctx.text(cmd.summary)
            )
        )
    ctx.reply_text("\n".join(lines))


@commands.command("ping", summary="ping.summary")
async def ping(ctx: Context) -> None:
    ctx.reply("ping.pong")
