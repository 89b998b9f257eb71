"""The team's side of feedback: ``!review`` what people said, ``!tag`` it with
themes, and ``!wedid``: "you said, we did", which the bot tells the person who
said it, if they agreed to be contacted. Feedback someone else deleted in the
chat waits for the team: ``!review keep`` or ``!review delete``.

People's words are shown only in the team room, or a team member's direct chat.
"""

from __future__ import annotations

from bot.answers import parse_number
from bot.context import Context, UserError
from bot.registry import CommandSet
from bot.review import one_line, theme_name
from bot.review import we_did as record_we_did
from bot.roles import Role
from storage import feedback as store
from storage import projects as project_store

commands = CommandSet("feedback")  # the same help section as the rest of feedback


def _team_place(ctx: Context) -> None:
    """People's words are shown only in the team room (or a team member's direct chat)."""
    if not ctx.is_direct and ctx.room_id not in ctx.config.team_rooms().values():
        raise UserError("feedback.team_room_only")


def _numbered(ctx: Context) -> tuple[store.Feedback, str]:
    typed, _, rest = ctx.args.strip().partition(" ")
    number = parse_number(typed)
    if number is None:
        raise UserError("feedback.number_needed")
    saved = store.get(ctx.db, number)
    if saved is None or saved.state != "saved":
        raise UserError("feedback.not_found", number=number)
    return saved, rest.strip()


@commands.command("review", summary="feedback.review_summary", usage="review", role=Role.TEAM)
async def review(ctx: Context) -> None:
    _team_place(ctx)
    project = parse_number(ctx.args) if ctx.args.strip() else None
    if ctx.args.strip() and project is None:
        raise UserError("feedback.number_needed")
    items = store.recent(ctx.db, project)
    if not items:
        ctx.reply("feedback.review_none")
        return
    names = {p.id: p.name for p in project_store.listing(ctx.db)}
    lines = [ctx.text("feedback.review_intro")]
    lines += [_review_line(ctx, item, names.get(item.project_id or 0)) for item in items]
    ctx.reply_text("\n".join(lines))


def _review_line(ctx: Context, item: store.Feedback, about: str | None) -> str:
    """One line per piece; what it is about and its themes only when there are some."""
    themes = ", ".join(store.themes(ctx.db, item.id))
    line = ctx.text(
        "feedback.review_line_about" if about else "feedback.review_line",
        number=item.id,
        date=item.created_at[:10],
        about=about or "",
        text=one_line(item.text),
    )
    if themes:
        line += " " + ctx.text("feedback.review_themes", themes=themes)
    if item.removed_at:
        line += " " + ctx.text("feedback.review_removed", number=item.id)
    return line


def _removed_by_other(ctx: Context) -> store.Feedback:
    saved, _ = _numbered(ctx)
    if saved.removed_at is None:
        raise UserError("feedback.not_removed", number=saved.id)
    return saved


@commands.command(
    "review keep",
    summary="feedback.review_keep_summary",
    usage="review keep 3",
    role=Role.TEAM,
)
async def review_keep(ctx: Context) -> None:
    """Feedback someone else deleted in the chat: keep it (it is in exports again)."""
    _team_place(ctx)
    saved = _removed_by_other(ctx)
    store.keep(ctx.db, saved.id)
    ctx.reply("feedback.review_kept", number=saved.id)


@commands.command(
    "review delete",
    summary="feedback.review_delete_summary",
    usage="review delete 3",
    role=Role.TEAM,
)
async def review_delete(ctx: Context) -> None:
    """Feedback someone else deleted in the chat: delete it here too."""
    _team_place(ctx)
    saved = _removed_by_other(ctx)
    store.delete(ctx.db, saved.id)
    ctx.reply("feedback.review_deleted", number=saved.id)


@commands.command("tag", summary="feedback.tag_summary", usage="tag 3 transport", role=Role.TEAM)
async def tag(ctx: Context) -> None:
    _team_place(ctx)
    saved, theme = _numbered(ctx)
    theme = theme_name(theme)
    if not theme:
        raise UserError("feedback.theme_needed")
    store.add_theme(ctx.db, saved.id, theme)
    ctx.reply("feedback.tagged", number=saved.id, theme=theme)


@commands.command(
    "wedid",
    summary="feedback.wedid_summary",
    usage="wedid 3 We moved the start to 10am",
    role=Role.TEAM,
)
async def we_did(ctx: Context) -> None:
    _team_place(ctx)
    saved, outcome = _numbered(ctx)
    if not outcome:
        raise UserError("feedback.outcome_needed")
    told = record_we_did(ctx.db, ctx.platform, ctx.messages, saved, outcome, ctx.sender)
    ctx.reply("feedback.wedid_told" if told else "feedback.wedid_not_told", number=saved.id)
