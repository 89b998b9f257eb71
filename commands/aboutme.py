"""``!aboutme``: people say, only if they want to, which area they live in and
how they are involved. Two questions in their direct chat, each with "rather not
say"; ``!aboutme remove`` takes it all away. ``!impact`` counts the answers.

When they are done (or stop), an invitation to a project that waited behind
these questions is asked next.
"""

from __future__ import annotations

from bot.answers import choice_number, number_list
from bot.context import Choice, Choices, Context
from bot.registry import CommandSet
from commands.project_steps import ask_next, message_text
from storage import conversations, profiles
from storage.conversations import Pending
from storage.profiles import RELATIONSHIPS, Profile

commands = CommandSet("projects")  # listed in help with the projects

ABOUT_AREA = "aboutme.area"
ABOUT_RELATIONSHIP = "aboutme.relationship"

_STOP = {"stop", "cancel", "quit", "stop please", "no thanks"}


# ----- telling us about yourself (always optional) --------------------------------


@commands.command("aboutme", summary="aboutme.summary")
async def about_me(ctx: Context) -> None:
    current = profiles.get(ctx.db, ctx.sender)
    paragraphs = [ctx.text("aboutme.intro")]
    said = _said(ctx, current)
    if said:
        paragraphs.append(ctx.text("aboutme.current", said=said))
    if ctx.config.projects.areas:
        paragraphs.append(_area_question(ctx))
        choices = _menu(_area_labels(ctx))
        ctx.ask(ctx.sender, ABOUT_AREA, "profile", "\n\n".join(paragraphs), choices=choices)
    else:  # no areas to choose from: keep the one they gave, if any
        paragraphs.append(_relationship_question(ctx))
        data = {"area": current.area if current else None}
        question = "\n\n".join(paragraphs)
        choices = _menu(_relationship_labels(ctx), many=True)
        ctx.ask(ctx.sender, ABOUT_RELATIONSHIP, "profile", question, data, choices=choices)
    if not ctx.is_direct:
        ctx.reply("aboutme.sent_you_a_message")


@commands.command("aboutme remove", summary="aboutme.remove_summary")
async def about_me_remove(ctx: Context) -> None:
    conversations.finish(ctx.db, ctx.sender, ABOUT_AREA)
    conversations.finish(ctx.db, ctx.sender, ABOUT_RELATIONSHIP)
    if profiles.get(ctx.db, ctx.sender) is None:
        ctx.reply("aboutme.nothing_to_remove")
        return
    profiles.forget(ctx.db, ctx.sender)
    ctx.reply("aboutme.removed")


def _options(ctx: Context, labels: list[str]) -> list[str]:
    return [ctx.text("aboutme.option", number=i, label=label) for i, label in enumerate(labels, 1)]


def _menu(labels: list[str], *, many: bool = False) -> Choices:
    """The numbered options as a menu, for platforms that show one."""
    options = tuple(Choice(str(n), label) for n, label in enumerate(labels, 1))
    return Choices(options, from_list=True, many=many)


def _area_labels(ctx: Context) -> list[str]:
    return [*ctx.config.projects.areas, ctx.text("aboutme.rather_not_say")]


def _area_question(ctx: Context) -> str:
    labels = _area_labels(ctx)
    lines = [ctx.text("aboutme.area_question"), *_options(ctx, labels)]
    return "\n".join([*lines, "", ctx.text("aboutme.how_to_stop")])


def _relationship_labels(ctx: Context) -> list[str]:
    own = [ctx.text(f"aboutme.{r.replace(' ', '_')}") for r in RELATIONSHIPS]
    return [*own, ctx.text("aboutme.rather_not_say")]


def _relationship_question(ctx: Context) -> str:
    lines = [ctx.text("aboutme.relationship_question"), *_options(ctx, _relationship_labels(ctx))]
    return "\n".join([*lines, "", ctx.text("aboutme.how_to_stop")])


def _said(ctx: Context, profile: Profile | None) -> str:
    if profile is None:
        return ""
    sentences = [ctx.text("aboutme.said_area", area=profile.area)] if profile.area else []
    for relationship in RELATIONSHIPS:
        if relationship in profile.relationships:
            sentences.append(ctx.text(f"aboutme.said_{relationship.replace(' ', '_')}"))
    return " ".join(sentences)


def _is_stop(text: str) -> bool:
    return " ".join(text.lower().strip(" .!").split()) in _STOP


def _stop_about(ctx: Context, kind: str) -> bool:
    conversations.finish(ctx.db, ctx.sender, kind)
    ctx.reply("aboutme.stopped")
    ask_next(ctx)
    return True


@commands.answer(ABOUT_AREA)
async def area_answer(ctx: Context, pending: Pending) -> bool:
    text = message_text(ctx)
    if _is_stop(text):
        return _stop_about(ctx, ABOUT_AREA)
    areas = list(ctx.config.projects.areas)
    number = choice_number(text, len(areas) + 1)
    if number is None:  # the name of the area, typed out
        typed = " ".join(text.casefold().strip(" .!").split())
        number = next((i for i, a in enumerate(areas, 1) if a.casefold() == typed), None)
    if number is None:
        ctx.reply("aboutme.not_understood", most=len(areas) + 1)
        return True
    area = areas[number - 1] if number <= len(areas) else None
    question, choices = _relationship_question(ctx), _menu(_relationship_labels(ctx), many=True)
    ctx.ask(ctx.sender, ABOUT_RELATIONSHIP, "profile", question, {"area": area}, choices=choices)
    return True


@commands.answer(ABOUT_RELATIONSHIP)
async def relationship_answer(ctx: Context, pending: Pending) -> bool:
    text = message_text(ctx)
    if _is_stop(text):
        return _stop_about(ctx, ABOUT_RELATIONSHIP)
    most = len(RELATIONSHIPS) + 1
    numbers = number_list(text) or []
    if not numbers or any(not 1 <= n <= most for n in numbers):
        ctx.reply("aboutme.not_understood", most=most)
        return True
    chosen = tuple(RELATIONSHIPS[n - 1] for n in sorted(set(numbers)) if n <= len(RELATIONSHIPS))
    area = pending.data.get("area")
    _save_profile(ctx, area if isinstance(area, str) else None, chosen)
    conversations.finish(ctx.db, ctx.sender, ABOUT_RELATIONSHIP)
    said = _said(ctx, profiles.get(ctx.db, ctx.sender))
    if said:
        ctx.reply("aboutme.saved", said=said)
    else:
        ctx.reply("aboutme.saved_nothing")
    ask_next(ctx)
    return True


def _save_profile(ctx: Context, area: str | None, chosen: tuple[str, ...]) -> None:
    """Replace what they told us with their new answers. "Rather not say" leaves
    nothing behind. A staff team (kept by another feature) stays while they still
    say they work for the council."""
    old = profiles.get(ctx.db, ctx.sender)
    staff_team = old.staff_team if old and "council staff" in chosen else None
    profiles.forget(ctx.db, ctx.sender)
    if area or chosen or staff_team:
        profiles.save(
            ctx.db, ctx.sender, area=area, relationships=chosen or None, staff_team=staff_team
        )
