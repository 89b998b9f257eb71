"""The whole review loop in a real browser against the real bot and Synapse: a
team member types !dashboard, opens the link the bot sent, signs in, reads a
piece of feedback, tags it, marks it reviewed, records what was done, and the
person who said it hears "You said, we did" in their chat app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from browser import chromium_browser  # noqa: F401 (the fixture)
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from test_e2e_feedback import converse, said

from bot.demo import free_port
from bot.localsynapse import LocalSynapse
from harness import BotProcess, Person, wait_until

pytestmark = pytest.mark.e2e

T = TypeVar("T")
LINK = re.compile(r"http://127\.0\.0\.1:\d+/sign-in/[A-Za-z0-9_-]+")


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    """Selenium blocks: keep it off the event loop the people's clients run on."""
    return await asyncio.to_thread(call, *args)


def fill_and_send(driver: WebDriver, field: str, text: str) -> None:
    """Type into a form's field and press that form's button, as a person would."""
    box = driver.find_element(By.ID, field)
    box.clear()
    box.send_keys(text)
    box.find_element(By.XPATH, "ancestor::form//button").click()


def press(driver: WebDriver, label: str) -> None:
    driver.find_element(By.XPATH, f"//main//button[normalize-space()='{label}']").click()


def page_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def wait_for_text(driver: WebDriver, words: str) -> None:
    """Wait for the words on the page. While a form's answer is loading, the
    browser may say the old page's element is gone (stale, or "does not belong
    to the document"): both are WebDriverExceptions, so the wait reads again."""
    waiting = WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,))
    waiting.until(lambda d: words in page_text(d))


async def test_review_tag_and_we_did_from_the_browser_reach_the_person(
    synapse: LocalSynapse,
    make_bot: Callable[..., BotProcess],
    make_person: Callable[[LocalSynapse, str], Person],
    chromium: WebDriver,
) -> None:
    alex, sam = make_person(synapse, "alex"), make_person(synapse, "sam")
    bot = make_bot(synapse, team=[alex.user_id])
    port = free_port()
    with bot.config_path.open("a") as config:
        config.write(f'\n[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n')
    await bot.run()
    for person in (alex, sam):
        await person.listen()

    # Sam says something, and yes to saving it with their name.
    dm = await sam.open_dm(bot.user_id)
    await converse(sam, bot, dm, "The ramp at the library is too steep.", "consent")
    await converse(sam, bot, dm, "yes", "the name question")
    await converse(sam, bot, dm, "yes", "thanks")
    [(number,)] = bot.query("SELECT id FROM feedback")

    # Alex asks for the dashboard in the chat and gets a link there.
    team_dm = await alex.open_dm(bot.user_id)
    seen = len(said(alex, bot, team_dm))
    await alex.send(team_dm, "!dashboard")
    await wait_until(lambda: len(said(alex, bot, team_dm)) > seen, 30, "the link")
    [link] = [m.group() for w in said(alex, bot, team_dm)[seen:] if (m := LINK.search(w))]

    driver = chromium
    await in_thread(driver.delete_all_cookies)
    await in_thread(driver.get, link)
    await in_thread(press, driver, "Sign in")
    await in_thread(wait_for_text, driver, "Overview")

    # The review list shows it; its own page has the actions.
    await in_thread(driver.get, f"http://127.0.0.1:{port}/feedback")
    await in_thread(wait_for_text, driver, "The ramp at the library is too steep.")
    await in_thread(driver.get, f"http://127.0.0.1:{port}/feedback/{number}")
    await in_thread(fill_and_send, driver, "theme", "Access")
    await in_thread(wait_for_text, driver, "Remove the theme access")
    assert bot.query("SELECT theme FROM feedback_themes WHERE feedback_id = ?", [number]) == [
        ("access",)
    ]
    await in_thread(press, driver, "Mark as reviewed")
    await in_thread(wait_for_text, driver, "Mark as not reviewed")
    await in_thread(fill_and_send, driver, "outcome", "We asked the library to fit a handrail.")
    await in_thread(wait_for_text, driver, "told")

    # Sam hears it in their chat app; the database has it as !wedid would.
    await wait_until(
        lambda: any(w.startswith("You said:") for w in said(sam, bot, dm)), 30, "you said, we did"
    )
    told = [w for w in said(sam, bot, dm) if w.startswith("You said:")]
    assert len(told) == 1 and "handrail" in told[0] and "ramp" in told[0]
    assert bot.query("SELECT reviewed_by FROM feedback WHERE id = ?", [number]) == [(alex.user_id,)]
