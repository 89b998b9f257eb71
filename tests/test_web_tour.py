"""The main pages of the dashboard as the team sees them on an ordinary day, in a
real Chromium: feedback in people's own words, tagged and answered, a poll people
answered three ways, a project and a workshop. Each page is checked for what a
team member came to it for, and the page passes axe-core.

``COPRO_SCREENSHOTS=docs/screenshots`` (``make screenshots``) also saves a
picture of each page there, for the README. (The crawl in test_web_browser.py
checks every page with hostile words in it; these pictures show ordinary ones.)"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web as aioweb
from browser import axe_violations, chromium_browser, describe  # noqa: F401 (the fixture)
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from test_web_browser import LINK, sign_in
from test_web_polls import PollBot
from webclient import dashboard_for

from bot.demo import free_port
from localbot import ALICE, BOT, CHRIS, GROUP, LEE, PAT, SAM, person_named
from storage import feedback, polls
from web.app import build_app, serve

pytestmark = pytest.mark.browser

T = TypeVar("T")
SCREENSHOTS = os.environ.get("COPRO_SCREENSHOTS")
KIM, JO, RAV = person_named("kim"), person_named("jo"), person_named("rav")
# What people said (who, words, how many weeks ago, themes, what changed).
SAID: tuple[tuple[str, str, int, tuple[str, ...], str], ...] = (
    (SAM, "The bus to the day centre is late most Tuesdays, so I miss lunch.", 5,
     ("transport",), "We asked the bus company to leave ten minutes earlier on Tuesdays."),
    (PAT, "Staff at the day centre are kind but always in a rush.", 4, ("staff",), ""),
    (LEE, "I didn't know I could ask for respite care. Nobody told me.", 4,
     ("information", "respite"), ""),
    (KIM, "Your letters are hard to read. Plain words, please.", 3, ("information",), ""),
    (JO, "More evening sessions would help carers who work in the day.", 2, ("carers",), ""),
    (RAV, "The ramp at the library is too steep for my wheelchair.", 1, ("access",), ""),
    (SAM, "The driver waited for me today. That made my week.", 1, ("transport",), ""),
    (PAT, "Could the forms be in Welsh too? Diolch.", 0, (), ""),
    (LEE, "The café at the centre is lovely but costs £4.50 for tea.", 0, (), ""),
)  # fmt: skip


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    """Selenium's blocking calls, off the event loop that serves the pages."""
    return await asyncio.to_thread(call, *args)


async def an_ordinary_day(bot: PollBot) -> dict[str, int]:
    """The data behind the pictures. Returns the numbers of what the tour opens."""
    now = bot.clock.now()  # the bot's own clock, as the overview's weeks are
    numbers: list[int] = []
    with bot.store.write() as db:
        for n, (who, words, weeks, themes, did) in enumerate(SAID):
            number = feedback.add(
                db, words, source="direct", user_id=who, room_id=f"!dm{n}", event_id=f"$s{n}"
            )
            when = (now - timedelta(weeks=weeks, hours=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            db.execute("UPDATE feedback SET created_at = ? WHERE id = ?", [when, number])
            for theme in themes:
                feedback.add_theme(db, number, theme)
            if did:
                feedback.add_outcome(db, number, did, ALICE)
                feedback.mark_reviewed(db, number, ALICE)
            numbers.append(number)
    poll = await bot.start_poll("Which day suits you for the planning day? | Tuesday | Thursday")
    start, companion = bot.posted(poll)
    bot.answer_poll(start, "a2", sender=SAM)  # a tap on the poll
    bot.answer_poll(start, "a2", sender=KIM)
    bot.message("1", sender=PAT, reply_to=companion)  # a numbered reply
    bot.react(companion, "2️⃣", sender=LEE)  # a number reaction
    for command in (
        "!project new Better buses | Making buses fit day centre times",
        "!workshop new Planning day | Wed 3 June 2pm | Town Hall | Tea and cake",
    ):
        bot.message(command, sender=CHRIS, room_id=GROUP)
    await bot.run()
    assert polls.get(bot.db, poll.id) is not None
    return {"feedback": numbers[0], "poll": poll.id}


@pytest.fixture
async def tour(tmp_path: Path) -> AsyncIterator[tuple[PollBot, str, dict[str, int]]]:
    port = free_port()
    settings = f'[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
    bot = PollBot(tmp_path / "bot", settings=settings)
    bot.adapter.members[GROUP] = {BOT, CHRIS, SAM, PAT, LEE, KIM}
    numbers = await an_ordinary_day(bot)
    dash = dashboard_for(bot, public_url=bot.config.web.public_url)
    runner: aioweb.AppRunner = await serve(build_app(dash), "127.0.0.1", port)
    try:
        yield bot, bot.config.web.public_url, numbers
    finally:
        await runner.cleanup()
        dash.reads.close()
        bot.store.close()


def visit(driver: WebDriver, url: str, name: str) -> str:
    """Open the page, check it with axe, save its picture if asked. Returns its text."""
    driver.get(url)
    problems = describe(axe_violations(driver))
    assert problems == [], f"{url}: {problems}"
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, max(600, min(int(height) + 140, 2400)))
        try:
            driver.save_screenshot(str(folder / f"{name}.png"))
        finally:
            driver.set_window_size(1280, 1000)
    return str(driver.find_element(By.TAG_NAME, "main").text)


async def test_the_main_pages_show_what_the_team_came_for(
    tour: tuple[PollBot, str, dict[str, int]], chromium: WebDriver
) -> None:
    bot, base, numbers = tour
    mark = bot.mark()
    bot.message("!dashboard", sender=ALICE, room_id=GROUP)
    await bot.run()
    [link] = [m.group() for o in bot.after(mark) if (m := LINK.search(o.body))]
    await in_thread(chromium.delete_all_cookies)
    await in_thread(visit, chromium, link, "dashboard-sign-in")
    await sign_in(chromium, link)

    page = await in_thread(visit, chromium, base + "/", "dashboard-overview")
    assert "Responses per week" in page and f"Pieces of feedback: {len(SAID)}." in page
    page = await in_thread(visit, chromium, base + "/feedback", "dashboard-feedback")
    assert all(words in page for _, words, *_ in SAID[:5])
    page = await in_thread(
        visit, chromium, f"{base}/feedback/{numbers['feedback']}", "dashboard-feedback-one"
    )
    assert "We asked the bus company" in page and "transport" in page
    page = await in_thread(visit, chromium, f"{base}/polls/{numbers['poll']}", "dashboard-poll")
    assert "Thursday" in page and "Tuesday" in page
    chart = await in_thread(chromium.find_element, By.CSS_SELECTOR, "main svg title")
    assert f"poll {numbers['poll']}" in str(chart.get_attribute("textContent"))
    page = await in_thread(visit, chromium, base + "/themes", "dashboard-themes")
    page = await in_thread(visit, chromium, base + "/workshops", "dashboard-workshops")
    assert "Planning day" in page
    page = await in_thread(visit, chromium, base + "/people", "dashboard-people")
