"""The dashboard's "Who takes part" page (team only): where people live and how
they are involved, exactly as ``!impact`` reports them, groups under five
hidden."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from webclient import HOSTILE, Browser, serving, table

from localbot import ALICE, CHRIS, SAM, LocalBot, make_bots, person_named, say
from storage import profiles

AREAS = ["Cherwell", "Oxford"]


class PeopleBot(LocalBot):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory, settings=f"[projects]\nareas = {json.dumps(AREAS)}\n")

    async def about(self, person: str, area: str, how: str) -> None:
        """The person types ``!aboutme`` in the group and answers its two questions."""
        await self.ask("!aboutme", sender=person)
        self.deliver()  # the question opens a direct chat
        await self.tell_dm(person, area)
        await self.tell_dm(person, how)


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[PeopleBot]:
    with make_bots(PeopleBot, tmp_path) as make:
        yield make()


@pytest.fixture
async def web(bot: PeopleBot) -> AsyncIterator[Browser]:
    async with serving(bot) as browser:
        yield browser


def impact_lines(report: str, title_key: str) -> list[list[str]]:
    """The group lines under one heading of ``!impact``, as [group, count]."""
    block = report.split(say(title_key), 1)[1].strip("\n").split("\n\n")[0]
    return [line.rsplit(": ", 1) for line in block.split("\n")]


async def test_the_numbers_are_those_impact_gives_small_groups_hidden(
    bot: PeopleBot, web: Browser
) -> None:
    people = [person_named(f"p{n}") for n in range(6)]
    for person in people[:5]:
        await bot.about(person, "Oxford", "2")  # a carer
    await bot.about(people[5], "Cherwell", "1 and 3")  # uses services, council staff
    (report,) = await bot.ask("!impact", sender=ALICE)
    areas = impact_lines(report, "impact.areas_title")
    how = impact_lines(report, "impact.relationships_title")
    fewer = say("impact.fewer_than", least=5)
    assert areas == [["Cherwell", fewer], ["Oxford", "5"]]
    assert how == [
        [say("impact.uses_services"), fewer],
        [say("impact.carer"), "5"],
        [say("impact.council_staff"), fewer],
    ]
    web.sign_in(ALICE)
    assert await web.get("/people") == 200
    assert table(web.page, "areas") == areas
    assert table(web.page, "relationships") == how
    assert say("impact.hidden_note", least=5) in html.unescape(web.page)


async def test_nobody_has_said_yet(web: Browser) -> None:
    web.sign_in(ALICE)
    assert await web.get("/people") == 200
    assert web.page.count(say("impact.nobody_said")) == 2


async def test_only_the_team_sees_it(web: Browser) -> None:
    for person in (CHRIS, SAM):
        web.sign_in(person)
        assert await web.get("/people") == 403
    web.sign_in(CHRIS)
    assert await web.get("/") == 200
    assert 'href="/people"' not in web.page  # not in a champion's menu
    web.sign_in(ALICE)
    assert await web.get("/") == 200
    assert 'href="/people"' in web.page


async def test_an_area_in_hostile_words_shows_as_text(bot: PeopleBot, web: Browser) -> None:
    with bot.store.write() as db:  # as an area a person typed before the list was set
        profiles.save(db, SAM, area=HOSTILE[0])
    web.sign_in(ALICE)
    assert await web.get("/people") == 200
    assert "<script" not in web.page and "&lt;script&gt;" in web.page


async def test_looking_changes_nothing(bot: PeopleBot, web: Browser) -> None:
    await bot.about(SAM, "Oxford", "2")
    web.sign_in(ALICE)
    before = list(bot.db.conn.iterdump())
    await web.get("/people")
    assert list(bot.db.conn.iterdump()) == before
