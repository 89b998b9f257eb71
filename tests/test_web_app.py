"""The dashboard's frame: who may see it, the headers on every response, the
forgery check on every POST, and refusals as plain pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from webclient import Browser, serving

from localbot import ALICE, CHRIS, MESSAGES, SAM, LocalBot
from storage import web_sessions
from storage.db import Store
from web.render import TEMPLATES, words
from web.sessions import COOKIE


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Browser]:
    bot = LocalBot(tmp_path / "bot")
    async with serving(bot) as browser:
        yield browser
    bot.store.close()


async def test_nobody_signed_in_is_told_how_to_sign_in(web: Browser) -> None:
    assert await web.get("/") == 403
    assert "Please sign in" in web.page
    assert "!dashboard" in web.page


async def test_a_member_sees_nothing_a_champion_no_team_numbers(web: Browser) -> None:
    web.sign_in(SAM)
    assert await web.get("/") == 403
    assert "You cannot see this page" in web.page
    web.sign_in(CHRIS)
    assert await web.get("/") == 200
    assert "Pieces of feedback" not in web.page
    web.sign_in(ALICE)
    assert await web.get("/") == 200
    assert "Pieces of feedback" in web.page


async def test_every_response_carries_the_safety_headers(web: Browser) -> None:
    for path in ("/", "/signed-out", "/no-such-page"):
        async with web.client.get(path) as response:
            policy = response.headers["Content-Security-Policy"]
            assert "script-src" not in policy and "default-src 'none'" in policy
            assert "frame-ancestors 'none'" in policy
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert response.headers["Cache-Control"] == "no-store"
    assert await web.get("/no-such-page") == 404
    assert "Page not found" in web.page


async def test_a_post_without_the_token_or_from_another_site_changes_nothing(
    web: Browser,
) -> None:
    key = web.sign_in(ALICE)
    db, now = web.dash.store.db, web.dash.clock()
    assert await web.get("/") == 200
    assert await web.post("/sign-out", csrf=False) == 403
    assert "Nothing has changed" in web.page
    assert await web.post("/sign-out", {"csrf": "wrong"}, csrf=False) == 403
    for headers in ({"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}):
        assert await web.get("/") == 200
        assert await web.post("/sign-out", headers=headers) == 403
    assert web_sessions.find(db, key, now) is not None  # still signed in


async def test_signing_out_ends_the_session_on_the_server(web: Browser) -> None:
    key = web.sign_in(ALICE)
    assert await web.get("/") == 200
    assert await web.post("/sign-out") == 303
    assert web_sessions.find(web.dash.store.db, key, web.dash.clock()) is None
    # The old key, brought back by hand, opens nothing.
    web.client.session.cookie_jar.update_cookies({COOKIE: key})
    assert await web.get("/") == 403


async def test_a_key_the_browser_makes_up_opens_nothing(web: Browser) -> None:
    web.client.session.cookie_jar.update_cookies({COOKIE: "made-up"})
    assert await web.get("/") == 403


def test_direction_controls_in_peoples_words_are_shown_as_marks() -> None:
    assert words("abc\u202eevil") == "abc[U+202E]evil"
    assert words("plain") == "plain"


def test_a_sign_in_link_is_used_once_in_time_and_looking_uses_nothing(store: Store) -> None:
    with store.write() as db:
        token = web_sessions.issue_link(db, ALICE, 1000.0)
        late = web_sessions.issue_link(db, SAM, 1000.0)
    db = store.db
    assert web_sessions.link_holder(db, token, 1001) == ALICE
    assert web_sessions.link_holder(db, token, 1002) == ALICE  # a preview looked: still there
    assert web_sessions.use_link(db, token, 1003) == ALICE
    assert web_sessions.use_link(db, token, 1004) is None
    assert web_sessions.link_holder(db, token, 1004) is None
    assert web_sessions.use_link(db, late, 1000 + 601) is None  # ten minutes only
    stored = {row[0] for row in db.execute("SELECT token_hash FROM web_links")}
    assert token not in stored and web_sessions.token_hash(token) in stored


def test_every_sentence_a_template_says_is_in_the_catalogue() -> None:
    keys = {
        key
        for template in TEMPLATES.glob("*.html")
        for key in re.findall(r"""say\(\s*["']([\w.]+)["']""", template.read_text())
    }
    assert keys, "the scan found no say() in the templates"
    assert [key for key in sorted(keys) if key not in MESSAGES] == []


async def test_ended_sessions_and_old_links_are_tidied_away_daily(tmp_path: Path) -> None:
    bot = LocalBot(tmp_path / "bot")
    now = bot.clock.time.timestamp()
    with bot.store.write() as db:
        open_key = web_sessions.start(db, ALICE, now, 48 * 3600)
        ended = web_sessions.start(db, ALICE, now, 8 * 3600)
        web_sessions.end(db, ended, now)
        web_sessions.issue_link(db, CHRIS, now)
    bot.scheduler.ensure_daily()
    bot.later(hours=2)
    await bot.tick()
    assert bot.count("web_sessions") == 2 and bot.count("web_links") == 1  # a day not yet
    bot.later(days=1)
    await bot.tick()
    assert bot.count("web_links") == 0 and bot.count("web_sessions") == 1
    assert web_sessions.find(bot.db, open_key, bot.clock.time.timestamp()) is not None
    bot.store.close()
