"""People's data rights: see everything stored about you, or have it erased."""

from __future__ import annotations

import json
import secrets
from typing import Any

from bot.answers import choice_number, yes_or_no
from bot.context import Choice, Choices, Context, Message
from bot.registry import CommandSet
from bot.scheduler import Job
from storage import conversations, jobs, privacy
from storage.conversations import Pending

commands = CommandSet("privacy")
# The core's tables are declared in commands/core_data.py; jobs still to run about
# a person are cancelled (they have no rows of their own to show).
commands.forgets(jobs.forget)

FORGET = "privacy.forget"
# privacy.mydata.kept.<table>: what a table holds about a person, in their words.
KEPT = "privacy.mydata.kept"


@commands.command("mydata", summary="privacy.mydata_summary")
async def my_data(ctx: Context) -> None:
    """Send the person, by direct message, what is kept about them in plain words
    (what, why, who sees it, how long, their rights), then all of it as a file."""
    data = privacy.personal_data(ctx.db, ctx.sender, ctx.registry.sharers)
    ctx.platform.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    file = ctx.platform.files_dir / f"mydata-{secrets.token_hex(8)}.json"
    file.write_text(
        json.dumps(
            {"person": ctx.sender, "stored": data}, ensure_ascii=False, indent=2, default=str
        ),
        encoding="utf-8",
    )
    room = ctx.private_room()
    ctx.platform.queue_text(ctx.db, room, _summary(ctx, data))
    ctx.platform.queue_file(ctx.db, room, file, "my-data.json", "application/json")
    if not ctx.is_direct:
        ctx.reply("privacy.mydata_sent")


def _summary(ctx: Context, data: dict[str, list[dict[str, Any]]]) -> str:
    """What ``!mydata`` says before the file: the information a person has a right
    to with their data (what, why, who, how long, where from, their rights)."""
    kept = _kept(ctx, data)
    days = ctx.config.privacy.retention_days
    return "\n\n".join(
        [
            ctx.text("privacy.mydata.intro"),
            "\n".join([ctx.text("privacy.mydata.kept_heading"), *kept])
            if kept
            else ctx.text("privacy.mydata.nothing"),
            ctx.text("privacy.mydata.why"),
            ctx.text("privacy.mydata.who"),
            ctx.text("privacy.mydata.from_where"),
            ctx.text("privacy.mydata.how_long", count=days)
            if days
            else ctx.text("privacy.mydata.kept_until_you_ask"),
            ctx.text("privacy.mydata.rights"),
            ctx.text("privacy.mydata_here"),
        ]
    )


def _kept(ctx: Context, data: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What is kept, a line a kind: "- 3 things you told the team." Tables with no
    words of their own are counted together as "other notes"."""
    lines, others = [], 0
    for table, rows in data.items():
        key = f"{KEPT}.{table}"
        if key not in ctx.messages:
            others += len(rows)
        elif rows:
            lines.append(ctx.text(key, count=len(rows)))
    if others:
        lines.append(ctx.text(f"{KEPT}.other", count=others))
    return [ctx.text("privacy.mydata.line", what=line) for line in lines]


@commands.command("forget me", summary="privacy.forget_summary")
async def forget_me(ctx: Context) -> None:
    choices = Choices(
        (
            Choice("1", ctx.text("privacy.forget_choice_all")),
            Choice("2", ctx.text("privacy.forget_choice_keep_words")),
            Choice("0", ctx.text("privacy.forget_choice_keep")),
        )
    )
    ctx.ask(ctx.sender, FORGET, "", ctx.text("privacy.forget_ask"), choices=choices)
    if not ctx.is_direct:
        ctx.reply("privacy.forget_asked")


@commands.answer(FORGET)
async def forget_answer(ctx: Context, waiting: Pending) -> bool:
    assert isinstance(ctx.event, Message)  # answers are messages
    body = ctx.event.body
    choice = choice_number(body, 2)
    if choice is None and (yes_or_no(body) is False or body.strip() == "0"):
        conversations.finish(ctx.db, ctx.sender, FORGET)
        ctx.reply("privacy.forget_cancelled")
        return True
    if choice is None:
        ctx.reply("privacy.forget_how")
        return True
    person = ctx.sender
    in_chat = [forget(ctx, person) for forget in ctx.registry.chat_forgetters]
    forgetters = ctx.registry.forgetters
    privacy.forget(ctx.db, person, keep_words=choice == 2, forgetters=forgetters)
    for delete_there in in_chat:
        delete_there()
    ctx.reply("privacy.forgotten_kept_words" if choice == 2 else "privacy.forgotten")
    return True


@commands.daily("privacy.retention")
async def retention(job: Job) -> None:
    """Every day: delete what people said longer ago than the retention period."""
    async with job.writing() as db:
        privacy.apply_retention(db, job.config.privacy.retention_days, job.now)
