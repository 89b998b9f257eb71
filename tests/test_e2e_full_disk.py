"""A locked database, end to end: the bot as a real process on a real homeserver,
while another program holds its database (``BEGIN EXCLUSIVE``) for longer than
the bot's busy timeout.

There is no honest way to make the running bot's disk full from outside (its
``max_page_count`` lives on its own connection, and nothing in its config sets
one); tests/test_storage_full.py fills it in process. Here: while the database
is held, what people send stays in Matrix (not in the inbox, the sync position
unmoved), nobody is told "saved" and nothing becomes a dead letter; the log has
one plain warning and no traceback. Once it is free, every message is handled
exactly once and Sam is told once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_e2e_feedback import converse, said
from test_e2e_polls import room_with, start_poll
from test_storage_full import WARNING, Locker

from harness import BotProcess, wait_until
from storage.db import BUSY_TIMEOUT_MS

pytestmark = pytest.mark.e2e

SAVED = "Thank you. I've saved what you said. The team reads every message."


def position(bot: BotProcess) -> str:
    [(token,)] = bot.query("SELECT value FROM sync_state WHERE key = 'next_batch'")
    return str(token)


def stored(bot: BotProcess, event_ids: list[str]) -> list[tuple[str, str, str]]:
    marks = ", ".join("?" for _ in event_ids)
    return bot.query(
        f"SELECT event_id, state, received_at FROM inbox WHERE event_id IN ({marks})", event_ids
    )


async def test_a_locked_database_keeps_feedback_and_votes_waiting_in_matrix(
    synapse, make_bot, make_person
):
    alex, sam, pat = (make_person(synapse, n) for n in ("alex", "sam", "pat"))
    bot = await make_bot(synapse, team=[alex.user_id], champions=[alex.user_id]).run()
    for person in (alex, sam, pat):
        await person.listen()
    room = await room_with(alex, bot, [sam, pat])
    start, _ = await start_poll(alex, bot, room, "!poll Which day suits you? | Tuesday | Friday")
    dm = await sam.open_dm(bot.user_id)
    await converse(sam, bot, dm, "The ramp at the library is too steep.", "consent")
    await converse(sam, bot, dm, "yes", "the name question")
    seen = len(said(sam, bot, dm))
    before, log_from = position(bot), len(bot.log())

    lock = Locker(bot.db_path)
    lock.hold()  # as long as the test says: far past the busy timeout
    try:
        sent = [
            await sam.send(dm, "yes"),  # keep my name: the feedback is saved now
            await sam.answer_poll(room, start, ["a1"]),
            await pat.answer_poll(room, start, ["a2"]),
        ]
        await wait_until(lambda: WARNING in bot.log()[log_from:], 60, "the warning")
        # Held: the sync could not store them, so they are still only in Matrix.
        assert bot.alive()
        assert position(bot) == before
        assert stored(bot, sent) == []
        assert SAVED not in said(sam, bot, dm)
        assert bot.query("SELECT count(*) FROM dead_letters") == [(0,)]
        freed = datetime.now(UTC).isoformat(timespec="milliseconds")
    finally:
        lock.release()

    await wait_until(lambda: len(said(sam, bot, dm)) > seen, 60, "the thanks")
    await wait_until(
        lambda: {s for _, s, _ in stored(bot, sent)} == {"done"} and len(stored(bot, sent)) == 3,
        60,
        "every message handled",
    )
    assert said(sam, bot, dm)[seen:] == [SAVED]  # told once
    assert all(received >= freed for _, _, received in stored(bot, sent))
    assert bot.query("SELECT state, contact_ok FROM feedback") == [("saved", 1)]
    assert bot.query("SELECT count(*) FROM poll_votes") == [(2,)]
    assert bot.query("SELECT count(*) FROM dead_letters") == [(0,)]
    log = bot.log()[log_from:]
    assert log.count(WARNING) == 1
    assert "Traceback" not in log and " ERROR " not in log
    assert BUSY_TIMEOUT_MS == 5000  # the real timeout was waited out
