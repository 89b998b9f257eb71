"""Signing in to the dashboard with ``!dashboard``: a one-time link, sent only to
the person's own direct chat, opened with a button (looking uses nothing up), a
session kept on the server with a bounded life, and "sign out everywhere"."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from webclient import Browser, dashboard_for, serving

from bot.app import TOKEN_IN_PATH, RedactSecrets
from localbot import ALICE, CHRIS, GROUP, SAM, LocalBot, say
from storage import privacy, web_sessions
from web.app import build_app, serve
from web.sessions import COOKIE

ON = '[web]\nenabled = true\npublic_url = "https://dash.council.test"\n'
LINK = re.compile(r"https://dash\.council\.test/sign-in/([A-Za-z0-9_-]+)")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[LocalBot]:
    bot = LocalBot(tmp_path / "bot", settings=ON)
    yield bot
    bot.store.close()


@pytest.fixture
async def web(bot: LocalBot) -> AsyncIterator[Browser]:
    """Over plain http on loopback (a browser keeps a Secure cookie for https only)."""
    async with serving(bot) as browser:
        yield browser


@pytest.fixture
async def on_https(bot: LocalBot) -> AsyncIterator[Browser]:
    """As people reach it through the proxy: ``public_url`` is https."""
    async with serving(bot, public_url=bot.config.web.public_url) as browser:
        yield browser


async def ask_for_link(bot: LocalBot, who: str = ALICE, room_id: str = GROUP) -> str:
    """``!dashboard`` typed in ``room_id``; returns the token the bot sent."""
    mark = bot.mark()
    bot.message("!dashboard", sender=who, room_id=room_id)
    await bot.run()
    links = [(o.room_id, LINK.search(o.body)) for o in bot.after(mark) if o.action == "send"]
    found = [(room, match.group(1)) for room, match in links if match]
    assert len(found) == 1, bot.after(mark)
    return found[0][1]


async def test_the_link_goes_only_to_their_direct_chat(bot: LocalBot) -> None:
    mark = bot.mark()
    event = bot.message("!dashboard", sender=ALICE, room_id=GROUP)
    await bot.run()
    assert bot.replies_to(event) == [say("dashboard.sent_privately")]
    sent = [o for o in bot.after(mark) if LINK.search(o.body)]
    assert len(sent) == 1
    assert sent[0].room_id != GROUP and sent[0].reply_to is None
    bot.deliver()
    assert bot.direct_chat(ALICE) in {o.room_id for o in bot.outbox() if LINK.search(o.body)}
    # In their own direct chat the link comes there, with nothing else said.
    mark = bot.mark()
    token = await ask_for_link(bot, room_id=bot.direct_chat(ALICE))
    assert [o.room_id for o in bot.after(mark)] == [bot.direct_chat(ALICE)]
    assert web_sessions.link_holder(bot.db, token, bot.clock.time.timestamp()) == ALICE


async def test_a_member_is_refused_and_given_no_link(bot: LocalBot) -> None:
    replies = await bot.ask("!dashboard", sender=SAM)
    who = say("roles.champion")
    assert replies == [say("errors.not_allowed", who=who)]
    assert bot.count("web_links") == 0
    assert not [o for o in bot.outbox() if "/sign-in/" in o.body]


async def test_a_champion_gets_a_link_too(bot: LocalBot) -> None:
    token = await ask_for_link(bot, CHRIS)
    assert web_sessions.link_holder(bot.db, token, bot.clock.time.timestamp()) == CHRIS


async def test_when_the_dashboard_is_off_it_says_so(tmp_path: Path) -> None:
    bot = LocalBot(tmp_path / "off")
    assert await bot.ask("!dashboard", sender=ALICE) == [say("dashboard.not_on")]
    assert bot.count("web_links") == 0
    bot.store.close()


async def test_looking_at_the_link_uses_nothing_up_the_button_does(
    bot: LocalBot, web: Browser
) -> None:
    token = await ask_for_link(bot)
    for _ in range(3):  # a link preview, a scanner, then the person
        assert await web.get(f"/sign-in/{token}") == 200
        assert "Sign in" in web.page and 'method="post"' in web.page
    assert await web.post(f"/sign-in/{token}", csrf=False) == 303
    assert await web.get("/") == 200
    assert "Pieces of feedback" in web.page  # Alice is in the team
    audit = bot.db.execute("SELECT actor, action FROM audit_log").fetchall()
    assert (ALICE, "dashboard sign-in") in audit


async def test_a_used_link_says_so_and_signs_nobody_in(bot: LocalBot, web: Browser) -> None:
    token = await ask_for_link(bot)
    assert await web.get(f"/sign-in/{token}") == 200
    assert await web.post(f"/sign-in/{token}", csrf=False) == 303
    other = Browser(TestClient(TestServer(build_app(web.dash))), web.dash)
    await other.client.start_server()
    try:
        assert await other.get(f"/sign-in/{token}") == 410
        assert "used already" in other.page and "!dashboard" in other.page
        assert await other.post(f"/sign-in/{token}", csrf=False) == 410
        assert await other.get("/") == 403
    finally:
        await other.client.close()


async def test_a_link_runs_out_after_ten_minutes(bot: LocalBot, web: Browser) -> None:
    token = await ask_for_link(bot)
    bot.later(minutes=10, seconds=1)
    assert await web.get(f"/sign-in/{token}") == 410
    assert say("web.sign_in.gone.body") in web.page.replace("&#39;", "'")
    assert await web.post(f"/sign-in/{token}", csrf=False) == 410
    assert await web.get("/") == 403
    assert await web.get("/sign-in/made-up") == 410


async def test_a_sign_in_from_another_site_is_refused(bot: LocalBot, on_https: Browser) -> None:
    web = on_https
    token = await ask_for_link(bot)
    assert await web.get(f"/sign-in/{token}") == 200
    for headers in ({"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert await web.post(f"/sign-in/{token}", csrf=False, headers=headers) == 403
    assert web_sessions.link_holder(bot.db, token, web.dash.clock()) == ALICE  # still good
    headers = {"Origin": "https://dash.council.test"}
    assert await web.post(f"/sign-in/{token}", csrf=False, headers=headers) == 303


async def test_a_browser_s_null_origin_is_judged_by_sec_fetch_site(
    bot: LocalBot, web: Browser
) -> None:
    """Under ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` with a
    form; ``Sec-Fetch-Site`` then says whether it came from the dashboard."""
    token = await ask_for_link(bot)
    for refused in ({}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        headers = {"Origin": "null", **refused}
        assert await web.post(f"/sign-in/{token}", csrf=False, headers=headers) == 403
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert await web.post(f"/sign-in/{token}", csrf=False, headers=headers) == 303


async def cookie_of_sign_in(bot: LocalBot, web: Browser) -> str:
    token = await ask_for_link(bot)
    async with web.client.post(f"/sign-in/{token}", allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/"
        return next(c for c in response.headers.getall("Set-Cookie") if c.startswith(COOKIE))


async def test_the_session_cookie_is_httponly_strict_and_secure_on_https(
    bot: LocalBot, on_https: Browser
) -> None:
    cookie = (await cookie_of_sign_in(bot, on_https)).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert "max-age=28800" in cookie  # 8 hours


async def test_on_plain_http_the_cookie_is_not_marked_secure(bot: LocalBot, web: Browser) -> None:
    cookie = (await cookie_of_sign_in(bot, web)).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie


async def test_a_session_ends_after_its_hours(bot: LocalBot) -> None:
    async with serving(bot, session_hours=2) as web:
        token = await ask_for_link(bot)
        await web.get(f"/sign-in/{token}")
        assert await web.post(f"/sign-in/{token}", csrf=False) == 303
        bot.later(hours=1, minutes=59)
        assert await web.get("/") == 200
        bot.later(minutes=2)
        assert await web.get("/") == 403
        assert "Please sign in" in web.page


async def test_signing_in_again_ends_the_browser_s_old_session(bot: LocalBot, web: Browser) -> None:
    old = web.sign_in(ALICE)
    token = await ask_for_link(bot)
    assert await web.get(f"/sign-in/{token}") == 200  # the form carries the session's token
    assert await web.post(f"/sign-in/{token}", csrf=False) == 403  # not without it
    assert await web.get(f"/sign-in/{token}") == 200
    assert await web.post(f"/sign-in/{token}") == 303
    assert web_sessions.find(bot.db, old, web.dash.clock()) is None
    assert await web.get("/") == 200


async def test_sign_out_everywhere_ends_every_browser_s_session(
    bot: LocalBot, web: Browser
) -> None:
    other = Browser(TestClient(TestServer(build_app(web.dash))), web.dash)
    await other.client.start_server()
    try:
        web.sign_in(ALICE)
        other.sign_in(ALICE)
        with bot.store.write() as db:  # someone else's stays
            chris = web_sessions.start(db, CHRIS, web.dash.clock(), 3600)
        assert await web.get("/") == 200 and await other.get("/") == 200
        replies = await bot.ask("!dashboard sign out everywhere", sender=ALICE)
        assert replies == [say("dashboard.signed_out", count=2)]
        assert await web.get("/") == 403 and await other.get("/") == 403
        assert web_sessions.find(bot.db, chris, web.dash.clock()) is not None
        replies = await bot.ask("!dashboard sign out everywhere", sender=ALICE)
        assert replies == [say("dashboard.signed_out_none")]
    finally:
        await other.client.close()


async def test_forgetting_a_person_ends_and_deletes_their_sessions_and_links(
    bot: LocalBot, web: Browser
) -> None:
    token = await ask_for_link(bot)
    web.sign_in(ALICE)
    assert await web.get("/") == 200
    with bot.store.write() as db:
        privacy.forget(db, ALICE, keep_words=False, forgetters=bot.registry.forgetters)
    assert bot.count("web_sessions") == 0 and bot.count("web_links") == 0
    assert await web.get("/") == 403
    assert await web.get(f"/sign-in/{token}") == 410


def test_sign_in_tokens_are_hidden_in_logs() -> None:
    token = "Ab3_-xYz" * 5
    record = logging.LogRecord(
        "aiohttp.access", logging.INFO, __file__, 1,
        '127.0.0.1 "GET /sign-in/%s HTTP/1.1" 200 and https://dash.example/sign-in/%s?x',
        (token, token), None,
    )  # fmt: skip
    RedactSecrets().filter(record)
    shown = record.getMessage()
    assert token not in shown and shown.count("/sign-in/[hidden]") == 2
    # Discord's paths are hidden as before.
    assert (
        TOKEN_IN_PATH.sub(r"\1[hidden]", "/interactions/12/tok/x") == "/interactions/12/[hidden]/x"
    )


async def test_signing_in_logs_no_token(bot: LocalBot, caplog: pytest.LogCaptureFixture) -> None:
    """Served the way the bot serves it (``web.app.serve``: no access log)."""
    dash = dashboard_for(bot, public_url=None)
    runner = await serve(build_app(dash), "127.0.0.1", 0)
    caplog.set_level(logging.DEBUG)
    try:
        host, port = runner.addresses[0][:2]
        token = await ask_for_link(bot)
        async with ClientSession() as client:
            for method in ("get", "post"):
                url = f"http://{host}:{port}/sign-in/{token}"
                async with client.request(method, url, allow_redirects=False) as response:
                    assert response.status in (200, 303)
    finally:
        await runner.cleanup()
        dash.reads.close()
    assert token not in caplog.text
    assert all(token not in str(r.args) for r in caplog.records)
