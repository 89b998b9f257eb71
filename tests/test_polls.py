"""Quick polls through the real dispatcher, worker and scheduler, with a real SQLite file.

The bot is a ``LocalBot`` (see tests/localbot.py): what people do goes into the
inbox as the adapter's sync would store it, the real Worker handles it, and what
the bot says is read back from the outbox. The adapter's network reads (``joined_members`` and
``poll_answers``) return what the tests put in ``bot.adapter``. ``deliver`` stands
in for the sender, so people can answer the bot's messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.context import PollAnswer, PollLayout
from localbot import (
    ALICE,
    BOT,
    CHRIS,
    DANA,
    GROUP,
    LEE,
    PAT,
    SAM,
    T0,
    LocalBot,
    Out,
    deliver,
    make_bots,
    ms,
    person_named,
    say,
)
from storage import polls as poll_store
from storage import rooms

OUTSIDER = person_named("outsider", server="elsewhere.test")  # not in the room

QUESTION = "Which day suits you?"
DAYS = f"{QUESTION} | Tuesday morning | Thursday afternoon"


# ----- the bot, without a homeserver ------------------------------------------------------


@dataclass(frozen=True)
class Posted:
    number: int
    start: str  # the poll event's ID
    companion: str  # the numbered message's ID


class PollBot(LocalBot):
    """A bot with two champions, for polls; members may start polls if the config says so."""

    champions = (CHRIS, DANA)

    def __init__(self, directory: Path, *, members_can_start: bool = False) -> None:
        settings = "[polls]\nmembers_can_start = true\n" if members_can_start else ""
        super().__init__(directory, settings=settings)

    # --- what the bot did ---

    def texts(self, room_id: str = GROUP) -> list[str]:
        """Everything the bot said (not in reply) in a room."""
        return [
            o.body
            for o in self.outbox()
            if o.room_id == room_id
            and o.kind == "text"
            and o.reply_to is None
            and o.action == "send"
        ]

    def poll(self, number: int = 1) -> poll_store.Poll:
        found = poll_store.get(self.db, number)
        assert found is not None
        return found

    def jobs(self) -> list[tuple[str, str, float, str, int]]:
        return self.db.execute(
            "SELECT kind, ref, due_at, state, attempts FROM jobs ORDER BY id"
        ).fetchall()

    # --- shortcuts ---

    async def open_poll(self, text: str = DAYS, *, sender: str = CHRIS) -> Posted:
        """Start a poll and deliver its messages."""
        assert await self.ask(f"!poll {text}", sender=sender) == []
        poll = poll_store.newest_in_room(self.db, GROUP)
        assert poll is not None and poll.start_txn and poll.companion_txn
        sent = deliver(self.store)
        return Posted(poll.id, sent[poll.start_txn], sent[poll.companion_txn])

    async def live(self, number: int = 1) -> tuple[dict[str, int], int]:
        """The counts ``!poll results`` shows: ({label: count}, how many answered)."""
        (text,) = await self.ask(f"!poll results {number}", sender=LEE)
        return shown_counts(text)

    async def close(self, *, sender: str = CHRIS, number: int = 1) -> list[str]:
        """``!poll close``, then run the closing job."""
        replies = await self.ask(f"!poll close {number}", sender=sender)
        await self.tick()
        return replies


RESULT_LINE = re.compile(r"^(?P<label>.+): (?P<count>\d+) \(\d+%\) [█░]{10}$")
ANSWERED = re.compile(
    r"^(?P<count>\d+) (?:(?:people have|person has) answered so far|of \d+ (?:people|person) here)"
)


def shown_counts(text: str) -> tuple[dict[str, int], int]:
    counts = {m["label"]: int(m["count"]) for m in map(RESULT_LINE.match, text.split("\n")) if m}
    answered = ANSWERED.match(text.split("\n")[-1])
    assert answered, text
    return counts, int(answered["count"])


@pytest.fixture
def make_pollbot(tmp_path: Path) -> Iterator[Callable[..., PollBot]]:
    with make_bots(PollBot, tmp_path) as make:
        yield make


@pytest.fixture
def bot(make_pollbot: Callable[..., PollBot]) -> PollBot:
    bot = make_pollbot()
    bot.adapter.members[GROUP] = {BOT, CHRIS, SAM, PAT, LEE}
    return bot


# ----- starting a poll ----------------------------------------------------------------------


async def test_a_champion_starts_a_poll(bot: PollBot) -> None:
    assert await bot.ask(f"!poll {DAYS}", sender=CHRIS) == []
    start, companion = bot.outbox()

    assert (start.action, start.room_id, start.kind) == ("send", GROUP, "poll")
    assert start.poll == PollLayout(
        question=QUESTION,
        answers=(("a1", "Tuesday morning"), ("a2", "Thursday afternoon")),
        max_selections=1,
        disclosed=True,
        fallback=f"{QUESTION}\n1. Tuesday morning\n2. Thursday afternoon",
    )  # as Matrix writes it: tests/test_matrix_events.py
    assert start.mentions == ()

    assert (companion.room_id, companion.kind) == (GROUP, "text")
    assert companion.notice
    assert companion.mentions == ()
    assert companion.reply_to is None
    assert companion.body.split("\n") == [
        say("poll.title", number=1, question=QUESTION),
        "1. Tuesday morning",
        "2. Thursday afternoon",
        "",
        say("poll.how_to_answer"),
        say("poll.how_to_react", first="1️⃣", second="2️⃣"),
    ]

    poll = bot.poll()
    assert (poll.room_id, poll.creator, poll.state) == (GROUP, CHRIS, "open")
    assert (poll.start_txn, poll.companion_txn) == (start.txn_id, companion.txn_id)
    assert bot.jobs() == []  # closed by hand


async def test_settings_show_in_the_poll_and_the_companion(bot: PollBot) -> None:
    await bot.ask(
        "!poll Where shall we meet? | Library | Town hall | Café | up to 2 | hidden | closes in 2h",
        sender=CHRIS,
    )
    start, companion = bot.outbox()
    assert start.poll is not None and not start.poll.disclosed
    assert start.poll.max_selections == 2
    assert companion.body.split("\n")[-3:] == [
        say("poll.choose_up_to", count=2),
        say("poll.results_later"),
        say("poll.closes_on", when="Monday 1 June, 12 noon"),
    ]
    closes = T0 + timedelta(hours=2)
    assert bot.poll().closes_at == closes.timestamp()
    assert bot.jobs() == [("poll.close", "1", closes.timestamp(), "pending", 0)]


async def test_a_member_may_not_start_a_poll(bot: PollBot) -> None:
    assert await bot.ask(f"!poll {DAYS}", sender=SAM) == [
        say("errors.not_allowed", who=say("roles.champion"))
    ]
    assert bot.count("polls") == 0
    assert len(bot.outbox()) == 1


async def test_members_may_start_polls_when_the_config_says_so(make_pollbot: Any) -> None:
    bot = make_pollbot(members_can_start=True)
    posted = await bot.open_poll(sender=SAM)
    assert bot.poll(posted.number).creator == SAM


TWENTY_ONE = " | ".join(f"Choice {n}" for n in range(1, 22))
MISTAKES = [
    ("", "poll.no_question", {}),
    ("| Tuesday | Thursday", "poll.no_question", {}),
    ("x" * 301 + " | A | B", "poll.question_too_long", {"length": 301, "most": 300}),
    ("Which day? | Tuesday", "poll.too_few_options", {"count": 1, "least": 2}),
    (f"Which day? | {TWENTY_ONE}", "poll.too_many_options", {"count": 21, "most": 20}),
    ("Which day? | Tuesday | | Thursday", "poll.empty_option", {"number": 2}),
    ("Which day? | Tuesday | tuesday", "poll.duplicate_option", {"option": "tuesday"}),
    (
        "Which day? | Tuesday | " + "y" * 101,
        "poll.option_too_long",
        {"number": 2, "length": 101, "most": 100},
    ),
    ("Which day? | Tuesday | Thursday | up to 3", "poll.max_out_of_range", {"given": 3}),
    ("Which day? | Tuesday | Thursday | choose up to some", "poll.max_not_number", {}),
    ("Which day? | Tuesday | Thursday | hidden | hidden", "poll.setting_twice", {}),
    ("Shall we? | yes/no | Maybe", "poll.preset_mixed", {"preset": "yes/no"}),
    ("Which day? | Tuesday | Thursday | closes soonish", "when.not_understood", {}),
    ("Which day? | Tuesday | Thursday | closes today 9am", "when.in_the_past", {}),
    ("Which day? | Tuesday | Thursday | closes 1 May 5pm", "when.date_passed", {}),
    ("Which day? | Tuesday | Thursday | closes 9999-12-31 23:30", "when.too_far", {}),
]
SHOWN = {  # the rest of what each message needs
    "poll.max_out_of_range": {"options": 2},
    "poll.setting_twice": {"setting": "hidden"},
    "when.not_understood": {"text": "soonish"},
    "when.in_the_past": {"text": "today 9am"},
    "when.date_passed": {"text": "1 May 5pm"},
    "when.too_far": {"text": "9999-12-31 23:30"},
}


@pytest.mark.parametrize(
    ("text", "key", "values"), MISTAKES, ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(MISTAKES)]
)
async def test_a_mistake_in_the_command_is_explained(
    bot: PollBot, text: str, key: str, values: dict[str, object]
) -> None:
    replies = await bot.ask(f"!poll {text}", sender=CHRIS)
    assert replies == [say(key, **values, **SHOWN.get(key, {}))]
    assert bot.count("polls") == 0
    assert [o.kind for o in bot.outbox()] == ["text"]  # the reply alone
    assert bot.jobs() == []


# ----- answering ----------------------------------------------------------------------------


async def test_tapping_a_choice_counts(bot: PollBot) -> None:
    posted = await bot.open_poll()
    tap = bot.answer_poll(posted.start, "a2", sender=SAM)
    await bot.run()
    assert bot.replies_to(tap) == []
    assert await bot.live() == ({"Tuesday morning": 0, "Thursday afternoon": 1}, 1)


async def test_replying_with_a_number_to_the_companion_or_the_poll(bot: PollBot) -> None:
    posted = await bot.open_poll()
    to_companion = bot.message("2", sender=SAM, reply_to=posted.companion)
    to_poll = bot.message(" #1. ", sender=PAT, reply_to=posted.start)
    await bot.run()
    assert bot.replies_to(to_companion) == bot.replies_to(to_poll) == []
    assert await bot.live() == ({"Tuesday morning": 1, "Thursday afternoon": 1}, 2)


async def test_replying_with_several_numbers(bot: PollBot) -> None:
    posted = await bot.open_poll("Which days? | Monday | Tuesday | Wednesday | up to 2")
    bot.message("1, 3", sender=SAM, reply_to=posted.companion)
    bot.message("2 and 3", sender=PAT, reply_to=posted.start)
    await bot.run()
    assert await bot.live() == ({"Monday": 1, "Tuesday": 1, "Wednesday": 2}, 2)


async def test_a_reply_in_words_gets_a_hint(bot: PollBot) -> None:
    posted = await bot.open_poll()
    reply = bot.message("Tuesday please", sender=SAM, reply_to=posted.companion)
    await bot.run()
    assert bot.replies_to(reply) == [say("poll.reply_hint")]
    assert bot.count("poll_votes") == 0


@pytest.mark.parametrize("number", ["3", "0", "1, 7"])
async def test_a_number_that_is_not_a_choice(bot: PollBot, number: str) -> None:
    posted = await bot.open_poll()
    reply = bot.message(number, sender=SAM, reply_to=posted.companion)
    await bot.run()
    wrong = [n for n in re.findall(r"\d+", number) if not 1 <= int(n) <= 2][0]
    assert bot.replies_to(reply) == [say("poll.no_such_choice", number=wrong, most=2)]
    assert bot.count("poll_votes") == 0


async def test_a_number_that_answers_no_poll_is_no_vote(bot: PollBot) -> None:
    await bot.open_poll()
    ping = bot.message("!ping", sender=SAM)
    await bot.run()
    (pong,) = [o for o in bot.outbox() if o.reply_to == ping]
    sent = deliver(bot.store)
    plain = bot.message("2", sender=SAM)
    to_pong = bot.message("2", sender=SAM, reply_to=sent[pong.txn_id])
    await bot.run()
    assert bot.replies_to(plain) == bot.replies_to(to_pong) == []
    assert bot.count("poll_votes") == 0


async def test_number_reactions_with_and_without_the_emoji_marker(bot: PollBot) -> None:
    posted = await bot.open_poll()
    with_marker = bot.react(posted.companion, "2\ufe0f\u20e3", sender=SAM)
    without = bot.react(posted.companion, "1\u20e3", sender=PAT)
    on_poll = bot.react(posted.start, "2\ufe0f\u20e3", sender=LEE)
    await bot.run()
    assert [bot.replies_to(e) for e in (with_marker, without, on_poll)] == [[], [], []]
    assert await bot.live() == ({"Tuesday morning": 1, "Thursday afternoon": 2}, 3)


async def test_other_reactions_are_ignored(bot: PollBot) -> None:
    posted = await bot.open_poll()
    outbox_before = len(bot.outbox())
    thumbs = bot.react(posted.companion, "👍", sender=SAM)
    ten = bot.react(posted.companion, "🔟", sender=PAT)  # a number, but no choice 10
    elsewhere = bot.react("$someone-elses-message", "1️⃣", sender=LEE)
    await bot.run()
    assert len(bot.outbox()) == outbox_before  # no reply
    assert bot.count("poll_votes") == 0
    assert {bot.inbox_state(e) for e in (thumbs, ten, elsewhere)} == {"done"}


async def test_removing_a_reaction_takes_that_choice_back(bot: PollBot) -> None:
    posted = await bot.open_poll("Which days? | Monday | Tuesday | Wednesday | up to 2")
    one = bot.react(posted.companion, "1️⃣", sender=SAM)
    bot.react(posted.companion, "2️⃣", sender=SAM)
    only = bot.react(posted.companion, "3️⃣", sender=PAT)
    await bot.run()
    assert await bot.live() == ({"Monday": 1, "Tuesday": 1, "Wednesday": 1}, 2)

    bot.remove(one, sender=SAM)
    bot.remove(only, sender=PAT)
    await bot.run()
    assert await bot.live() == ({"Monday": 0, "Tuesday": 1, "Wednesday": 0}, 1)


async def test_deleting_the_latest_answer_takes_the_vote_back(bot: PollBot) -> None:
    posted = await bot.open_poll()
    bot.answer_poll(posted.start, "a1", sender=SAM)
    latest = bot.message("2", sender=SAM, reply_to=posted.companion)
    await bot.run()
    assert await bot.live() == ({"Tuesday morning": 0, "Thursday afternoon": 1}, 1)

    removal = bot.remove(latest, sender=SAM)
    await bot.run()
    assert bot.replies_to(removal) == []
    assert await bot.live() == ({"Tuesday morning": 0, "Thursday afternoon": 0}, 0)


async def test_deleting_an_older_answer_keeps_the_newer_one(bot: PollBot) -> None:
    posted = await bot.open_poll()
    older = bot.message("1", sender=SAM, reply_to=posted.companion)
    bot.answer_poll(posted.start, "a2", sender=SAM)
    await bot.run()

    bot.remove(older, sender=SAM)
    await bot.run()
    assert await bot.live() == ({"Tuesday morning": 0, "Thursday afternoon": 1}, 1)


# ----- results and the list of polls --------------------------------------------------------


async def test_live_results_while_open(bot: PollBot) -> None:
    posted = await bot.open_poll()
    bot.answer_poll(posted.start, "a1", sender=SAM)
    bot.answer_poll(posted.start, "a1", sender=PAT)
    bot.answer_poll(posted.start, "a2", sender=LEE)
    await bot.run()
    assert await bot.ask("!poll results", sender=SAM) == [
        "\n".join(
            [
                say("poll.results_title", number=1, question=QUESTION),
                "Tuesday morning: 2 (67%) ███████░░░",
                "Thursday afternoon: 1 (33%) ███░░░░░░░",
                say("poll.answered_so_far", count=3),
            ]
        )
    ]


async def test_hidden_results_stay_hidden_until_the_close(bot: PollBot) -> None:
    posted = await bot.open_poll(f"{DAYS} | hidden")
    bot.answer_poll(posted.start, "a1", sender=SAM)
    await bot.run()
    assert await bot.ask("!poll results", sender=SAM) == [say("poll.results_hidden", number=1)]
    await bot.close()
    assert await bot.live() == ({"Tuesday morning": 1, "Thursday afternoon": 0}, 1)


async def test_percentages_round_halves_up_like_poll_rules(bot: PollBot) -> None:
    posted = await bot.open_poll()
    people = [f"@person{n}:council.test" for n in range(8)]
    for n, person in enumerate(people):
        bot.answer_poll(posted.start, "a1" if n == 0 else "a2", sender=person)
    await bot.run()
    (text,) = await bot.ask("!poll results", sender=SAM)
    assert "Tuesday morning: 1 (13%) █░░░░░░░░░" in text.split("\n")


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("!poll results", say("poll.none_here")),
        ("!poll results 7", say("poll.not_found", number=7)),
        ("!poll results last", say("poll.number_needed", text="last")),
        ("!poll close", say("poll.none_open")),
        ("!polls", say("poll.none_open")),
    ],
)
async def test_asking_about_polls_that_are_not_there(
    bot: PollBot, command: str, reply: str
) -> None:
    assert await bot.ask(command, sender=CHRIS) == [reply]


async def test_polls_lists_the_open_polls_with_closing_times(bot: PollBot) -> None:
    await bot.open_poll("Old question? | Yes | No")
    await bot.open_poll(DAYS)
    await bot.open_poll("Where shall we meet? | Library | Town hall | closes tomorrow 5pm")
    await bot.close(number=1)
    assert await bot.ask("!polls", sender=SAM) == [
        "\n".join(
            [
                say("poll.list_intro"),
                say("poll.list_line", number=2, question=QUESTION),
                say(
                    "poll.list_line_closes",
                    number=3,
                    question="Where shall we meet?",
                    when="Tuesday 2 June, 5pm",
                ),
            ]
        )
    ]


# ----- closing ------------------------------------------------------------------------------


async def vote_two_to_one(bot: PollBot, posted: Posted) -> None:
    bot.answer_poll(posted.start, "a1", sender=SAM)
    bot.message("1", sender=PAT, reply_to=posted.companion)
    bot.react(posted.companion, "2️⃣", sender=LEE)
    await bot.run()


CLOSED_TWO_TO_ONE = "\n".join(
    [
        say("poll.closed_title", number=1, question=QUESTION),
        "Tuesday morning: 2 (67%) ███████░░░",
        "Thursday afternoon: 1 (33%) ███░░░░░░░",
        say("poll.turnout", voters=3, members=4, percent=75),
    ]
)
# Said at the end when not everyone tapped the poll (apps show only the taps in it).
EACH_WAY = "\n".join(
    [
        say("poll.how_answered"),
        say("poll.answered_by_tap", count=1),
        say("poll.answered_by_reply", count=1),
        say("poll.answered_by_reaction", count=1),
    ]
)


async def test_the_creator_closes_the_poll_and_the_results_follow(bot: PollBot) -> None:
    posted = await bot.open_poll()
    await vote_two_to_one(bot, posted)

    close = bot.message("!poll close", sender=CHRIS)
    await bot.run()
    assert bot.replies_to(close) == [say("poll.closing", number=1)]
    closed_at = ms(bot.clock.time) - 1000
    assert bot.poll().state == "closing"
    assert bot.poll().cutoff == closed_at / 1000
    assert bot.jobs() == [("poll.close", "1", closed_at / 1000, "pending", 0)]

    mark = len(bot.outbox())
    assert await bot.tick() == 1
    end, results = bot.after(mark)
    assert (end.room_id, end.kind) == (GROUP, "poll_end")
    ended = say("poll.ended", top="Tuesday morning") + "\n" + EACH_WAY
    assert (end.target, end.results, end.body, end.mentions) == (
        posted.start,
        {"a1": 2, "a2": 1},
        ended,
        (),
    )  # as Matrix writes it: tests/test_matrix_events.py
    assert (results.room_id, results.reply_to) == (GROUP, None)
    assert results.body == CLOSED_TWO_TO_ONE + "\n" + EACH_WAY

    poll = bot.poll()
    assert (poll.state, poll.results, poll.voters, poll.members) == (
        "closed",
        {"a1": 2, "a2": 1},
        3,
        4,
    )
    assert poll.sources == {"response": 1, "reply": 1, "react": 1}  # kept for the dashboard
    assert [job[3] for job in bot.jobs()] == ["done"]
    assert await bot.ask("!poll results", sender=SAM) == [CLOSED_TWO_TO_ONE]


def ticks(bot: PollBot) -> list[str]:
    """The messages the bot marked with ✅ (a numbered reply it counted)."""
    return [o.target for o in bot.outbox() if o.kind == "reaction" and o.key == "✅"]


async def test_a_numbered_reply_that_counts_is_marked_with_a_tick(bot: PollBot) -> None:
    posted = await bot.open_poll()
    counted = bot.message("2", sender=PAT, reply_to=posted.companion)
    wrong = bot.message("7", sender=SAM, reply_to=posted.companion)
    bot.answer_poll(posted.start, "a1", sender=LEE)  # a tap shows itself in the poll
    bot.react(posted.companion, "1️⃣", sender=SAM)
    await bot.run()
    assert ticks(bot) == [counted]
    assert bot.replies_to(counted) == []
    assert bot.replies_to(wrong) == [say("poll.no_such_choice", number=7, most=2)]

    await bot.close()
    late = bot.message("1", sender=LEE, reply_to=posted.companion)
    await bot.run()
    assert ticks(bot) == [counted]
    assert bot.replies_to(late) == [say("poll.closed_told", number=1)]


async def test_the_end_says_how_people_answered_only_when_not_all_tapped(bot: PollBot) -> None:
    posted = await bot.open_poll()
    bot.answer_poll(posted.start, "a1", sender=SAM)
    bot.answer_poll(posted.start, "a2", sender=PAT)
    await bot.run()
    await bot.close()
    (end,) = [o for o in bot.outbox() if o.kind == "poll_end"]
    assert say("poll.how_answered") not in end.body + bot.texts()[-1]
    assert "\n" not in end.body


async def test_the_team_may_close_anyones_poll(bot: PollBot) -> None:
    await bot.open_poll(sender=CHRIS)
    assert await bot.close(sender=ALICE) == [say("poll.closing", number=1)]
    assert bot.poll().state == "closed"


async def test_another_champion_may_not_close_it(bot: PollBot) -> None:
    await bot.open_poll(sender=CHRIS)
    assert await bot.close(sender=DANA) == [say("poll.not_yours", number=1)]
    assert await bot.close(sender=SAM) == [say("errors.not_allowed", who=say("roles.champion"))]
    assert bot.poll().state == "open"
    assert bot.jobs() == []


async def test_closing_twice(bot: PollBot) -> None:
    await bot.open_poll()
    assert await bot.ask("!poll close 1", sender=CHRIS) == [say("poll.closing", number=1)]
    assert await bot.ask("!poll close 1", sender=CHRIS) == [say("poll.already_closed", number=1)]
    await bot.tick()
    assert await bot.ask("!poll close 1", sender=CHRIS) == [say("poll.already_closed", number=1)]
    assert [job[3] for job in bot.jobs()] == ["done"]
    assert len([o for o in bot.outbox() if o.kind == "poll_end"]) == 1


async def test_only_people_in_the_room_count(bot: PollBot) -> None:
    posted = await bot.open_poll()
    await vote_two_to_one(bot, posted)
    bot.answer_poll(posted.start, "a2", sender=OUTSIDER)  # left the room, or never in it
    await bot.run()
    assert await bot.live() == ({"Tuesday morning": 2, "Thursday afternoon": 2}, 4)

    await bot.close()
    assert bot.texts()[-1] == CLOSED_TWO_TO_ONE + "\n" + EACH_WAY


async def test_missed_answers_are_fetched_before_counting(bot: PollBot) -> None:
    posted = await bot.open_poll()
    seen = bot.answer_poll(posted.start, "a1", sender=SAM)
    await bot.run()
    before = bot.clock.time
    bot.adapter.answers[posted.start] = [
        PollAnswer(seen, GROUP, SAM, posted.start, ("a1",), ms(before) - 1000),  # stored already
        PollAnswer("$missed", GROUP, PAT, posted.start, ("a1",), ms(before)),
        PollAnswer("$missed", GROUP, PAT, posted.start, ("a1",), ms(before)),  # twice
        PollAnswer("$gone", GROUP, OUTSIDER, posted.start, ("a2",), ms(before)),
        PollAnswer("$late", GROUP, LEE, posted.start, ("a2",), ms(before) + 60_000),
    ]
    await bot.close()
    assert bot.count("poll_votes", "event_id = '$missed'") == 1
    assert bot.poll().results == {"a1": 2, "a2": 0}
    first = bot.texts()[-1]
    assert shown_counts(first) == ({"Tuesday morning": 2, "Thursday afternoon": 0}, 2)

    # The count is made from what is stored: made again, it is the same.
    with bot.store.write() as db:
        db.execute("UPDATE polls SET state = 'closing'")
        db.execute("UPDATE jobs SET state = 'pending'")
    assert await bot.tick() == 1
    assert bot.texts()[-2:] == [first, first]
    assert bot.count("poll_votes", "event_id = '$missed'") == 1


async def test_late_answers_do_not_count_and_the_person_is_told_once(bot: PollBot) -> None:
    posted = await bot.open_poll()
    bot.answer_poll(posted.start, "a1", sender=SAM)
    await bot.run()
    await bot.ask("!poll close", sender=CHRIS)

    too_late = bot.answer_poll(posted.start, "a2", sender=PAT)  # closing, not closed yet
    await bot.run()
    assert bot.replies_to(too_late) == [say("poll.closed_told", number=1)]
    await bot.tick()

    again = bot.message("2", sender=PAT, reply_to=posted.companion)
    reacted = bot.react(posted.companion, "2️⃣", sender=PAT)
    taken_back = bot.answer_poll(posted.start, sender=SAM)  # an empty answer: "take my vote back"
    await bot.run()
    assert bot.replies_to(again) == bot.replies_to(reacted) == []  # Pat was told already
    assert bot.replies_to(taken_back) == [say("poll.closed_told", number=1)]
    assert bot.poll().results == {"a1": 1, "a2": 0}
    assert await bot.live() == ({"Tuesday morning": 1, "Thursday afternoon": 0}, 1)


async def test_a_removal_after_the_close_changes_nothing(bot: PollBot) -> None:
    posted = await bot.open_poll()
    reaction = bot.react(posted.companion, "1️⃣", sender=SAM)
    await bot.run()
    await bot.close()
    bot.remove(reaction, sender=SAM)
    await bot.run()
    assert await bot.live() == ({"Tuesday morning": 1, "Thursday afternoon": 0}, 1)


# ----- closing at a set time ----------------------------------------------------------------


async def test_a_poll_closes_at_its_time(bot: PollBot) -> None:
    posted = await bot.open_poll(f"{DAYS} | closes in 2h")
    closes = T0 + timedelta(hours=2)
    assert bot.jobs() == [("poll.close", "1", closes.timestamp(), "pending", 0)]
    await vote_two_to_one(bot, posted)

    bot.clock.time = closes - timedelta(seconds=1)
    assert await bot.tick() == 0
    assert bot.poll().state == "open"

    bot.clock.time = closes
    assert await bot.tick() == 1
    assert bot.poll().state == "closed"
    assert bot.texts()[-1] == CLOSED_TWO_TO_ONE + "\n" + EACH_WAY
    assert bot.jobs()[0][3] == "done"


async def test_an_answer_after_the_closing_time_does_not_count_even_if_handled_before(
    bot: PollBot,
) -> None:
    """The bot was down at the closing time: it handles the backlog before the job runs."""
    posted = await bot.open_poll(f"{DAYS} | closes in 2h")
    closes = T0 + timedelta(hours=2)
    in_time = bot.answer_poll(posted.start, "a1", sender=SAM, at=closes - timedelta(minutes=1))
    late = bot.answer_poll(posted.start, "a2", sender=PAT, at=closes + timedelta(seconds=1))
    late_reply = bot.message(
        "2", sender=LEE, reply_to=posted.companion, at=closes + timedelta(minutes=5)
    )
    bot.clock.time = closes + timedelta(hours=1)
    await bot.run()
    assert bot.poll().state == "open"  # the job has not run yet
    assert bot.replies_to(in_time) == []
    assert bot.replies_to(late) == bot.replies_to(late_reply) == [say("poll.closed_told", number=1)]

    assert await bot.tick() == 1
    assert bot.poll().results == {"a1": 1, "a2": 0}


# ----- times people's apps claim -------------------------------------------------------------


async def test_an_answer_that_came_after_the_close_does_not_count_whatever_it_claims(
    bot: PollBot,
) -> None:
    bot.sync()  # the bot is running: it sees each answer as it comes
    posted = await bot.open_poll()
    bot.answer_poll(posted.start, "a1", sender=SAM)
    await bot.run()
    assert await bot.ask("!poll close", sender=CHRIS) == [say("poll.closing", number=1)]
    liar = bot.answer_poll(posted.start, "a2", sender=PAT, at=T0)  # claims to be early
    await bot.run()
    assert bot.replies_to(liar) == [say("poll.closed_told", number=1)]
    await bot.tick()
    assert bot.poll().results == {"a1": 1, "a2": 0}


async def test_an_answer_that_claims_a_time_to_come_counts_when_it_came(bot: PollBot) -> None:
    bot.sync()
    posted = await bot.open_poll(f"{DAYS} | closes in 2h")
    closes = T0 + timedelta(hours=2)
    early = bot.answer_poll(posted.start, "a2", sender=PAT, at=closes + timedelta(days=1))
    bot.message("1", sender=SAM, reply_to=posted.companion)
    bot.answer_poll(posted.start, "a1", sender=SAM, at=T0 - timedelta(days=1))  # claims older
    await bot.run()
    assert bot.replies_to(early) == []
    bot.at(closes + timedelta(minutes=1))
    await bot.tick()
    # Sam's tap came after the reply, so it is Sam's latest answer, whatever it claims.
    assert bot.poll().results == {"a1": 1, "a2": 1}


async def test_an_answer_fetched_at_the_close_is_timed_after_the_last_sync(bot: PollBot) -> None:
    """Fetched at the close, an answer the bot never saw came after its latest sync:
    with the bot running, that is after the close, whatever the answer claims."""
    bot.sync()
    posted = await bot.open_poll()
    await bot.ask("!poll close", sender=CHRIS)
    bot.adapter.answers[posted.start] = [
        PollAnswer("$claims-early", GROUP, PAT, posted.start, ("a2",), ms(T0)),
    ]
    await bot.tick()
    assert bot.poll().results == {"a1": 0, "a2": 0}


async def test_an_answer_fetched_after_a_time_away_keeps_its_time_within_it(
    bot: PollBot,
) -> None:
    posted = await bot.open_poll(f"{DAYS} | closes in 2h")
    bot.sync()  # the last sync before the bot stopped, an hour before the close
    bot.at(T0 + timedelta(hours=1))
    bot.sync()
    closes = T0 + timedelta(hours=2)
    bot.adapter.answers[posted.start] = [
        PollAnswer("$in-time", GROUP, PAT, posted.start, ("a2",), ms(closes) - 60_000),
        PollAnswer("$too-early", GROUP, LEE, posted.start, ("a1",), ms(T0)),  # before that sync
        PollAnswer("$late", GROUP, SAM, posted.start, ("a1",), ms(closes) + 60_000),
    ]
    bot.at(closes + timedelta(hours=3))  # back after the close
    await bot.tick()
    # Lee's answer cannot be from before the bot's last sync: it counts as sent just after.
    assert bot.poll().results == {"a1": 1, "a2": 1}


async def test_closing_waits_until_the_poll_has_been_posted(bot: PollBot) -> None:
    await bot.ask(f"!poll {DAYS} | closes in 2h", sender=CHRIS)
    bot.clock.time = T0 + timedelta(hours=2)
    assert await bot.tick() == 1  # tried, and put off
    assert bot.jobs() == [
        ("poll.close", "1", (bot.clock.time + timedelta(minutes=1)).timestamp(), "pending", 1)
    ]
    assert bot.poll().state == "open"
    assert not [o for o in bot.outbox() if o.kind == "poll_end"]

    deliver(bot.store)
    bot.later(minutes=1)
    assert await bot.tick() == 1
    assert bot.poll().state == "closed"


# ----- replay -------------------------------------------------------------------------------


async def test_the_same_events_again_change_nothing(bot: PollBot) -> None:
    posted = await bot.open_poll("Which days? | Monday | Tuesday | Wednesday | up to 2")
    events = [
        bot.answer_poll(posted.start, "a1", sender=SAM),
        bot.message("2, 3", sender=PAT, reply_to=posted.companion),
        bot.react(posted.companion, "3️⃣", sender=LEE),
        bot.message("Monday I think", sender=LEE, reply_to=posted.companion),
    ]
    events.append(bot.remove(events[2], sender=LEE))
    await bot.run()

    def snapshot() -> tuple[Any, ...]:
        return (
            bot.db.execute("SELECT * FROM poll_votes ORDER BY event_id").fetchall(),
            [(o.room_id, o.body, o.reply_to) for o in bot.outbox()],
        )

    before = snapshot()
    assert bot.again(*events) == 0  # the same events come again from sync
    assert await bot.run() == 0
    assert snapshot() == before

    # Even handled a second time, an answer is stored once: votes are keyed by event ID.
    votes = events[:3] + events[4:]
    with bot.store.write() as db:
        for event_id in votes:
            db.execute("UPDATE inbox SET state = 'pending' WHERE event_id = ?", [event_id])
    assert await bot.run() == 4
    assert snapshot() == before
    assert await bot.live() == ({"Monday": 1, "Tuesday": 1, "Wednesday": 1}, 2)


# ----- secret ballots -----------------------------------------------------------------------

ROWAN = person_named("rowan")
SKYE = person_named("skye")
TARIQ = person_named("tariq")
VOTERS = (ROWAN, SKYE, TARIQ)
MOTION = "Should we move the meeting?"
PLANS = ("Plan Walnut", "Plan Hazel", "Plan Cedar")
SECRET = f"secret {MOTION} | " + " | ".join(PLANS)


@dataclass(frozen=True)
class Ballot:
    room_id: str
    start: str
    companion: str


async def send_ballots(bot: PollBot) -> dict[str, Ballot]:
    """Start a secret ballot, send everyone their ballot, and deliver it all."""
    bot.adapter.members[GROUP] = {BOT, *VOTERS}
    assert await bot.ask(f"!poll {SECRET}", sender=CHRIS) == []
    deliver(bot.store)
    assert await bot.tick() == 1
    sent = deliver(bot.store)
    rows = bot.db.execute(
        "SELECT voter, start_txn, companion_txn FROM poll_ballots ORDER BY voter"
    ).fetchall()
    return {
        voter: Ballot(rooms.find_direct(bot.db, voter) or "", sent[start], sent[companion])
        for voter, start, companion in rows
    }


def held(bot: PollBot) -> set[str]:
    """The ballot answers waiting for the close (their event IDs)."""
    return {e for (e,) in bot.db.execute("SELECT answer_event FROM poll_ballots") if e}


def links(bot: PollBot) -> list[tuple[str, str, tuple[Any, ...]]]:
    """Every table row that names a voter together with an answer (its ID, label or number)."""
    answers = [f'"{a}"' for a in ("a1", "a2", "a3")] + list(PLANS)
    keycaps = ["1️⃣", "2️⃣", "3️⃣", "1\u20e3", "2\u20e3", "3\u20e3"]
    found = []
    tables = [r[0] for r in bot.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in bot.db.execute(f"SELECT * FROM [{table}]"):
            cells = [str(cell) for cell in row]
            text = "\n".join(cells)
            named = [v for v in VOTERS if v in text]
            chosen = [a for a in answers + keycaps if a in text] + [
                c for c in cells if c in ("a1", "a2", "a3")
            ]
            if named and chosen:
                found.append((table, named[0], tuple(row)))
    return found


async def test_a_secret_ballot(bot: PollBot) -> None:
    assert await bot.ask(f"!poll {SECRET}", sender=CHRIS) == []
    (announcement,) = bot.outbox()
    assert (announcement.room_id, announcement.body) == (
        GROUP,
        say("poll.secret_announce", number=1, question=MOTION),
    )
    assert bot.jobs() == [("poll.ballots", "1", T0.timestamp(), "pending", 0)]
    deliver(bot.store)

    # The ballots go out: a direct chat, a poll and its numbered message for each person.
    bot.adapter.members[GROUP] = {BOT, *VOTERS}
    mark = len(bot.outbox())
    assert await bot.tick() == 1
    queued = bot.after(mark)
    assert [(o.action, o.room_id, o.kind) for o in queued] == [
        step for voter in VOTERS for step in ballot_steps(voter)
    ]
    ballot_text = "\n".join(
        [
            say("poll.ballot_intro", number=1),
            *(f"{n}. {plan}" for n, plan in enumerate(PLANS, 1)),
            "",
            say("poll.ballot_how_to_answer"),
        ]
    )
    assert {o.body for o in queued if o.kind == "text"} == {ballot_text}
    polls = [o.poll for o in queued if o.poll]
    assert [[label for _, label in p.answers] for p in polls] == [list(PLANS)] * 3
    sent = deliver(bot.store)
    rows = bot.db.execute("SELECT voter, start_txn, companion_txn FROM poll_ballots").fetchall()
    ballots = {v: Ballot(rooms.find_direct(bot.db, v) or "", sent[s], sent[c]) for v, s, c in rows}
    assert sorted(ballots) == sorted(VOTERS)
    assert len({b.room_id for b in ballots.values()}) == 3

    # Rowan taps a choice on the ballot: only that he has voted is stored.
    rowan = ballots[ROWAN]
    mark = len(bot.outbox())
    vote = bot.answer_poll(rowan.start, "a2", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    assert voted(bot) == {ROWAN: 1, SKYE: 0, TARIQ: 0}
    assert held(bot) == {vote}
    assert bot.kept(vote) == "nothing"
    assert bot.count("inbox", "event LIKE '%\"a2\"%'") == 0
    assert [said(o) for o in bot.after(mark)] == [
        notice(rowan.room_id, say("poll.ballot_counted", number=1)),
    ]
    assert bot.count("poll_votes") == 0

    # Skye replies with a number; Tariq reacts with one.
    skye, tariq = ballots[SKYE], ballots[TARIQ]
    reply = bot.message("1", sender=SKYE, reply_to=skye.companion, room_id=skye.room_id)
    reaction = bot.react(tariq.companion, "2️⃣", sender=TARIQ, room_id=tariq.room_id)
    await bot.run()
    assert voted(bot) == {ROWAN: 1, SKYE: 1, TARIQ: 1}
    assert held(bot) == {vote, reply, reaction}
    assert bot.kept(reply) == bot.kept(reaction) == "nothing"
    assert [o for o in bot.outbox() if o.kind == "removal"] == []  # until they are counted
    assert bot.poll().results is None
    deliver(bot.store)

    # While it is open, only how many have voted: totals that move with each vote
    # would tell who chose what.
    assert await bot.ask("!poll results", sender=SKYE) == [
        say("poll.secret_so_far", number=1, count=3)
    ]
    mark = len(bot.outbox())
    assert await bot.close() == [say("poll.closing", number=1)]
    closing = bot.after(mark)[1:]  # after the reply to the command
    # All answers are counted at once, then deleted from the chat.
    assert sorted((o.room_id, o.target) for o in closing if o.kind == "removal") == (
        sorted([(rowan.room_id, vote), (skye.room_id, reply), (tariq.room_id, reaction)])
    )
    assert held(bot) == set()
    ends = [o for o in closing if o.kind == "poll_end"]
    assert sorted((o.room_id, o.target) for o in ends) == sorted(
        (b.room_id, b.start) for b in ballots.values()
    )
    assert {(o.results or {}).get("a2") for o in ends} == {2}
    assert closing[-1].room_id == GROUP
    assert closing[-1].body == "\n".join(
        [
            say("poll.closed_title", number=1, question=MOTION),
            "Plan Walnut: 1 (33%) ███░░░░░░░",
            "Plan Hazel: 2 (67%) ███████░░░",
            "Plan Cedar: 0 (0%) ░░░░░░░░░░",
            say("poll.turnout", voters=3, members=3, percent=100),
        ]
    )
    deliver(bot.store)

    # Nothing anywhere in the database ties a person to what they chose.
    assert links(bot) == []


def ballot_steps(voter: str) -> list[tuple[str, str, str | None]]:
    return [
        ("create_dm", voter, "create_dm"),
        ("send", voter, "poll"),
        ("send", voter, "text"),
    ]


def voted(bot: PollBot) -> dict[str, int]:
    return dict(bot.db.execute("SELECT voter, voted FROM poll_ballots"))


Said = tuple[str, str, str | None, str | None, str | None, tuple[str, ...], bool]


def said(o: Out) -> Said:
    """(kind, room, words, reply to, thread, mentions, notice) or, for a removal, its target
    in place of the words: all there is to an outbox row of those kinds."""
    words = o.target if o.kind == "removal" else o.body
    return (o.kind, o.room_id, words, o.reply_to, o.thread, o.mentions, o.notice)


def notice(room_id: str, text: str) -> Said:
    """The bot's words on their own: not a reply, pinging nobody."""
    return ("text", room_id, text, None, None, (), True)


