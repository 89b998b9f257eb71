"""The dashboard's projects pages: stage, who is in it, invitations as
``!project`` counts them, and consents by the version of the terms people
agreed to; champions see only their own projects."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from webclient import HOSTILE, Browser, serving, table

from bot.messages import Entry, Messages
from localbot import ALICE, CHRIS, DANA, LEE, MESSAGES, PAT, SAM, LocalBot, make_bots, say
from storage import projects as store
from storage.export import pseudonym, pseudonym_secret

NAME = "Better buses"


class ProjectBot(LocalBot):
    champions = (CHRIS, DANA)

    async def new_project(
        self,
        name: str = NAME,
        *,
        about: str = "Buses that fit day centre times",
        sender: str = CHRIS,
    ) -> store.Project:
        """``!project new``; its room made. Returns the project."""
        await self.ask(f"!project new {name} | {about}", sender=sender)
        self.deliver()
        self.later(seconds=5)
        await self.tick()
        found = store.by_name(self.db, name)
        assert found is not None and found.state == "ready"
        return found

    async def invite(self, *people: str, name: str = NAME, sender: str = CHRIS) -> None:
        await self.ask(f"!invite {name} {' '.join(people)}", sender=sender)
        await self.tick()
        self.deliver()


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[ProjectBot]:
    with make_bots(ProjectBot, tmp_path, jobs_may_fail=False) as make:
        yield make()


@pytest.fixture
async def web(bot: ProjectBot) -> AsyncIterator[Browser]:
    async with serving(bot) as browser:
        yield browser


async def test_a_project_shows_what_the_chat_says_and_consents_by_terms(bot: ProjectBot) -> None:
    project = await bot.new_project()
    await bot.invite(SAM, LEE)
    await bot.tell_dm(SAM, "yes")
    # The terms change (the bot restarts with new words) before the others answer.
    new_words = "How we work together: we are equal partners. You can leave at any time."
    entries = {e.key: e for e in MESSAGES}
    entries["project.terms"] = Entry("project.terms", new_words)
    bot.restart(Messages(entries))
    await bot.invite(PAT)
    await bot.tell_dm(PAT, "yes")
    await bot.tell_dm(LEE, "no")

    (card,) = await bot.ask(f"!project {NAME}", sender=CHRIS)
    told = say("project.show_invitations", waiting=0, yes=2, no=1, unreachable=0)
    assert told in card and say("project.show_people", count=3) in card

    async with serving(bot) as web:  # over the restarted bot's database
        web.sign_in(CHRIS)
        assert await web.get(f"/projects/{project.id}") == 200
        assert re.search(r'id="member-count">3<', web.page)
        secret = pseudonym_secret(bot.config.storage.data_dir)
        for person in (CHRIS, SAM, PAT):
            assert pseudonym(secret, person) in web.page
        assert SAM not in web.page and pseudonym(secret, LEE) not in web.page
        assert table(web.page, "invitations") == [
            ["Waiting for an answer", "0"],
            ["Said yes", "2"],
            ["Said no", "1"],
            ["Could not be reached", "0"],
        ]
        sam, pat = store.consents(bot.db)
        assert sam.terms_version != pat.terms_version
        assert table(web.page, "consents") == [
            [sam.terms_version, "1", "0"],
            [pat.terms_version, "1", "0"],
        ]
        assert "design" in web.page
        # The words each version said, as the bot kept them.
        assert new_words in web.page


async def test_champions_see_their_own_projects_members_none(bot: ProjectBot, web: Browser) -> None:
    mine = await bot.new_project("Mine")
    theirs = await bot.new_project("Theirs", sender=DANA)
    web.sign_in(CHRIS)
    assert await web.get("/projects") == 200
    assert ">Mine<" in web.page and ">Theirs<" not in web.page
    assert await web.get(f"/projects/{mine.id}") == 200
    assert await web.get(f"/projects/{theirs.id}") == 403
    assert "Theirs" not in web.page
    assert await web.get("/projects/999") == 404
    web.sign_in(ALICE)
    assert await web.get("/projects") == 200
    assert ">Mine<" in web.page and ">Theirs<" in web.page
    assert await web.get(f"/projects/{theirs.id}") == 200
    web.sign_in(SAM)
    for path in ("/projects", f"/projects/{mine.id}"):
        assert await web.get(path) == 403


async def test_a_hostile_project_name_shows_as_text(bot: ProjectBot, web: Browser) -> None:
    project = await bot.new_project(HOSTILE[0], about=HOSTILE[1])
    web.sign_in(ALICE)
    for path in ("/projects", f"/projects/{project.id}"):
        assert await web.get(path) == 200
        assert "<script" not in web.page and "<img" not in web.page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in web.page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in web.page


async def test_looking_changes_nothing(bot: ProjectBot, web: Browser) -> None:
    project = await bot.new_project()
    await bot.invite(SAM)
    web.sign_in(ALICE)
    before = list(bot.db.conn.iterdump())
    for path in ("/projects", f"/projects/{project.id}", "/projects/999"):
        await web.get(path)
    assert list(bot.db.conn.iterdump()) == before
