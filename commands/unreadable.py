"""Messages the bot could not decrypt, because their keys never came.

The worker parks such a message as ``locked`` and schedules this job; the
platform adapter tries it again whenever new keys arrive. If it is still locked
when the job runs, the sender is asked, once, to send it again. A message whose
keys come even later is still handled: nothing is dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.dispatch import UNREADABLE_JOB
from bot.registry import CommandSet
from bot.scheduler import Job
from bot.when import say_when
from storage import inbox, rooms

commands = CommandSet("unreadable")


@commands.job(UNREADABLE_JOB)
async def ask_to_send_again(job: Job) -> None:
    async with job.writing() as db:
        locked = inbox.locked(db)
        event = next((e for e in locked if e.event_id == job.ref), None)
        if event is None:
            return  # its keys came, or it was already told about
        # One message covers everything of theirs still locked in that room.
        for stuck in locked:
            if stuck.sender == event.sender and stuck.room_id == event.room_id:
                inbox.mark(db, stuck.seq, "unreadable")
        room = rooms.get(db, event.room_id)
        if room is not None and room.is_direct:
            text = job.text("unreadable.direct")
            job.platform.queue_text(db, event.room_id, text, reply_to=event.event_id)
            return
        sent = datetime.fromtimestamp(event.origin_server_ts / 1000, UTC)
        when = say_when(sent, ZoneInfo(job.config.bot.timezone), job.now)
        job.platform.queue_direct(db, event.sender, job.text("unreadable.room", when=when))
