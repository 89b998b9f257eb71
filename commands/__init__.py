"""One module per capability. ``build_registry()`` gathers their commands.

Order matters for listeners: each event goes to the first that takes it.
Feedback comes last, because in a direct chat it takes anything left. A capability
split over modules lists them together; their order keeps help's order.
"""

from __future__ import annotations

from bot.registry import Registry
from commands import (
    aboutme,
    backup,
    basics,
    champions,
    core_data,
    dashboard,
    export,
    feedback,
    feedback_edits,
    feedback_review,
    feedback_threads,
    impact,
    poll_answers,
    poll_ballots,
    poll_close,
    poll_results,
    polls,
    privacy,
    project_consent,
    project_invites,
    projects,
    safeguarding,
    training,
    training_records,
    typos,
    unreadable,
    workshop_answers,
    workshop_new,
    workshop_reminders,
    workshops,
)

MODULES = (
    basics, champions, polls, poll_results, poll_answers, poll_ballots, poll_close,
    projects, project_invites, project_consent, impact, aboutme,
    workshop_new, workshops, workshop_answers, workshop_reminders, training, training_records,
    export, dashboard, core_data, privacy, backup,
    unreadable, typos, safeguarding, feedback, feedback_threads, feedback_edits, feedback_review
)  # fmt: skip


def build_registry() -> Registry:
    return Registry(module.commands for module in MODULES)
