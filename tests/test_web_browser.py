"""The dashboard in a real browser (Chromium, through Selenium): signing in through
the link the bot sent and its button, then every page reachable from the menu
checked with axe-core's WCAG 2.x A and AA rules (no violations), with
JavaScript off, and at 400% zoom (the main text never scrolls sideways).

The dashboard is served over real TCP on loopback (``web.app.serve``, as the bot
serves it) over a LocalBot with some data in it. Selenium's calls block, so they
run in a worker thread while the event loop serves the pages.

The README's pictures are taken by test_web_tour.py, with ordinary words."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import pytest
from aiohttp import web as aioweb
from browser import axe_violations, chromium_browser, describe, start_chromium  # noqa: F401
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from webclient import HOSTILE, dashboard_for

from bot.demo import free_port
from localbot import ALICE, CHRIS, GROUP, SAM, LocalBot
from storage import feedback
from web.app import build_app, serve
from web.deps import Dashboard

pytestmark = pytest.mark.browser

T = TypeVar("T")
LINK = re.compile(r"http://127\.0\.0\.1:\d+/sign-in/[A-Za-z0-9_-]+")
# Links a crawl never follows: signing out, and files to download.
DOWNLOADS = re.compile(r"(/export|/download|\.(csv|xlsx|json|md|ics|zip)$)")
DEPTH = 2
MOST_PAGES = 80


async def in_thread(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Selenium's blocking calls, off the event loop that serves the pages."""
    return await asyncio.to_thread(call, *args, **kwargs)


@dataclass
class Served:
    bot: LocalBot
    dash: Dashboard
    base: str  # http://127.0.0.1:<port>

    async def link_for(self, who: str) -> str:
        """What ``!dashboard`` sends ``who``, typed in the group room."""
        mark = self.bot.mark()
        self.bot.message("!dashboard", sender=who, room_id=GROUP)
        await self.bot.run()
        found = [m.group() for o in self.bot.after(mark) if (m := LINK.search(o.body))]
        assert len(found) == 1
        return found[0]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    port = free_port()
    settings = f'[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
    bot = LocalBot(tmp_path / "bot", settings=settings)
    await with_some_data(bot)
    dash = dashboard_for(bot, public_url=bot.config.web.public_url)
    runner: aioweb.AppRunner = await serve(build_app(dash), "127.0.0.1", port)
    try:
        yield Served(bot, dash, bot.config.web.public_url)
    finally:
        await runner.cleanup()
        dash.reads.close()
        bot.store.close()


async def with_some_data(bot: LocalBot) -> None:
    """Feedback (some of it hostile), a poll, a project and a workshop."""
    with bot.store.write() as db:
        for n, words in enumerate(("The bus is late every Tuesday.", *HOSTILE)):
            feedback.add(db, words, source="direct", user_id=SAM, room_id="!sam", event_id=f"$f{n}")
    for command in (
        "!poll Which day suits you? | Tuesday | Thursday",
        "!project new Better buses | Making buses fit day centre times",
        "!workshop new Planning day | Wed 3 June 2pm | Town Hall | Tea and cake",
    ):
        bot.message(command, sender=CHRIS, room_id=GROUP)
    await bot.run()


async def sign_in(driver: WebDriver, link: str) -> None:
    """Open the link, as from the chat app, and press the page's button."""
    await in_thread(driver.get, link)
    assert await in_thread(lambda: driver.find_element(By.TAG_NAME, "h1").text) == "Sign in"
    button = await in_thread(driver.find_element, By.CSS_SELECTOR, "main form button")
    await in_thread(button.click)
    await in_thread(wait_for_path, driver, "/")


def wait_for_path(driver: WebDriver, path: str) -> None:
    """Until the browser has followed the form's redirect to ``path``."""
    WebDriverWait(driver, 20).until(lambda d: urlsplit(d.current_url).path == path)


