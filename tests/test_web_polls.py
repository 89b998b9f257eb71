"""The dashboard's polls pages: the numbers are those ``!poll results`` gives,
hidden results and open secret ballots follow its rules, champions see only
their own polls, and people's words show as words."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from webclient import HOSTILE, Browser, serving, table

from localbot import ALICE, BOT, CHRIS, DANA, GROUP, LEE, PAT, SAM, LocalBot, make_bots, say
from storage import polls as poll_store

DAYS = "Which day suits you? | Tuesday | Thursday"
LINE = re.compile(r"^(?P<label>.+): (?P<count>\d+) \((?P<percent>\d+)%\) [█░]{10}$")


class PollBot(LocalBot):
    champions = (CHRIS, DANA)

    def __init__(self, directory: Path, **options: Any) -> None:
        super().__init__(directory, **options)
        self.sent: dict[str, str] = {}  # what was sent: {txn ID: event ID}

    async def start_poll(self, text: str = DAYS, *, sender: str = CHRIS) -> poll_store.Poll:
        """``!poll`` in the group; its messages sent. Returns the poll."""
        assert await self.ask(f"!poll {text}", sender=sender) == []
        poll = poll_store.newest_in_room(self.db, GROUP)
        assert poll is not None
        self.sent.update(self.deliver())
        return poll

    def posted(self, poll: poll_store.Poll) -> tuple[str, str]:
        """(the poll's event, its numbered companion message's event)."""
        fresh = poll_store.get(self.db, poll.id)
        assert fresh and fresh.start_txn and fresh.companion_txn
        return self.sent[fresh.start_txn], self.sent[fresh.companion_txn]

    async def results(self, number: int) -> tuple[list[tuple[str, int, int]], str]:
        """What ``!poll results`` says: (answer, count, percent) each, and its last line."""
        (text,) = await self.ask(f"!poll results {number}", sender=LEE)
        lines = text.split("\n")
        found = [
            (m["label"], int(m["count"]), int(m["percent"])) for m in map(LINE.match, lines) if m
        ]
        return found, lines[-1]


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[PollBot]:
    with make_bots(PollBot, tmp_path) as make:
        made = make()
        made.adapter.members[GROUP] = {BOT, CHRIS, SAM, PAT, LEE}
        yield made


@pytest.fixture
async def web(bot: PollBot) -> AsyncIterator[Browser]:
    async with serving(bot) as browser:
        yield browser


def snapshot(bot: LocalBot) -> list[str]:
    return list(bot.db.conn.iterdump())


async def answer_three_ways(bot: PollBot, poll: poll_store.Poll) -> None:
    start, companion = bot.posted(poll)
    bot.answer_poll(start, "a2", sender=SAM)  # a tap
    bot.message("1", sender=PAT, reply_to=companion)  # a numbered reply
    bot.react(companion, "2️⃣", sender=LEE)  # a number reaction
    await bot.run()


async def test_a_poll_shows_the_numbers_poll_results_gives_and_how_people_answered(
    bot: PollBot, web: Browser
) -> None:
    poll = await bot.start_poll()
    await answer_three_ways(bot, poll)
    chat, last = await bot.results(poll.id)
    assert chat == [("Tuesday", 1, 33), ("Thursday", 2, 67)]
    web.sign_in(ALICE)
    assert await web.get(f"/polls/{poll.id}") == 200
    assert table(web.page, "result") == [[label, str(n), f"{p}%"] for label, n, p in chat]
    assert last == say("poll.answered_so_far", count=3)
    # The chart beside the table: its own title, and the same numbers as text.
    svg = web.page.split('<div class="chart">', 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg and say("web.polls.chart_title", number=poll.id) in svg
    assert re.findall(r"<title>(.*?)</title>", svg) == ["Tuesday: 1", "Thursday: 2"]
    assert say("web.polls.answered_so_far", count=3) in web.page
    assert table(web.page, "ways") == [
        ["Tapped a choice in the poll", "1"],
        ["Sent a number as a reply", "1"],
        ["Sent a number as a reaction", "1"],
    ]

    # Closed: the final count, out of the people in the room, as the chat says it.
    assert await bot.ask(f"!poll close {poll.id}", sender=CHRIS) == [say("poll.closing", number=1)]
    bot.later(seconds=5)
    await bot.tick()
    chat, last = await bot.results(poll.id)
    assert await web.get(f"/polls/{poll.id}") == 200
    assert table(web.page, "result") == [[label, str(n), f"{p}%"] for label, n, p in chat]
    assert last.startswith("3 of 4 people")
    assert say("web.polls.turnout", count=3, could=4, percent=75) in web.page
    assert table(web.page, "ways")[1] == ["Sent a number as a reply", "1"]


async def test_a_poll_closed_before_the_ways_were_kept_says_not_recorded(
    bot: PollBot, web: Browser
) -> None:
    poll = await bot.start_poll()
    with bot.store.write() as db:  # as an older version closed it
        poll_store.finish(db, poll.id, {"a1": 2, "a2": 1}, 3, 4)
    web.sign_in(ALICE)
    assert await web.get(f"/polls/{poll.id}") == 200
    assert table(web.page, "result") == [["Tuesday", "2", "67%"], ["Thursday", "1", "33%"]]
    assert say("web.polls.ways_not_recorded") in web.page
    assert 'id="ways"' in web.page and '<table id="ways">' not in web.page


async def test_hidden_results_show_only_after_the_close(bot: PollBot, web: Browser) -> None:
    poll = await bot.start_poll(f"{DAYS} | hidden")
    start, _ = bot.posted(poll)
    bot.answer_poll(start, "a1", sender=SAM)
    await bot.run()
    assert await bot.ask(f"!poll results {poll.id}", sender=LEE) == [
        say("poll.results_hidden", number=poll.id)
    ]
    web.sign_in(CHRIS)
    assert await web.get(f"/polls/{poll.id}") == 200
    assert say("web.polls.hidden") in web.page
    assert 'id="result"' not in web.page and 'id="turnout"' not in web.page
    assert "<svg" not in web.page
    await bot.ask(f"!poll close {poll.id}", sender=CHRIS)
    bot.later(seconds=5)
    await bot.tick()
    assert await web.get(f"/polls/{poll.id}") == 200
    assert table(web.page, "result") == [["Tuesday", "1", "100%"], ["Thursday", "0", "0%"]]


async def test_an_open_secret_ballot_shows_only_how_many_have_voted(
    bot: PollBot, web: Browser
) -> None:
    assert await bot.ask("!poll secret Move the meeting? | Yes | No", sender=CHRIS) == []
    bot.deliver()
    await bot.tick()  # the ballots go out
    sent = bot.deliver()
    ballot = bot.db.execute("SELECT start_txn FROM poll_ballots WHERE voter = ?", [SAM]).fetchone()
    room = bot.db.execute("SELECT room_id FROM rooms WHERE dm_with = ?", [SAM]).fetchone()
    bot.answer_poll(sent[ballot[0]], "a1", sender=SAM, room_id=room[0])
    await bot.run()
    assert await bot.ask("!poll results 1", sender=LEE) == [
        say("poll.secret_so_far", number=1, count=1)
    ]
    voted, ballots = poll_store.secret_turnout(bot.db, 1)
    web.sign_in(ALICE)
    assert await web.get("/polls/1") == 200
    assert say("web.polls.secret_open", count=voted, sent=ballots) in web.page
    assert (voted, 'id="result"' in web.page, 'id="ways"' in web.page) == (1, False, False)
    assert "<svg" not in web.page


async def test_champions_see_their_own_polls_members_none(bot: PollBot, web: Browser) -> None:
    mine = await bot.start_poll("Mine? | Yes | No", sender=CHRIS)
    theirs = await bot.start_poll("Theirs? | Yes | No", sender=DANA)
    web.sign_in(CHRIS)
    assert await web.get("/polls") == 200
    assert "Mine?" in web.page and "Theirs?" not in web.page
    assert await web.get(f"/polls/{mine.id}") == 200
    assert await web.get(f"/polls/{theirs.id}") == 403
    assert "Theirs?" not in web.page
    assert await web.get("/polls/999") == 404
    web.sign_in(ALICE)
    assert await web.get("/polls") == 200
    assert "Mine?" in web.page and "Theirs?" in web.page
    assert await web.get(f"/polls/{theirs.id}") == 200
    web.sign_in(SAM)
    for path in ("/polls", f"/polls/{mine.id}"):
        assert await web.get(path) == 403
    web.client.session.cookie_jar.clear()
    assert await web.get("/polls") == 403


async def test_hostile_words_in_a_poll_show_as_text(bot: PollBot, web: Browser) -> None:
    question, option = HOSTILE[0], HOSTILE[1]
    poll = await bot.start_poll(f"{question} | {option} | {HOSTILE[2]}")
    assert (poll.question, poll.labels[0]) == (question, option)
    web.sign_in(ALICE)
    for path in ("/polls", f"/polls/{poll.id}"):
        assert await web.get(path) == 200
        assert "<script" not in web.page and "<img" not in web.page
        assert "&lt;script&gt;" in web.page
        assert "\u202e" not in web.page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in web.page
    assert "abc[U+202E]txt.exe" in web.page


async def test_looking_changes_nothing(bot: PollBot, web: Browser) -> None:
    poll = await bot.start_poll()
    await answer_three_ways(bot, poll)
    web.sign_in(ALICE)
    before = snapshot(bot)
    for path in ("/polls", f"/polls/{poll.id}", "/polls/999"):
        await web.get(path)
    assert snapshot(bot) == before


async def test_the_list_pages_by_keyset(bot: PollBot, web: Browser) -> None:
    for n in range(1, 53):
        bot.message(f"!poll Question {n}? | Yes | No", sender=CHRIS)
    await bot.run()
    web.sign_in(CHRIS)
    assert await web.get("/polls") == 200
    shown = [int(n) for n in re.findall(r'href="/polls/(\d+)"', web.page)]
    assert shown == list(range(52, 2, -1))  # the newest 50
    assert 'href="/polls?before=3"' in web.page
    assert await web.get("/polls?before=3") == 200
    assert re.findall(r'href="/polls/(\d+)"', web.page) == ["2", "1"]
    assert "before=" not in web.page
    assert await web.get("/polls?before=nonsense") == 200  # the first page
    assert 'href="/polls/52"' in web.page