def removal(room_id: str, event_id: str) -> Said:
    return ("removal", room_id, event_id, None, None, (), False)


async def test_a_secret_announcement_takes_no_answers(bot: PollBot) -> None:
    await send_ballots(bot)
    (announcement,) = [o for o in bot.outbox() if o.room_id == GROUP]
    event = bot.db.execute("SELECT result FROM outbox WHERE id = ?", [announcement.id]).fetchone()[
        0
    ]
    reply = bot.message("2", sender=ROWAN, reply_to=event)
    bot.react(event, "1️⃣", sender=SKYE)
    await bot.run()
    assert bot.replies_to(reply) == []
    assert set(voted(bot).values()) == {0}


async def test_a_second_secret_vote_is_refused_and_leaves_no_trace(bot: PollBot) -> None:
    ballots = await send_ballots(bot)
    rowan = ballots[ROWAN]
    bot.answer_poll(rowan.start, "a2", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    deliver(bot.store)

    mark = len(bot.outbox())
    tap = bot.answer_poll(rowan.start, "a3", sender=ROWAN, room_id=rowan.room_id)
    reply = bot.message("3", sender=ROWAN, reply_to=rowan.companion, room_id=rowan.room_id)
    await bot.run()
    refused = notice(rowan.room_id, say("poll.already_voted", number=1))
    assert [said(o) for o in bot.after(mark)] == [
        refused,
        removal(rowan.room_id, tap),
        refused,
        removal(rowan.room_id, reply),
    ]
    assert len(held(bot)) == 1
    assert voted(bot)[ROWAN] == 1
    assert bot.kept(tap) == bot.kept(reply) == "nothing"
    assert links(bot) == []


async def test_a_ballot_answer_after_the_close_leaves_no_trace(bot: PollBot) -> None:
    ballots = await send_ballots(bot)
    await bot.close()
    skye = ballots[SKYE]
    late = bot.answer_poll(skye.start, "a3", sender=SKYE, room_id=skye.room_id)
    await bot.run()
    assert bot.replies_to(late) == [say("poll.closed_told", number=1)]
    assert links(bot) == []


async def test_a_ballot_answer_in_words_is_not_kept(bot: PollBot) -> None:
    ballots = await send_ballots(bot)
    skye = ballots[SKYE]
    reply = bot.message(
        "Plan Hazel please", sender=SKYE, reply_to=skye.companion, room_id=skye.room_id
    )
    await bot.run()
    assert bot.replies_to(reply) == [say("poll.reply_hint")]
    assert links(bot) == []


def database_text(bot: PollBot) -> list[str]:
    """Every row of every table, with wall-clock times and transaction IDs blanked out."""
    stamp = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\.\d+\+00:00|copro-[0-9a-f]{32}")
    return [stamp.sub("X", line) for line in bot.db.conn.iterdump()]


async def test_until_the_close_the_database_is_the_same_whatever_people_chose(
    make_pollbot: Any,
) -> None:
    dumps = []
    for first, second, third in (("a1", "2", "3️⃣"), ("a3", "1", "2️⃣")):
        bot = make_pollbot()
        ballots = await send_ballots(bot)
        rowan, skye, tariq = ballots[ROWAN], ballots[SKYE], ballots[TARIQ]
        bot.answer_poll(rowan.start, first, sender=ROWAN, room_id=rowan.room_id)
        await bot.run()
        bot.message(second, sender=SKYE, reply_to=skye.companion, room_id=skye.room_id)
        bot.react(tariq.companion, third, sender=TARIQ, room_id=tariq.room_id)
        await bot.run()
        deliver(bot.store)
        dumps.append(database_text(bot))
    assert dumps[0] == dumps[1]


async def test_a_ballot_answer_is_not_lost_when_the_bot_stops(bot: PollBot) -> None:
    ballots = await send_ballots(bot)
    rowan, skye, tariq = ballots[ROWAN], ballots[SKYE], ballots[TARIQ]
    # Rowan's answer reaches the inbox (a stub) but the bot stops before handling it.
    first = bot.answer_poll(rowan.start, "a3", sender=ROWAN, room_id=rowan.room_id)
    bot.restart()
    assert await bot.run() == 1  # it cannot be handled from a stub: it waits...
    assert voted(bot)[ROWAN] == 0
    await bot.adapter.recall_sealed()  # ...for the homeserver (as the bot does at start-up)
    assert await bot.run() == 1
    assert voted(bot)[ROWAN] == 1
    assert bot.replies_to(first) == []
    assert bot.outbox()[-1].body == say("poll.ballot_counted", number=1)
    # Skye's and Tariq's answers are handled, then the bot stops before the close.
    bot.message("3", sender=SKYE, reply_to=skye.companion, room_id=skye.room_id)
    bot.react(tariq.companion, "1️⃣", sender=TARIQ, room_id=tariq.room_id)
    await bot.run()
    deliver(bot.store)
    bot.restart()
    await bot.close()  # the answers are read again from the homeserver
    assert bot.poll().results == {"a1": 1, "a2": 0, "a3": 2}
    assert bot.poll().voters == 3
    assert bot.poll().sources is None  # a secret ballot keeps nothing of how anyone answered
    assert links(bot) == []


async def test_a_message_not_yet_readable_from_someone_who_may_vote_is_not_stored(
    bot: PollBot,
) -> None:
    """Its key is on disk (nio keeps it), so its ciphertext must not be: it may be a vote."""
    ballots = await send_ballots(bot)
    rowan = ballots[ROWAN]
    locked = bot.locked("Plan Cedar", sender=ROWAN, room_id=rowan.room_id)
    assert bot.kept(locked) == "nothing"
    await bot.run()  # it waits for its key, in memory only
    assert bot.db.execute("SELECT state FROM inbox WHERE event_id = ?", [locked]).fetchone() == (
        "locked",
    )
    bot.answer_poll(rowan.start, "a1", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    # Once Rowan has voted, what Rowan sends there is stored as usual.
    later = bot.locked("Plan Cedar", sender=ROWAN, room_id=rowan.room_id)
    assert bot.kept(later) == "all"


async def test_a_ballot_open_across_an_upgrade_keeps_the_votes_counted_before(
    bot: PollBot,
) -> None:
    """An older version added each vote to running totals; those still count."""
    ballots = await send_ballots(bot)
    with bot.store.write() as db:
        db.execute("UPDATE poll_ballots SET voted = 1 WHERE voter = ?", [ROWAN])
        for answer, n in (("a1", 0), ("a2", 1), ("a3", 0)):
            db.execute("INSERT INTO poll_tally VALUES (1, ?, ?)", [answer, n])
    skye = ballots[SKYE]
    bot.answer_poll(skye.start, "a3", sender=SKYE, room_id=skye.room_id)
    await bot.run()
    deliver(bot.store)
    await bot.close()
    assert bot.poll().results == {"a1": 0, "a2": 1, "a3": 1}
    assert bot.poll().voters == 2


async def test_deleting_a_ballot_answer_before_the_close_takes_the_vote_back(
    bot: PollBot,
) -> None:
    ballots = await send_ballots(bot)
    rowan = ballots[ROWAN]
    first = bot.answer_poll(rowan.start, "a3", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    bot.remove(first, sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    assert voted(bot)[ROWAN] == 0
    bot.answer_poll(rowan.start, "a1", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    deliver(bot.store)
    await bot.close()
    assert bot.poll().results == {"a1": 1, "a2": 0, "a3": 0}


async def test_forget_me_before_the_close_deletes_the_answer_from_the_chat(bot: PollBot) -> None:
    ballots = await send_ballots(bot)
    rowan = ballots[ROWAN]
    answer = bot.answer_poll(rowan.start, "a3", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    bot.message("!forget me", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    bot.message("1", sender=ROWAN, room_id=rowan.room_id)
    await bot.run()
    removals = [o for o in bot.outbox() if o.kind == "removal"]
    assert [(o.room_id, o.target) for o in removals] == [(rowan.room_id, answer)]
    assert ROWAN not in voted(bot)


async def test_secret_results_name_every_answer_in_order(bot: PollBot) -> None:
    ballots = await send_ballots(bot)
    bot.answer_poll(ballots[ROWAN].start, "a2", sender=ROWAN, room_id=ballots[ROWAN].room_id)
    await bot.run()
    bot.answer_poll(ballots[SKYE].start, "a1", sender=SKYE, room_id=ballots[SKYE].room_id)
    await bot.run()
    deliver(bot.store)
    await bot.close()
    (end, *_) = [o for o in bot.outbox() if o.kind == "poll_end"]
    assert list((end.results or {}).items()) == [("a1", 1), ("a2", 1), ("a3", 0)]
    assert end.body == say("poll.ended_tie", top="Plan Walnut, Plan Hazel")  # a tie, in words


# ----- answers still waiting in the inbox when the poll closes ------------------------------


async def test_an_on_time_reply_still_in_the_inbox_at_the_close_is_counted(bot: PollBot) -> None:
    posted = await bot.open_poll(f"{DAYS} | closes in 2h")
    closes = T0 + timedelta(hours=2)
    reply = bot.message("2", sender=SAM, reply_to=posted.companion, at=closes - timedelta(hours=1))
    bot.clock.time = closes + timedelta(hours=1)  # back up: the job is due before the backlog
    await bot.tick()
    assert bot.poll().results is None  # not yet: an answer from before the close still waits
    await bot.run()
    bot.clock.time += timedelta(seconds=5)
    await bot.tick()
    assert bot.replies_to(reply) == []
    assert bot.poll().results == {"a1": 0, "a2": 1}


async def test_an_answer_counted_at_the_close_is_not_called_uncounted(bot: PollBot) -> None:
    """An on-time answer the bot only sees after the close (a slow homeserver): the
    close fetches it through the relations API; when it arrives later, it is not
    called too late."""
    posted = await bot.open_poll(f"{DAYS} | closes in 2h")
    closes = T0 + timedelta(hours=2)
    on_time = closes - timedelta(hours=1)
    tap = bot.answer_poll(posted.start, "a2", sender=SAM, at=on_time, arrives=False)
    bot.adapter.answers[posted.start] = [
        PollAnswer(tap, GROUP, SAM, posted.start, ("a2",), ms(on_time))
    ]
    bot.clock.time = closes + timedelta(hours=1)
    await bot.tick()
    assert bot.poll().results == {"a1": 0, "a2": 1}  # counted...
    bot.arrive(tap)
    await bot.run()
    assert bot.replies_to(tap) == []  # ...so not "I can't count this answer"
