"""What the bot says about projects: the list, a project's card, the invitation
with its terms of engagement, and the lines of the impact report.

Every sentence comes from the catalogue (``bot/messages.toml``); these functions
only choose and arrange them. ``words`` is anything that gives catalogue
messages with ``.text()``: a ``Context``, a ``Job``, or the dashboard's catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from commands.project_rules import SMALLEST_GROUP, invitation_summary, shown_groups
from storage.profiles import RELATIONSHIPS
from storage.projects import STAGES, Project


class Words(Protocol):
    def text(self, key: str, **values: object) -> str: ...


TERMS = "project.terms"  # the catalogue key of the terms of engagement


@dataclass(frozen=True)
class Card:
    """What a project's card says besides the project itself."""

    people: int
    ready: bool  # its room exists
    is_member: bool  # the asker is in it
    invitations: dict[str, int] | None  # by state, for those who may change it


def stage_words(words: Words, stage: str) -> str:
    return words.text(f"project.stage.{stage}")


def list_line(words: Words, project: Project, people: int, ready: bool) -> str:
    line = words.text(
        "project.list_line",
        project=project.name,
        stage=stage_words(words, project.stage),
        count=people,
    )
    if not ready:
        how = "project.list_setting_up"
    else:
        how = "project.list_open" if project.open else "project.list_invite_only"
    return f"{line} {words.text(how)}"


def listing(words: Words, going: list[str], finished: int) -> str:
    """The ``!projects`` answer, from the lines of the projects still going."""
    lines = [words.text("project.list_intro" if going else "project.list_none_going"), *going]
    if finished:
        lines.append(words.text("project.list_finished", count=finished))
    if going:
        lines.append(words.text("project.list_how_to_see"))
    return "\n".join(lines)


def card(words: Words, project: Project, seen: Card) -> str:
    """The ``!project <name>`` answer."""
    lines = [
        words.text("project.show_title", project=project.name),
        words.text("project.show_about", summary=project.summary),
        words.text(
            "project.show_stage", name=project.stage, stage=stage_words(words, project.stage)
        ),
        words.text("project.show_people", count=seen.people),
    ]
    if seen.is_member:
        lines.append(words.text("project.show_you_are_in", project=project.name))
    elif project.finished:
        lines.append(words.text("project.finished", project=project.name))
    elif not seen.ready:
        lines.append(words.text("project.show_setting_up"))
    elif project.open:
        lines.append(words.text("project.show_open", project=project.name))
    else:
        lines.append(words.text("project.show_invite_only"))
    if project.contact:
        lines.append(words.text("project.show_contact", contact=project.contact))
    if project.budget:
        lines.append(words.text("project.show_budget", budget=project.budget))
    if seen.invitations is not None:
        summary = invitation_summary(seen.invitations)
        lines.append(words.text("project.show_invitations", **summary))
    return "\n".join(lines)


def stage_told(words: Words, project: Project, stage: str) -> str:
    """What the project's room is told when the project moves on."""
    if stage == "done":
        return words.text("project.stage_done_told", project=project.name)
    return words.text("project.stage_told", project=project.name, stage=stage_words(words, stage))


def invitation(
    words: Words, project: Project, intro: str, how: str = "project.invitation_question"
) -> tuple[str, str]:
    """The invitation (what it is, what taking part means, the terms of engagement,
    how to answer), and the exact words of the terms in it."""
    terms = words.text(TERMS)
    paragraphs = [intro, words.text("project.invitation_about", summary=project.summary)]
    if not project.finished:
        paragraphs.append(words.text(f"project.involves.{project.stage}"))
    if project.contact:
        paragraphs.append(words.text("project.invitation_contact", contact=project.contact))
    paragraphs += [terms, words.text(how, project=project.name)]
    return "\n\n".join(paragraphs), terms


# ----- the impact report ------------------------------------------------------------


@dataclass(frozen=True)
class Numbers:
    """What ``!impact`` counts."""

    stages: dict[str, int]  # projects by stage
    people: int
    polls: int
    feedback: int
    workshops: int
    areas: dict[str, int]
    known_areas: list[str]  # from the config, in its order
    relationships: dict[str, int]


def impact_report(words: Words, numbers: Numbers) -> str:
    return "\n\n".join(
        "\n".join([title, *lines]) for title, lines in impact_sections(words, numbers)
    )


def impact_sections(words: Words, numbers: Numbers) -> list[tuple[str, list[str]]]:
    """The impact report in parts, each a first line and the lines under it: what
    was done, where people live, how they are involved, and the privacy note
    (which has no lines under it). ``!impact`` sends them as one message; the
    dashboard's overview shows the same lines."""
    stages = numbers.stages
    if stages:
        parts = [words.text("impact.stage_count", stage=s, count=stages.get(s, 0)) for s in STAGES]
        projects = words.text(
            "impact.projects", count=sum(stages.values()), stages=", ".join(parts)
        )
    else:
        projects = words.text("impact.no_projects")
    done = [
        projects,
        words.text("impact.people", count=numbers.people),
        words.text("impact.polls", count=numbers.polls),
        words.text("impact.feedback", count=numbers.feedback),
        words.text("impact.workshops", count=numbers.workshops),
    ]
    labels = {r: words.text(f"impact.{r.replace(' ', '_')}") for r in RELATIONSHIPS}
    said = {labels.get(r, r): n for r, n in numbers.relationships.items()}
    return [
        (words.text("impact.title"), done),
        (words.text("impact.areas_title"), _groups(words, numbers.areas, numbers.known_areas)),
        (
            words.text("impact.relationships_title"),
            _groups(words, said, [labels[r] for r in RELATIONSHIPS]),
        ),
        (words.text("impact.hidden_note", least=SMALLEST_GROUP), []),
    ]


def _groups(words: Words, counts: dict[str, int], known: list[str]) -> list[str]:
    """One line per group; a group smaller than five shows as "fewer than 5"."""
    if not counts:
        return [words.text("impact.nobody_said")]
    lines = []
    for group, n in shown_groups(counts, known):
        shown = str(n) if n is not None else words.text("impact.fewer_than", least=SMALLEST_GROUP)
        lines.append(words.text("impact.group_line", group=group, count=shown))
    return lines
