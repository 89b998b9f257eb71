"""The dashboard served by the real bot process (``copro run`` with ``[web]``
enabled), signed in to with the link it sends over a real homeserver."""

from __future__ import annotations

import re

import pytest
from aiohttp import ClientSession, CookieJar

from bot.demo import free_port
from harness import wait_until
from localbot import say

pytestmark = pytest.mark.e2e

LINK = re.compile(r"http://127\.0\.0\.1:\d+/sign-in/[A-Za-z0-9_-]+")


async def test_dashboard_link_by_direct_message_signs_in_once(synapse, make_bot, make_person):
    alex = make_person(synapse, "alex")  # in the team
    bot = make_bot(synapse, team=[alex.user_id])
    port = free_port()
    with bot.config_path.open("a") as config:
        config.write(f'\n[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n')
    await bot.run()
    await alex.listen()
    dm = await alex.open_dm(bot.user_id)

    seen = len(alex.messages_from(bot.user_id, dm))
    await alex.send(dm, "!dashboard")

    def links() -> list[str]:
        bodies = [e["content"].get("body", "") for e in alex.messages_from(bot.user_id, dm)[seen:]]
        return [m.group() for body in bodies if (m := LINK.search(body))]

    await wait_until(lambda: bool(links()), 30, "the sign-in link")
    link = links()[0]
    # unsafe=True: keep cookies from an IP address (127.0.0.1), as browsers do.
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as browser:
        async with browser.get(link) as page:  # as a link preview would: nothing used up
            assert page.status == 200 and "Sign in" in await page.text()
        async with browser.post(link, allow_redirects=False) as signed_in:
            assert signed_in.status == 303
        async with browser.get(f"http://127.0.0.1:{port}/") as overview:
            assert overview.status == 200 and "Pieces of feedback" in await overview.text()
        async with ClientSession() as another, another.post(link) as again:
            assert again.status == 410  # once only

        reply = await alex.ask(dm, "!dashboard sign out everywhere", bot.user_id)
        assert reply["content"]["body"] == say("dashboard.signed_out", count=1)
        async with browser.get(f"http://127.0.0.1:{port}/") as overview:
            assert overview.status == 403
    token = link.rsplit("/", 1)[1]
    assert "dashboard" in bot.log() and token not in bot.log()
    assert bot.query("SELECT action FROM audit_log WHERE actor = ?", [alex.user_id]) == [
        ("dashboard sign-in",)
    ]


async def test_health_and_metrics_of_the_running_bot(synapse, make_bot, make_person):
    sam = make_person(synapse, "sam")
    bot = make_bot(synapse)
    port = free_port()
    with bot.config_path.open("a") as config:
        config.write(f'\n[web]\nenabled = true\nlisten = "127.0.0.1:{port}"\n')
    await bot.run()
    await sam.listen()
    dm = await sam.open_dm(bot.user_id)
    await sam.ask(dm, "!ping", bot.user_id)
    base = f"http://127.0.0.1:{port}"
    async with ClientSession() as http:
        async with http.get(f"{base}/healthz") as alive:
            assert alive.status == 200
        async with http.get(f"{base}/readyz") as ready:
            said = await ready.text()
            assert ready.status == 200, said
            assert "matrix: answering" in said and "database: takes writes" in said
        async with http.get(f"{base}/metrics") as scraped:
            text = await scraped.text()
    assert scraped.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'copro_out_of_touch_seconds{platform="matrix"} 0.0' in text
    assert 'copro_inbox_waiting{platform="matrix"} 0.0' in text
    for private in (sam.user_id, dm, bot.user_id, "ping"):
        assert private not in text