def same_origin_links(driver: WebDriver, base: str) -> list[str]:
    """Every link on the page to another dashboard page (no downloads, no fragments)."""
    found: list[str] = []
    for anchor in driver.find_elements(By.CSS_SELECTOR, "a[href]"):
        href = urljoin(driver.current_url, anchor.get_attribute("href") or "")
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base or anchor.get_attribute("download"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path.startswith(("/static/", "/sign-out", "/sign-in")) or DOWNLOADS.search(parts.path):
            continue
        found.append(path)
    return found


def crawl(driver: WebDriver, base: str) -> dict[str, int]:
    """Every page reachable from the menu, to ``DEPTH`` links from the overview:
    {path: depth}. Breadth first, so the menu's pages come first."""
    seen = {"/": 0}
    queue = ["/"]
    while queue and len(seen) < MOST_PAGES:
        path = queue.pop(0)
        if seen[path] >= DEPTH:
            continue
        driver.get(base + path)
        for link in same_origin_links(driver, base):
            if link not in seen:
                seen[link] = seen[path] + 1
                queue.append(link)
    return seen


def text_sticking_out(driver: WebDriver) -> list[str]:
    """Text in the page that reaches past the window's right edge (so the reader
    would scroll sideways), leaving out what is inside a table (WCAG lets tables scroll)."""
    found: list[str] = driver.execute_script(
        "const width = document.documentElement.clientWidth;"
        "return [...document.querySelectorAll("
        "'h1, h2, h3, p, li, dt, dd, label, legend, button, input, select, textarea')]"
        ".filter(e => !e.closest('table') && e.getBoundingClientRect().right > width + 1)"
        ".map(e => e.tagName + ': ' + e.textContent.trim().slice(0, 40));"
    )
    return found


def zoom_400(driver: WebDriver, on: bool) -> None:
    """400% zoom of a 1280-pixel-wide window: the page laid out 320 CSS pixels wide."""
    if on:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 320, "height": 250, "deviceScaleFactor": 4, "mobile": False},
        )
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def check_page(driver: WebDriver, url: str) -> list[str]:
    """Problems on one page: axe's violations, and text off the side at 400%."""
    driver.get(url)
    problems = [f"{url}: {line}" for line in describe(axe_violations(driver))]
    assert len(driver.find_elements(By.TAG_NAME, "h1")) == 1, f"{url}: one h1"
    zoom_400(driver, True)
    try:
        driver.get(url)
        problems += [f"{url} at 400%: {line}" for line in text_sticking_out(driver)]
        problems += [f"{url} at 400%: {line}" for line in describe(axe_violations(driver))]
    finally:
        zoom_400(driver, False)
    return problems


async def test_every_page_passes_axe_and_reflows_at_400_percent(
    served: Served, chromium: WebDriver
) -> None:
    link = await served.link_for(ALICE)
    await in_thread(chromium.delete_all_cookies)
    # The sign-in page itself, before its button is pressed.
    problems = await in_thread(check_page, chromium, link)
    await sign_in(chromium, link)
    pages = await in_thread(crawl, chromium, served.base)
    assert "/" in pages
    for path in pages:
        problems += await in_thread(check_page, chromium, served.base + path)
    # The pages people land on when something is not theirs or not there.
    for path in ("/no-such-page", link):
        problems += await in_thread(check_page, chromium, served.base + path
                                    if path.startswith("/") else path)  # fmt: skip
    assert problems == []


async def test_the_pages_work_with_javascript_off(served: Served, tmp_path: Path) -> None:
    driver = await in_thread(start_chromium, tmp_path / "no-js", javascript=False)
    try:
        await sign_in(driver, await served.link_for(CHRIS))
        assert "Overview" in await in_thread(lambda: driver.find_element(By.TAG_NAME, "h1").text)
        pages = await in_thread(crawl, driver, served.base)
        for path in pages:
            await in_thread(driver.get, served.base + path)
            headings = await in_thread(driver.find_elements, By.TAG_NAME, "h1")
            assert len(headings) == 1, path
        # Signing out is a form too: it works without scripts.
        button = await in_thread(driver.find_element, By.CSS_SELECTOR, "header form button")
        await in_thread(button.click)
        await in_thread(wait_for_path, driver, "/signed-out")
        await in_thread(driver.get, served.base + "/")
        assert "Please sign in" in await in_thread(lambda: driver.page_source)
    finally:
        await in_thread(driver.quit)


async def test_a_member_signed_in_by_hand_sees_a_refusal_that_passes_axe(
    served: Served, chromium: WebDriver
) -> None:
    """A link for a member cannot be had from the bot, so the refusal page is
    reached signed out: it passes the same checks."""
    await in_thread(chromium.delete_all_cookies)
    problems = await in_thread(check_page, chromium, served.base + "/")
    assert problems == []
    assert "Please sign in" in await in_thread(lambda: chromium.page_source)
    assert served.bot.count("web_links", "user_id = ?", [SAM]) == 0
