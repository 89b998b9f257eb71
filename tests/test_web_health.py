"""/healthz, /readyz and /metrics on the dashboard's server: what a monitoring
system needs, and nothing about a person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from webclient import Browser, serving

from localbot import ALICE, SAM, LocalBot, room_named


class HealthBot(LocalBot):
    direct_chats = {room_named("dm-sam"): SAM}


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[tuple[LocalBot, Browser]]:
    bot = HealthBot(tmp_path / "bot")
    async with serving(bot) as browser:
        yield bot, browser
    bot.store.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_healthz_answers_and_readyz_says_each_check(web: tuple[LocalBot, Browser]) -> None:
    _, browser = web
    assert await browser.get("/healthz") == 200 and browser.page == "ok\n"
    assert await browser.get("/readyz") == 200
    assert "database: takes writes" in browser.page


async def test_readyz_is_503_when_something_waits_too_long_to_be_sent(
    web: tuple[LocalBot, Browser],
) -> None:
    bot, browser = web
    await bot.tell_dm(SAM, "!ping")  # its answer waits in the outbox: nothing sends it here
    with bot.store.write() as db:
        db.execute("UPDATE outbox SET created_at = '2020-01-01T00:00:00+00:00'")
    assert await browser.get("/readyz") == 503
    assert "waiting to be sent" in browser.page and SAM not in browser.page


async def test_metrics_count_without_naming_anyone(web: tuple[LocalBot, Browser]) -> None:
    bot, browser = web
    words = "the lift at Oakfield House is broken"
    await bot.tell_dm(SAM, f"!feedback {words}")
    await bot.tell_dm(SAM, "yes")
    bot.message("!ping", sender=ALICE, arrives=True)  # stored, not handled yet
    assert await browser.get("/metrics") == 200
    found = samples(browser.page)
    assert found[("copro_inbox_waiting", (("platform", "matrix"),))] == 1
    assert ("copro_outbox_depth", (("platform", "matrix"),)) in found
    assert found[("copro_dead_letters", ())] == 0
    assert ("copro_database_bytes", (("file", "database"),)) in found
    for private in (SAM, ALICE, "Oakfield", bot.direct_chat(SAM)):
        assert private not in browser.page
