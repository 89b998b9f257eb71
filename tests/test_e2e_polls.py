"""Polls through a real homeserver: people answer in every way their apps allow."""

from __future__ import annotations

import asyncio
import random
import re
import time
from pathlib import Path

import pytest

from harness import BotProcess, EncryptedPerson, Person, backup_copy, byte_traces, wait_until

pytestmark = pytest.mark.e2e

POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"


async def room_with(owner: Person, bot: BotProcess, people: list[Person]) -> str:
    room = await owner.create_room([bot.user_id, *(p.user_id for p in people)])
    await asyncio.gather(*(p.join(room) for p in people))
    await owner.wait_for_member(room, bot.user_id)
    return room


async def start_poll(owner: Person, bot: BotProcess, room: str, command: str) -> tuple[str, str]:
    """Start a poll; returns the poll event ID and the companion message's ID."""
    seen = len(owner.events_from(bot.user_id, POLL_START, room))
    await owner.send(room, command)
    await wait_until(
        lambda: len(owner.events_from(bot.user_id, POLL_START, room)) > seen, 30, "the poll"
    )
    start = owner.events_from(bot.user_id, POLL_START, room)[-1]
    await wait_until(
        lambda: any(
            e["content"].get("body", "").startswith("Poll ")
            and e["origin_server_ts"] >= start["origin_server_ts"]
            for e in owner.messages_from(bot.user_id, room)
        ),
        30,
        "the companion message",
    )
    companion = [
        e
        for e in owner.messages_from(bot.user_id, room)
        if e["content"].get("body", "").startswith("Poll ")
    ][-1]
    return start["event_id"], companion["event_id"]


async def poll_end(owner: Person, bot: BotProcess, room: str, timeout: float = 60) -> dict:
    await wait_until(
        lambda: owner.events_from(bot.user_id, POLL_END, room), timeout, "the poll to end"
    )
    return owner.events_from(bot.user_id, POLL_END, room)[-1]


async def results_message(owner: Person, bot: BotProcess, room: str, timeout: float) -> str:
    """The words of the bot's latest "Poll N has closed: ..." message in the room."""

    def closed() -> list[str]:
        bodies = [e["content"]["body"] for e in owner.messages_from(bot.user_id, room)]
        return [b for b in bodies if "has closed:" in b]

    await wait_until(lambda: bool(closed()), timeout, "the results message")
    return closed()[-1]


def expected_counts(
    answer_ids: list[str], max_selections: int, histories: dict[str, list[list[str]]]
) -> tuple[dict[str, int], int]:
    """The rules from the proposal, replayed simply: each person's last answer decides."""
    counts = dict.fromkeys(answer_ids, 0)
    voters = 0
    for answers in histories.values():
        if not answers:
            continue
        last = answers[-1]
        if any(a not in answer_ids for a in last):
            continue  # spoiled
        chosen: list[str] = []
        for a in last:
            if a not in chosen:
                chosen.append(a)
        chosen = chosen[:max_selections]
        if chosen:
            voters += 1
            for a in chosen:
                counts[a] += 1
    return counts, voters


