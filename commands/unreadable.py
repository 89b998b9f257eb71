"""Messages the bot could not decrypt, because their keys never came.

The worker parks such a message as ``locked`` and tells the features so (a
``Locked`` event); this module then schedules its own job. The platform adapter tries
the message again whenever new keys arrive. If it is still locked when the job
runs, the sender is asked, once, to send it again. A message whose keys come
even later is still handled: nothing is dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import metrics
from bot.context import Context, Locked
from bot.registry import CommandSet
from bot.scheduler import Job, schedule
from bot.when import say_when
from storage import inbox, rooms

commands = CommandSet("unreadable")

# How long an unreadable message waits for its keys before the sender is asked
# to send it again.
UNREADABLE_AFTER = timedelta(minutes=10)
UNREADABLE_JOB = "inbox.unreadable"


@commands.on(Locked)
async def wait_for_keys(ctx: Context) -> bool:
    """Ask again about it later, if its keys have not come by then."""
    metrics.count(metrics.UNDECRYPTABLE, ctx.platform.name)
    schedule(
        ctx.db,
        UNREADABLE_JOB,
        ctx.event.event_id,
        ctx.now + UNREADABLE_AFTER,
        platform=ctx.platform.name,
    )
    return True


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
