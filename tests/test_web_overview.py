"""The dashboard's overview: the team sees ``!impact``'s numbers, responses per
week and what waits for review; a champion sees only their own things."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from webclient import HOSTILE, Browser, serving

from localbot import ALICE, CHRIS, DANA, GROUP, SAM, LocalBot, make_bots, say
from storage import feedback, feedback_consents, profiles
from storage import projects as project_store
from storage.db import Database

# T0 is Monday 1 June 2026, 10am in London.
NEW_PROJECT = "!project new Bus times | Better buses for the day centre | stage deliver"


class OverviewBot(LocalBot):
    champions = (CHRIS, DANA)

    async def feedback_from(self, person: str, text: str) -> None:
        """``!feedback`` in the group room; yes to saving, yes to their name."""
        self.message(f"!feedback {text}", sender=person, room_id=GROUP)
        await self.run()
        self.deliver()  # opens the direct chat the bot asks in
        if feedback_consents.consent(self.db, person) is None:
            await self.tell_dm(person, "yes")
        await self.tell_dm(person, "yes")

    async def project(self, command: str, sender: str) -> int:
        await self.ask(command, sender=sender)
        self.deliver()
        self.later(seconds=5)
        await self.tick()
        return project_store.listing(self.db)[-1].id

    async def poll(self, text: str, sender: str) -> int:
        assert await self.ask(f"!poll {text}", sender=sender, room_id=GROUP) == []
        self.deliver()
        return int(self.db.execute("SELECT max(id) FROM polls").fetchone()[0])

    async def workshop(self, title: str, sender: str) -> int:
        command = f"!workshop new {title} | Wed 3 June 2pm | Oxford Town Hall"
        assert await self.ask(command, sender=sender, room_id=GROUP) == []
        self.deliver()
        return int(self.db.execute("SELECT max(id) FROM workshops").fetchone()[0])


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[OverviewBot]:
    with make_bots(OverviewBot, tmp_path) as make:
        yield make()


@pytest.fixture
async def web(bot: OverviewBot) -> AsyncIterator[Browser]:
    async with serving(bot) as browser:
        yield browser


def texts(page: str, css_class: str) -> list[str]:
    """The lines of text inside ``<div class="css_class">`` (tags dropped)."""
    found = re.search(rf'<div class="{css_class}">(.*?)</div>', page, re.S)
    assert found, css_class
    return [html.unescape(t.strip()) for t in re.findall(r">([^<]+)<", found.group(1)) if t.strip()]


def add_saved(db: Database, at: str) -> None:
    feedback.add(db, "words", source="direct", user_id=None, room_id=None, event_id=None)
    db.execute("UPDATE feedback SET created_at = ? WHERE id = (SELECT max(id) FROM feedback)", [at])


async def test_the_numbers_are_impact_s(bot: OverviewBot, web: Browser) -> None:
    await bot.project(NEW_PROJECT, CHRIS)
    await bot.poll("Which day? | Mon | Tue", CHRIS)
    await bot.feedback_from(SAM, "The bus is late.")
    await bot.feedback_from(DANA, "More benches, please.")
    with bot.store.write() as db:
        for i in range(7):
            profiles.save(db, f"@person{i}:council.test", area="Oxford", relationships=("carer",))
        profiles.save(db, SAM, area="Cherwell", relationships=("uses services",))
    (report,) = await bot.ask("!impact", sender=ALICE)

    web.sign_in(ALICE)
    assert await web.get("/") == 200
    assert texts(web.page, "impact") == [line for line in report.split("\n") if line]
    assert say("impact.feedback", count=2) in texts(web.page, "impact")


async def test_what_waits_for_review(bot: OverviewBot, web: Browser) -> None:
    web.sign_in(ALICE)
    assert await web.get("/") == 200
    assert html.unescape(say("web.overview.nothing_waiting")) in html.unescape(web.page)
    await bot.feedback_from(SAM, "The bus is late.")
    await bot.feedback_from(DANA, "More benches, please.")
    with bot.store.write() as db:
        feedback.mark_reviewed(db, 1, ALICE)
    assert await web.get("/") == 200
    assert say("web.overview.waiting", count=1) in html.unescape(web.page)
    # The link to the review list is there once the dashboard has that page.
    has_list = any(r.canonical == "/feedback" for r in web.client.app.router.resources())
    assert ('href="/feedback?reviewed=no"' in web.page) == has_list


async def test_responses_per_week_in_the_bot_s_time_zone(bot: OverviewBot, web: Browser) -> None:
    with bot.store.write() as db:
        # Sunday 31 May 23:30 in London (BST) is 22:30 UTC: the week before T0's.
        add_saved(db, "2026-05-31T22:30:00.000+00:00")
        # Monday 1 June 00:30 in London is Sunday 23:30 UTC: T0's week.
        add_saved(db, "2026-05-31T23:30:00.000+00:00")
        add_saved(db, "2026-06-01T08:59:00.000+00:00")
        add_saved(db, "2026-06-01")  # kept as a date only (made anonymous): that day
        add_saved(db, "2026-03-09T10:00:00.000+00:00")  # 12 weeks back: too old
        add_saved(db, "2026-03-16T00:30:00.000+00:00")  # the oldest week shown (GMT)
        feedback.add(db, "a draft", source="direct", user_id=None, room_id=None, event_id=None)
        db.execute("UPDATE feedback SET state = 'draft' WHERE text = 'a draft'")
        weeks = feedback.weekly_counts(db, bot.clock.now(), "Europe/London", 12)
    assert weeks[0] == (date(2026, 3, 16), 1)
    assert weeks[-2:] == [(date(2026, 5, 25), 1), (date(2026, 6, 1), 3)]
    assert sum(n for _, n in weeks) == 5 and len(weeks) == 12
    assert all(monday.weekday() == 0 for monday, _ in weeks)

    # In another time zone the same moments fall differently.
    in_utc = feedback.weekly_counts(bot.db, bot.clock.now(), "UTC", 12)
    assert in_utc[-2:] == [(date(2026, 5, 25), 2), (date(2026, 6, 1), 2)]

    web.sign_in(ALICE)
    assert await web.get("/") == 200
    table = texts(web.page, "weekly")
    assert table[-4:] == ["25 May 2026", "1", "1 June 2026", "3"]
    assert "16 March 2026" in table and "9 March 2026" not in table
    # The chart beside the table: the same weeks, drawn on the server.
    assert web.page.count("<svg") == 1 and 'role="img"' in web.page
    assert "1 Jun 2026: 3" in web.page  # the week's bar says its date and number


async def test_a_champion_sees_only_their_own(bot: OverviewBot, web: Browser) -> None:
    mine = await bot.poll(f"{HOSTILE[0]} | Yes | No", CHRIS)
    theirs = await bot.poll("Dana's poll? | Yes | No", DANA)
    project = await bot.project(NEW_PROJECT, CHRIS)
    other_project = await bot.project("!project new Libraries | Opening hours", DANA)
    workshop = await bot.workshop("Planning day", CHRIS)
    elsewhere = await bot.workshop("Dana's workshop", DANA)
    await bot.feedback_from(SAM, "The bus is late.")

    web.sign_in(CHRIS)
    assert await web.get("/") == 200
    page = html.unescape(web.page)
    for mine_too in (HOSTILE[0], "Bus times", "Planning day"):
        assert mine_too in page
    for not_mine in ("Dana's poll?", "Libraries", "Dana's workshop"):
        assert not_mine not in page
    assert "&lt;script&gt;" in web.page and "<script" not in web.page
    assert "Pieces of feedback" not in page and "/feedback?reviewed=no" not in page
    # Each is a link to its own page; the others' are not there at all.
    for href in (f"/polls/{mine}", f"/projects/{project}", f"/workshops/{workshop}"):
        assert f'href="{href}"' in web.page
    for href in (f"/polls/{theirs}", f"/projects/{other_project}", f"/workshops/{elsewhere}"):
        assert f'href="{href}"' not in web.page
    web.sign_in(DANA)
    assert await web.get("/") == 200
    assert f'href="/polls/{theirs}"' in web.page
    assert f'href="/polls/{mine}"' not in web.page


async def test_a_champion_with_nothing_is_told_so(web: Browser) -> None:
    web.sign_in(CHRIS)
    assert await web.get("/") == 200
    page = html.unescape(web.page)
    for key in ("web.overview.no_polls", "web.overview.no_projects", "web.overview.no_workshops"):
        assert say(key) in page


async def test_a_member_or_nobody_sees_nothing(bot: OverviewBot, web: Browser) -> None:
    await bot.feedback_from(SAM, "The bus is late.")
    assert await web.get("/") == 403
    web.sign_in(SAM)
    assert await web.get("/") == 403
    assert "bus" not in web.page


def test_a_week_boundary_when_the_clocks_change(bot: OverviewBot) -> None:
    # Clocks went forward on Sunday 29 March 2026; Monday 30 March 00:00 BST is 23:00 UTC.
    with bot.store.write() as db:
        add_saved(db, "2026-03-29T22:59:00.000+00:00")
        add_saved(db, "2026-03-29T23:00:00.000+00:00")
    now = datetime(2026, 4, 1, 12, tzinfo=UTC)
    weeks = feedback.weekly_counts(bot.db, now, "Europe/London", 2)
    assert weeks == [(date(2026, 3, 23), 1), (date(2026, 3, 30), 1)]


async def test_the_weeks_follow_the_bot_s_time_zone(tmp_path: Path) -> None:
    with make_bots(OverviewBot, tmp_path) as make:
        bot = make(settings='timezone = "America/New_York"\n')  # the config's [bot] section
        with bot.store.write() as db:
            # Monday 1 June 03:30 UTC is Sunday 31 May 23:30 in New York.
            add_saved(db, "2026-06-01T03:30:00.000+00:00")
            add_saved(db, "2026-06-01T04:30:00.000+00:00")  # Monday 00:30 there
        async with serving(bot) as web:
            web.sign_in(ALICE)
            assert await web.get("/") == 200
            assert texts(web.page, "weekly")[-4:] == ["25 May 2026", "1", "1 June 2026", "1"]