async def test_forty_voters_counted_exactly_by_the_rules(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")
    voters = [make_person(synapse, "voter") for _ in range(40)]
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    await alex.listen()
    room = await room_with(alex, bot, voters)
    start, _ = await start_poll(
        alex, bot, room, "!poll Which days suit you? | Monday | Tuesday | Wednesday | up to 2"
    )
    ids = ["a1", "a2", "a3"]

    rng = random.Random(7)
    choices = [
        ["a1"], ["a2"], ["a3"], ["a1", "a2"], ["a2", "a3"],
        [],  # take back
        ["a9"],  # unknown: spoiled
        ["a1", "zz"],  # one unknown spoils it all
        ["a3", "a1", "a2"],  # too many: first two count
        ["a2", "a2", "a1"],  # duplicates count once
    ]  # fmt: skip
    histories = {v.user_id: [rng.choice(choices) for _ in range(rng.randint(1, 3))] for v in voters}

    async def vote(person: Person) -> None:
        for answers in histories[person.user_id]:
            await person.answer_poll(room, start, answers)

    await asyncio.gather(*(vote(v) for v in voters))
    await alex.ask(room, "!poll close", bot.user_id)
    late = voters[::5]
    for person in late:  # after the close: must not count
        await person.answer_poll(room, start, ["a3"])

    end = await poll_end(alex, bot, room)
    counts, answered = expected_counts(ids, 2, histories)
    assert end["content"]["m.poll.results"] == counts
    assert end["content"]["m.relates_to"] == {"rel_type": "m.reference", "event_id": start}
    results = await results_message(alex, bot, room, 30)
    assert f"{answered} of 41 people here answered" in results

    # Late voters are told once that the poll had closed.
    def told() -> int:
        return sum(
            "can't count this answer" in e["content"]["body"]
            for e in alex.messages_from(bot.user_id, room)
        )

    await wait_until(lambda: told() >= len(late), 30, "late voters to be told")
    await asyncio.sleep(1)
    assert told() == len(late)


async def test_replies_reactions_and_native_answers_count_each_person_once(
    synapse, make_bot, make_person
):
    alex = make_person(synapse, "alex")
    p = [make_person(synapse, f"p{i}") for i in range(6)]
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    await alex.listen()
    room = await room_with(alex, bot, p)
    start, companion = await start_poll(
        alex, bot, room, "!poll Where shall we meet? | Library | Cafe | Hall"
    )

    await p[0].answer_poll(room, start, ["a1"])
    by_reply = await p[0].reply(room, companion, "2")  # changed, by reply: Cafe
    await p[1].react(room, companion, "1️⃣")
    await p[1].answer_poll(room, start, ["a3"])  # changed, natively: Hall
    also_by_reply = await p[2].reply(room, start, "1")
    await p[2].react(room, companion, "2\u20e3")  # no emoji marker; one choice only: Cafe
    gone = await p[3].react(room, companion, "3️⃣")
    await p[3].remove(room, gone)  # reaction taken back: no vote
    answer = await p[4].answer_poll(room, start, ["a2"])
    await p[4].remove(room, answer)  # answer deleted: no vote
    await p[5].answer_poll(room, start, ["a1"])
    await p[5].answer_poll(room, start, ["a3"])
    old = [e for e in await p[5].history(room) if e.get("sender") == p[5].user_id][-2]
    await p[5].remove(room, old["event_id"])  # deleting the older answer keeps the newer one: Hall

    await alex.ask(room, "!poll close", bot.user_id)
    end = await poll_end(alex, bot, room)
    assert end["content"]["m.poll.results"] == {"a1": 0, "a2": 2, "a3": 2}
    # Element's poll shows only the taps, so the end says how each person answered.
    assert end["content"]["body"].split("\n")[1:] == [
        "Some apps show only the taps in the poll. Here is how people answered:",
        "2 people tapped a choice.",
        "1 person sent a number as a reply.",
        "1 person sent a number as a reaction.",
    ]
    # Each numbered reply was marked as counted with ✅ (a tap shows itself).
    ticked = {
        e["content"]["m.relates_to"]["event_id"]
        for e in alex.events_from(bot.user_id, "m.reaction", room)
        if e["content"]["m.relates_to"]["key"] == "✅"
    }
    assert ticked == {by_reply, also_by_reply}


async def test_closing_time_passes_while_the_bot_is_down(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")
    early, late = make_person(synapse, "early"), make_person(synapse, "late")
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    await alex.listen()
    room = await room_with(alex, bot, [early, late])
    command = "!poll Is the new bus time better? | yes/no | closes in 1 minute"
    started = time.time()
    start, _ = await start_poll(alex, bot, room, command)
    await early.answer_poll(room, start, ["a1"])
    await wait_until(
        lambda: bot.query("SELECT count(*) FROM poll_votes") == [(1,)], 30, "the vote to be stored"
    )

    bot.stop()  # restart mid-poll, and stay down past the closing time
    await late.answer_poll(room, start, ["a2"])  # before the close: counts
    await asyncio.sleep(max(0.0, started + 62 - time.time()))
    await late.answer_poll(room, start, ["a3"])  # after the close: must not count
    bot.start()
    await bot.wait_running()

    end = await poll_end(alex, bot, room)
    assert end["content"]["m.poll.results"] == {"a1": 1, "a2": 1, "a3": 0}


async def test_secret_ballot_keeps_no_link_between_person_and_vote(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")
    people = [make_person(synapse, "voter") for _ in range(3)]
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    for person in (alex, *people):
        await person.listen()
    room = await room_with(alex, bot, people)
    await alex.send(room, "!poll secret Who should chair the board? | Sam | Jo")

    async def ballot(person: Person) -> tuple[str, str]:
        await wait_until(lambda: person.events_from(bot.user_id, POLL_START), 60, "a ballot")
        event = person.events_from(bot.user_id, POLL_START)[0]
        return event["room_id"], event["event_id"]

    ballots = [await ballot(person) for person in (alex, *people)]
    picks = ["a1", "a2", "a2", "a2"]
    answers = [
        await person.answer_poll(dm, start, [pick])
        for person, (dm, start), pick in zip((alex, *people), ballots, picks, strict=True)
    ]
    await people[0].answer_poll(*ballots[1], ["a1"])  # twice: the second is not counted
    await wait_until(
        lambda: bot.query("SELECT sum(voted) FROM poll_ballots") == [(4,)], 60, "the votes"
    )

    await alex.ask(room, "!poll close", bot.user_id)
    results = await results_message(alex, bot, room, 60)
    assert "Sam: 1 (25%)" in results
    assert "Jo: 3 (75%)" in results

    # Each answer was deleted from the chat once counted.
    for answer in answers:
        await wait_until(
            lambda answer=answer: (
                bot.query(
                    "SELECT state FROM outbox WHERE action = 'redact' AND content LIKE ?",
                    [f"%{answer}%"],
                )
                == [("sent",)]
            ),
            30,
            "the answer to be removed",
        )
    # No row anywhere holds a voter's ID together with what they chose. (The poll's
    # own definition and the bot's poll events list the choices, but no person's pick.)
    tables = [t for (t,) in bot.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in set(tables) - {"polls"}:
        for row in bot.query(f"SELECT * FROM {table}"):  # noqa: S608 (names from sqlite_master)
            text = repr(row)
            if POLL_START in text or POLL_END in text:
                continue
            for person in (alex, *people):
                if person.user_id in text:
                    assert '"a1"' not in text and '"a2"' not in text, (table, row)
    scrubbed = bot.query("SELECT event FROM inbox WHERE type = 'org.matrix.msc3381.poll.response'")
    assert len(scrubbed) == 5 and all('"content": {}' in e for (e,) in scrubbed)


# What a ballot answer looks like, however it is written down: a poll response's
# list of answer IDs, a number reaction's keycap (as UTF-8 or as a JSON escape),
# a numbered reply's body.
ANSWER_TRACES = [
    re.compile(rb'"answers"\s*:\s*\[\s*"'),
    re.compile(rb'"a\d+"\s*\]'),
    re.compile(rb'"selections"'),
    re.compile("\u20e3".encode()),
    re.compile(rb"\\u20e3", re.IGNORECASE),
    re.compile(rb'"body"\s*:\s*"\s*\d\s*"'),
]


def answer_traces(files: list[Path]) -> list[tuple[str, bytes]]:
    """Every ballot answer found in these files, byte by byte."""
    return byte_traces(files, ANSWER_TRACES)


def backup(bot: BotProcess, to: Path) -> Path:
    """A copy of the database taken while the bot runs (SQLite's backup API)."""
    return backup_copy(bot.db_path, to)


async def test_no_file_ever_holds_a_secret_ballot_answer_even_after_a_crash(
    synapse, make_bot, make_person, tmp_path
):
    alex = make_person(synapse, "alex")
    people = [make_person(synapse, "voter") for _ in range(3)]
    voters = (alex, *people)
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    for person in voters:
        await person.listen()
    room = await room_with(alex, bot, people)
    await alex.send(room, "!poll secret Who should chair the board? | Sam | Jo | Priya")

    async def ballot(person: Person) -> tuple[str, str, str]:
        """The person's direct chat, their ballot poll and its numbered message."""
        await wait_until(
            lambda: (
                person.events_from(bot.user_id, POLL_START)
                and any(
                    "your private vote" in e["content"].get("body", "")
                    for e in person.messages_from(bot.user_id)
                )
            ),
            60,
            "a ballot",
        )
        start = person.events_from(bot.user_id, POLL_START)[0]
        numbered = next(
            e
            for e in person.messages_from(bot.user_id)
            if "your private vote" in e["content"].get("body", "")
        )
        return start["room_id"], start["event_id"], numbered["event_id"]

    ballots = [await ballot(person) for person in voters]
    dms = [dm for dm, _, _ in ballots]

    def arrived() -> int:
        marks = ", ".join("?" * len(dms))
        return bot.query(f"SELECT count(*) FROM inbox WHERE room_id IN ({marks})", dms)[0][0]

    # Each person votes their own way: a tap, a numbered reply, a number reaction.
    (a_dm, a_start, _), (b_dm, _, b_numbered), (c_dm, _, c_numbered), (d_dm, d_start, _) = ballots
    answers = [
        await alex.answer_poll(a_dm, a_start, ["a2"]),
        await people[0].reply(b_dm, b_numbered, "3"),
    ]
    await wait_until(lambda: arrived() >= 2, 30, "the first votes")
    copies = [backup(bot, tmp_path / "mid-vote-1.db")]
    answers.append(await people[1].react(c_dm, c_numbered, "1️⃣"))
    answers.append(await people[2].answer_poll(d_dm, d_start, ["a2"]))
    await wait_until(lambda: arrived() >= 4, 30, "all the votes")
    copies.append(backup(bot, tmp_path / "mid-vote-2.db"))
    bot.kill()  # straight away: a crash, a power cut

    files = [p for p in bot.directory.rglob("*") if p.is_file() and p.name != "config.toml"]
    assert {f"copro.db{end}" for end in ("", "-wal", "-shm")} <= {p.name for p in files}
    assert answer_traces(files + copies) == []

    # Nothing was lost: every vote counts, exactly.
    bot.start()
    await bot.wait_running()
    await wait_until(
        lambda: bot.query("SELECT sum(voted) FROM poll_ballots") == [(4,)], 60, "the votes"
    )
    copies.append(backup(bot, tmp_path / "before-the-close.db"))
    await alex.ask(room, "!poll close", bot.user_id)
    results = await results_message(alex, bot, room, 60)
    assert "Sam: 1 (25%)" in results and "Jo: 2 (50%)" in results, results
    assert "Priya: 1 (25%)" in results, results
    # Once counted, the answers are deleted from the chat; still no file holds one.
    deleted = "SELECT json_extract(content, '$.event_id') FROM outbox WHERE action = 'redact' "
    await wait_until(
        lambda: {e for (e,) in bot.query(deleted + "AND state = 'sent'")} >= set(answers),
        30,
        "the answers to be deleted",
    )
    assert answer_traces(files + copies) == []


async def test_an_encrypted_ballot_answer_is_read_again_after_a_crash(
    synapse, make_bot, make_person, register, tmp_path
):
    """Sam's direct chat is encrypted: the answer is decrypted in memory only, and
    after a crash fetched and decrypted again to be counted."""
    alex = make_person(synapse, "alex")
    sam = EncryptedPerson(synapse, register("esam"), tmp_path / "sam-keys")
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    try:
        await alex.listen()
        await sam.listen()
        dm = await sam.open_encrypted_dm(bot.user_id)
        await sam.ask(dm, "!ping", bot.user_id, timeout=60)
        room = await alex.create_room([bot.user_id, sam.user_id])
        await sam.join(room)
        await alex.wait_for_member(room, bot.user_id)
        await alex.send(room, "!poll secret Who should chair the board? | Sam | Jo")

        def ballot(person: Person) -> dict | None:
            found = person.events_from(bot.user_id, POLL_START)
            return found[0] if found else None

        await wait_until(lambda: ballot(alex) and ballot(sam), 60, "the ballots")
        sam_ballot, alex_ballot = ballot(sam), ballot(alex)
        assert sam_ballot["room_id"] == dm  # the encrypted chat Sam already had
        sealed = "SELECT count(*) FROM inbox WHERE json_extract(event, '$.sealed') = 1"
        answers = [
            await sam.answer_poll(dm, sam_ballot["event_id"], ["a2"]),
            await alex.answer_poll(alex_ballot["room_id"], alex_ballot["event_id"], ["a1"]),
        ]
        await wait_until(lambda: bot.query(sealed) == [(2,)], 60, "both answers")
        copy = backup(bot, tmp_path / "mid-vote.db")
        bot.kill()
        files = [p for p in bot.directory.rglob("*") if p.is_file() and p.name != "config.toml"]
        assert answer_traces([*files, copy]) == []

        bot.start()
        await bot.wait_running()
        await wait_until(
            lambda: bot.query("SELECT sum(voted) FROM poll_ballots") == [(2,)], 60, "the votes"
        )
        await alex.ask(room, "!poll close", bot.user_id)
        results = await results_message(alex, bot, room, 60)
        assert "Sam: 1 (50%)" in results and "Jo: 1 (50%)" in results, results
        deleted = "SELECT json_extract(content, '$.event_id') FROM outbox WHERE action = 'redact' "
        await wait_until(
            lambda: {e for (e,) in bot.query(deleted + "AND state = 'sent'")} >= set(answers),
            30,
            "the answers to be deleted",
        )
        assert answer_traces(files) == []
    finally:
        await sam.close()


async def test_bad_polls_get_a_kind_reply_and_no_poll(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")
    sam = make_person(synapse, "sam")  # a member: may not start polls
    bot = await make_bot(synapse, champions=[alex.user_id]).run()
    await alex.listen()
    await sam.listen()
    room = await room_with(alex, bot, [sam])

    too_many = " | ".join(f"Choice {i}" for i in range(21))
    cases = {
        f"!poll Pick one | {too_many}": "up to 20",
        "!poll | Tuesday | Thursday": "start with the question",
        "!poll Which day? | Tuesday | tuesday": "there twice",
        "!poll Which day? | Tuesday": "at least 2",
        "!poll Which day? | Tuesday | Thursday | closes 1/6/2020 5pm": "has passed",
        "!poll Which day? | Tuesday | Thursday | closes whenever": "didn't understand the time",
    }
    for command, words in cases.items():
        reply = await alex.ask(room, command, bot.user_id)
        assert words in reply["content"]["body"], (command, reply["content"]["body"])
    reply = await sam.ask(room, "!poll Which day? | Tuesday | Thursday", bot.user_id)
    assert "only champions and the team" in reply["content"]["body"]
    assert bot.query("SELECT count(*) FROM polls") == [(0,)]
