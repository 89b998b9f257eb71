"""The dashboard's workshops pages: answers, the waiting list in order, the
organiser's access-needs checklist (the same as ``!workshop needs``), who came
and the training report (the same as ``!training``); champions see only the
workshops they organise, and access needs only there."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from webclient import HOSTILE, Browser, serving, table

from localbot import ALICE, CHRIS, DANA, LEE, PAT, SAM, LocalBot, make_bots, person_named, say
from storage import workshops as store
from storage.export import pseudonym, pseudonym_secret

KIM = person_named("kim")
TRAINING = "!workshop new Basics | 3/6 14:00 | Town Hall | capacity 2 | training level 1"


class WorkshopBot(LocalBot):
    """Two champions; whatever the bot queues is sent at once."""

    champions = (CHRIS, DANA)

    async def run(self) -> int:
        handled = await super().run()
        self.deliver()
        return handled

    async def announce(self, command: str = TRAINING, *, sender: str = CHRIS) -> int:
        assert await self.ask(command, sender=sender) == []
        return int(self.db.execute("SELECT max(id) FROM workshops").fetchone()[0])


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[WorkshopBot]:
    with make_bots(WorkshopBot, tmp_path) as make:
        yield make()


@pytest.fixture
async def web(bot: WorkshopBot) -> AsyncIterator[Browser]:
    async with serving(bot) as browser:
        yield browser


async def answers_and_needs(bot: WorkshopBot, number: int) -> None:
    """Sam and Pat take the two places, Lee and Kim wait (in that order), Dana
    may come, Alice can't; Sam and Pat say what they need."""
    for person in (SAM, PAT, LEE, KIM):
        await bot.ask(f"!going {number}", sender=person)
    await bot.ask(f"!maybe {number}", sender=DANA)
    await bot.ask(f"!cantgo {number}", sender=ALICE)
    await bot.tell_dm(SAM, "1 and 3")
    await bot.tell_dm(PAT, "2, 7")
    await bot.tell_dm(PAT, HOSTILE[1])


async def test_a_workshop_shows_its_answers_needs_and_who_came(
    bot: WorkshopBot, web: Browser
) -> None:
    number = await bot.announce()
    await answers_and_needs(bot, number)
    mark = bot.mark()
    await bot.ask(f"!workshop needs {number}", sender=CHRIS)
    checklist = max((o.body for o in bot.after(mark)), key=len)  # the reply is short
    told = {
        m["label"]: int(m["count"] or 0)
        for m in re.finditer(
            r"^(?P<label>[^:\n]+): (?:(?P<count>\d+) \(.*\)|nobody)$", checklist, re.M
        )
    }
    secret = pseudonym_secret(bot.config.storage.data_dir)
    name = {p: pseudonym(secret, p) for p in (SAM, PAT, LEE, KIM, DANA, ALICE)}

    web.sign_in(CHRIS)
    assert await web.get(f"/workshops/{number}") == 200
    assert table(web.page, "answers") == [
        ["Going, with a place", "2", f"{name[SAM]}, {name[PAT]}"],
        ["Going, on the waiting list", "2", f"{name[LEE]}, {name[KIM]}"],
        ["Maybe", "1", name[DANA]],
        ["Can't come", "1", name[ALICE]],
    ]
    assert re.findall(r"<li>(.*?)</li>", web.page.split('id="waiting"')[1].split("</ol>")[0]) == [
        name[LEE],
        name[KIM],
    ]
    needs = {row[0]: int(row[1]) for row in table(web.page, "needs")}
    assert needs == told
    assert needs[say("workshop.need.bsl")] == needs[say("workshop.need.loop")] == 1
    assert [row[0] for row in table(web.page, "needs-words")] == [name[PAT]]
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in web.page and "<img" not in web.page
    for person in (SAM, PAT, LEE):
        assert person not in web.page  # pseudonyms only

    # After it, who came; and the team's training report is the one !training gives.
    bot.at(datetime(2026, 6, 3, 17, 0, tzinfo=UTC))
    await bot.ask("!myteam Adult Social Care", sender=SAM)
    await bot.ask(f"!attended {number} {SAM} {PAT}", sender=CHRIS)
    web.sign_in(CHRIS)  # hours later: a new session
    assert await web.get(f"/workshops/{number}") == 200
    assert say("web.workshops.came", count=2) in web.page
    (report,) = await bot.ask("!training", sender=ALICE)
    assert say("workshop.training_report_level", level=1, count=2) in report.split("\n")
    assert say("workshop.training_no_team", count=1) in report.split("\n")
    assert await web.get("/workshops") == 200  # Chris is a champion: no training report
    assert table(web.page, "workshops")[0][4] == "2 of 2"  # places taken
    assert 'id="training-levels"' not in web.page
    web.sign_in(ALICE)
    assert await web.get("/workshops") == 200
    assert table(web.page, "training-levels") == [
        ["Level 1", "2"],
        ["Level 2", "0"],
        ["Level 3", "0"],
    ]
    assert table(web.page, "training-teams") == [["Adult Social Care", "1", "0", "0"]]
    assert say("web.workshops.training_no_team", count=1) in web.page


async def test_champions_see_their_own_workshops_members_none(
    bot: WorkshopBot, web: Browser
) -> None:
    mine = await bot.announce("!workshop new Mine | 3/6 14:00 | Town Hall")
    theirs = await bot.announce("!workshop new Theirs | 4/6 14:00 | Town Hall", sender=DANA)
    await bot.ask(f"!going {theirs}", sender=SAM)
    await bot.tell_dm(SAM, "I use a wheelchair, and a quiet room please")
    web.sign_in(CHRIS)
    assert await web.get("/workshops") == 200
    assert ">Mine<" in web.page and ">Theirs<" not in web.page
    assert await web.get(f"/workshops/{mine}") == 200
    assert await web.get(f"/workshops/{theirs}") == 403
    assert "quiet room" not in web.page and "Theirs" not in web.page
    assert await web.get("/workshops/999") == 404
    web.sign_in(ALICE)
    assert await web.get("/workshops") == 200
    assert ">Mine<" in web.page and ">Theirs<" in web.page
    assert await web.get(f"/workshops/{theirs}") == 200
    assert "I use a wheelchair, and a quiet room please" in web.page
    web.sign_in(SAM)
    for path in ("/workshops", f"/workshops/{mine}"):
        assert await web.get(path) == 403


async def test_a_hostile_title_and_access_need_show_as_text(bot: WorkshopBot, web: Browser) -> None:
    number = await bot.announce(f"!workshop new {HOSTILE[0]} | 3/6 14:00 | {HOSTILE[2]}")
    await bot.ask(f"!going {number}", sender=SAM)
    await bot.tell_dm(SAM, "7")  # something else: in their own words
    await bot.tell_dm(SAM, HOSTILE[0])
    assert store.needs(bot.db, number, SAM).words == HOSTILE[0]  # type: ignore[union-attr]
    web.sign_in(ALICE)
    for path in ("/workshops", f"/workshops/{number}"):
        assert await web.get(path) == 200
        assert "<script" not in web.page and "\u202e" not in web.page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in web.page
        assert "abc[U+202E]txt.exe" in web.page


async def test_looking_changes_nothing(bot: WorkshopBot, web: Browser) -> None:
    number = await bot.announce()
    await answers_and_needs(bot, number)
    web.sign_in(ALICE)
    before = list(bot.db.conn.iterdump())
    for path in ("/workshops", f"/workshops/{number}", "/workshops/999"):
        await web.get(path)
    assert list(bot.db.conn.iterdump()) == before
