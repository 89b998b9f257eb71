"""Workshop reminders: by direct message to everyone with a place, before the start.

By default one day and one hour before (``workshops.reminders`` in the config). Each
is a scheduled job, so it is sent once, even across restarts; one that fell due
while the bot was down is sent at start-up if the workshop has not started (and if
a nearer one is due as well, only that one). When a workshop moves or is cancelled,
its reminders are cancelled (and, for a move, scheduled again).
"""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from bot.config import Config
from bot.registry import CommandSet
from bot.scheduler import Job, schedule
from commands.workshop_rules import reminder_offsets, reminder_time, superseded
from commands.workshop_words import reminder, tz
from storage import jobs
from storage import workshops as store
from storage.workshops import Workshop

commands = CommandSet("workshops")

REMINDER_JOB = "workshop.reminder"


def schedule_reminders(
    db: Database, config: Config, workshop: Workshop, now: datetime, *, platform: str
) -> None:
    """One job per reminder still to come; the offsets are kept to cancel them later."""
    scheduled = []
    for before in reminder_offsets(config):
        at = reminder_time(workshop.start, before, tz(config))
        if at > now:
            schedule(db, REMINDER_JOB, f"{workshop.id}:{before}", at, platform=platform)
            scheduled.append(before)
    store.set_reminders(db, workshop.id, scheduled)


def cancel_reminders(db: Database, workshop: Workshop) -> None:
    for before in workshop.reminders:
        jobs.cancel(db, REMINDER_JOB, f"{workshop.id}:{before}")
    store.set_reminders(db, workshop.id, [])


@commands.job(REMINDER_JOB)
async def send_reminder(job: Job) -> None:
    """Remind everyone with a place, if the workshop is still on and has not started.

    If the bot was down and a nearer reminder is due too, only that one is sent.
    """
    number, _, before = job.ref.partition(":")
    async with job.writing() as db:
        w = store.get(db, int(number))
        if w is None or w.state != "open" or job.now >= w.start:
            return
        if superseded(w.start, before, w.reminders, job.now, tz(job.config)):
            return  # the bot was down: a nearer reminder is due as well, and says it all
        text = reminder(job, w, job.now)
        for person in store.going(db, w.id):
            job.platform.queue_direct(db, person, text)
