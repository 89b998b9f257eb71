"""``!dashboard``: the team and champions sign in to the dashboard (``web/``) with
a one-time link the bot sends them, always in their own direct chat with the
bot, never in a room others read. The link lasts ten minutes and works once; the
page it opens has a "Sign in" button, so a link preview cannot use it up.
``!dashboard sign out everywhere`` ends every session they have."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.config import Config
from bot.context import Context
from bot.registry import CommandSet
from bot.roles import Role
from bot.scheduler import Job
from storage import alerts, web_sessions

commands = CommandSet("dashboard")
commands.forgets(web_sessions.forget)  # !forget me
commands.shares(web_sessions.personal_data)  # !mydata

LINK_MINUTES = 10
TIDY_AFTER = timedelta(days=1)  # ended sessions and links are deleted after this


def sign_in_link(db: Database, config: Config, user_id: str, now: datetime) -> str:
    """A new one-time sign-in link for ``user_id`` (``[web] public_url``/sign-in/…)."""
    token = web_sessions.issue_link(db, user_id, now.timestamp(), LINK_MINUTES * 60)
    return f"{config.web.public_url}/sign-in/{token}"


def _tell_privately(ctx: Context, text: str) -> None:
    """Only in their own direct chat; where they asked elsewhere, say so there."""
    room = ctx.private_room()
    ctx.platform.queue_text(ctx.db, room, text)
    if room != ctx.room_id:
        ctx.reply("dashboard.sent_privately")


@commands.command("dashboard", summary="dashboard.summary", role=Role.CHAMPION)
async def dashboard(ctx: Context) -> None:
    if not ctx.config.web.enabled:
        ctx.reply("dashboard.not_on")
        return
    link = sign_in_link(ctx.db, ctx.config, ctx.sender, ctx.now)
    _tell_privately(ctx, ctx.text("dashboard.link", link=link, minutes=LINK_MINUTES))


@commands.command(
    "dashboard sign out",
    summary="dashboard.sign_out_summary",
    usage="dashboard sign out everywhere",
    role=Role.CHAMPION,
)
async def sign_out_everywhere(ctx: Context) -> None:
    """The bot cannot tell one browser from another, so signing out here is
    always everywhere (with the word or without it)."""
    ended = web_sessions.end_all(ctx.db, ctx.sender, ctx.now.timestamp())
    if ended:
        ctx.reply("dashboard.signed_out", count=ended)
    else:
        ctx.reply("dashboard.signed_out_none")


@commands.daily("dashboard.tidy")
async def tidy(job: Job) -> None:
    """Every day: forget sign-ins and links over a day past their end, and the
    team's alerts of problems long over (``storage.alerts.KEPT``)."""
    async with job.writing() as db:
        web_sessions.tidy(db, (job.now - TIDY_AFTER).timestamp())
        alerts.tidy(db, job.now.timestamp())
