"""The numbers the team reports (``!impact``), each from the owner of its table:
this module names no table itself."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage import feedback, polls, profiles, projects, workshops
from storage.db import Reader


def stage_counts(db: Reader) -> dict[str, int]:
    """Projects by stage (those still being set up count at their stage)."""
    return projects.stage_counts(db)


def people_involved(db: Reader, leave_out: Iterable[str] = ()) -> int:
    """Different people who took part in anything: projects (members, past and present,
    and everyone who said yes), poll voters, people who sent feedback with their name,
    and workshop attendees."""
    found = projects.participants(db) | polls.voters(db)
    found |= feedback.senders(db) | workshops.attendees(db)
    return len(found - set(leave_out) - {None})


def polls_run(db: Reader) -> int:
    return polls.count(db)


def feedback_count(db: Reader) -> int:
    """Pieces of feedback saved (not those the bot is still asking the person about)."""
    return feedback.count_saved(db)


def workshops_held(db: Reader, now: datetime) -> int:
    """Workshops (and training) that have taken place and were not cancelled."""
    return workshops.held(db, now)


def area_counts(db: Reader) -> dict[str, int]:
    """How many people said they live in each area (from the voluntary profiles)."""
    return profiles.area_counts(db)


def relationship_counts(db: Reader) -> dict[str, int]:
    """How many people said each of: uses services, carer, council staff (any mix)."""
    return profiles.relationship_counts(db)
