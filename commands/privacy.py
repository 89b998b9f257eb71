"""People's data rights: see everything stored about you, or have it erased."""

from __future__ import annotations

import json
import secrets

from bot.answers import choice_number, yes_or_no
from bot.context import Context
from bot.registry import CommandSet
from bot.scheduler import Job
from storage import conversations, privacy
from storage.conversations import Pending

commands = CommandSet("privacy")

FORGET = "privacy.forget"


@commands.command("mydata", summary="privacy.mydata_summary")
async def my_data(ctx: Context) -> None:
    """Send the person a file, by direct message, with everything stored about them."""
    data = privacy.personal_data(ctx.db, ctx.sender, ctx.registry.sharers)
    ctx.platform.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    file = ctx.platform.files_dir / f"mydata-{secrets.token_hex(8)}.json"
    file.write_text(
        json.dumps(
            {"person": ctx.sender, "stored": data}, ensure_ascii=False, indent=2, default=str
        ),
        encoding="utf-8",
    )
    room = ctx.platform.direct_room(ctx.db, ctx.sender)
    ctx.platform.queue_text(ctx.db, room, ctx.text("privacy.mydata_here"))
    ctx.platform.queue_file(ctx.db, room, file, "my-data.json", "application/json")
    if not ctx.is_direct:
        ctx.reply("privacy.mydata_sent")


@commands.command("forget me", summary="privacy.forget_summary")
async def forget_me(ctx: Context) -> None:
    ctx.ask(ctx.sender, FORGET, "", ctx.text("privacy.forget_ask"))
    if not ctx.is_direct:
        ctx.reply("privacy.forget_asked")


@commands.answer(FORGET)
async def forget_answer(ctx: Context, waiting: Pending) -> bool:
    body = ctx.event.body  # type: ignore[union-attr]
    choice = choice_number(body, 2)
    if choice is None and (yes_or_no(body) is False or body.strip() == "0"):
        conversations.finish(ctx.db, ctx.sender, FORGET)
        ctx.reply("privacy.forget_cancelled")
        return True
    if choice is None:
        ctx.reply("privacy.forget_how")
        return True
    person = ctx.sender
    forgetters = ctx.registry.forgetters
    privacy.forget(ctx.db, person, keep_words=choice == 2, extra=forgetters)
    ctx.reply("privacy.forgotten_kept_words" if choice == 2 else "privacy.forgotten")
    return True


@commands.daily("privacy.retention")
async def retention(job: Job) -> None:
    """Every day: delete what people said longer ago than the retention period."""
    async with job.writing() as db:
        privacy.apply_retention(db, job.config.privacy.retention_days, job.now)
