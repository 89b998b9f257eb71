"""Suggested themes on the dashboard: made from the words of the feedback the
filters select, only suggestions until accepted, then added as themes (the same
as ``!tag``); names given twice merge; who may; words shown as text."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from test_feedback import FeedbackBot
from webclient import HOSTILE, Browser, serving

from localbot import ALICE, CHRIS, GROUP, SAM, make_bots, say
from storage import feedback as store

Setup = tuple[FeedbackBot, Browser]

BUSES = [
    "The bus to the centre is late every morning.",
    "The bus driver was kind but the bus was late.",
    "A later bus would help, the early bus is too early.",
    "The bus stop has no shelter from the rain.",
    "The bus timetable changed and nobody told us.",
    "More bus routes would let me come on Fridays.",
]
LUNCH = [
    "Lunch was cold and the soup had no taste.",
    "The lunch menu needs a vegetarian choice.",
    "Lunch is served too early, at half eleven.",
    "The lunch portions are small and the soup is cold.",
    "Please have hot lunch and fresh fruit.",
    "The lunch queue is long and the soup runs out.",
]


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., FeedbackBot]]:
    with make_bots(FeedbackBot, tmp_path) as make:
        yield make


@pytest.fixture
async def both(make_bot: Callable[..., FeedbackBot]) -> AsyncIterator[Setup]:
    bot = make_bot()
    async with serving(bot) as web:
        web.sign_in(ALICE)
        yield bot, web


def add_all(bot: FeedbackBot, texts: list[str], project_id: int | None = None) -> list[int]:
    with bot.store.write() as db:
        return [
            store.add(db, text, source="command", user_id=SAM, room_id=GROUP, event_id=None,
                      project_id=project_id)
            for text in texts
        ]  # fmt: skip


def suggested(page: str) -> dict[str, tuple[str, set[int]]]:
    """Each suggestion on the page: its number -> (the name offered, the pieces)."""
    names = dict(re.findall(r'name="name-(\d+)" value="([^"]*)"', page))
    ids = dict(re.findall(r'name="ids-(\d+)" value="([^"]*)"', page))
    return {n: (names[n], {int(i) for i in ids[n].split(",") if i}) for n in names}


def themes_of(bot: FeedbackBot, numbers: list[int]) -> dict[int, list[str]]:
    return {n: store.themes(bot.db, n) for n in numbers}


async def test_suggestions_keep_nothing_until_accepted(both: Setup) -> None:
    bot, web = both
    made = add_all(bot, BUSES + LUNCH)
    assert await web.get("/themes") == 200
    found = suggested(web.page)
    assert found, "some suggestions for two clear groups"
    assert all(ids <= set(made) for _, ids in found.values())
    assert say("web.themes.from", count=12, most="2,000") in web.page
    assert themes_of(bot, made) == {n: [] for n in made}
    assert await web.post("/themes", {}) == 303  # nothing accepted
    assert themes_of(bot, made) == {n: [] for n in made}


async def test_accepted_names_become_themes_and_the_same_name_merges(both: Setup) -> None:
    bot, web = both
    made = add_all(bot, BUSES + LUNCH)
    assert await web.get("/themes") == 200
    found = suggested(web.page)
    assert len(found) >= 2
    (first, (_, first_ids)), (second, (_, second_ids)) = list(found.items())[:2]
    form = {
        "accept": first,
        f"name-{first}": "  Getting  THERE ",
        f"ids-{first}": ",".join(map(str, first_ids)),
        f"name-{second}": "not accepted",
        f"ids-{second}": ",".join(map(str, second_ids)),
    }
    async with web.client.post("/themes", data={"csrf": web.csrf, **form},
                               allow_redirects=False) as response:  # fmt: skip
        assert response.status == 303
        assert response.headers["Location"] == "/themes?done=added"
    for number in made:
        expected = ["getting there"] if number in first_ids else []
        assert store.themes(bot.db, number) == expected
    assert "not accepted" not in store.theme_names(bot.db)
    # Two accepted under one name: one theme on the pieces of both.
    assert await web.get("/themes") == 200
    merged = {
        "accept": [first, second],
        f"name-{first}": "centre life",
        f"ids-{first}": ",".join(map(str, first_ids)),
        f"name-{second}": "Centre Life",
        f"ids-{second}": ",".join(map(str, second_ids)),
    }
    data = [("csrf", web.csrf)] + [
        (key, value) for key, values in merged.items()
        for value in (values if isinstance(values, list) else [values])
    ]  # fmt: skip
    async with web.client.post("/themes", data=data, allow_redirects=False) as response:
        assert response.status == 303
    for number in first_ids | second_ids:
        assert "centre life" in store.themes(bot.db, number)
    assert store.theme_names(bot.db) == ["centre life", "getting there"]
    assert await web.get("/themes?done=added") == 200
    assert say("web.themes.done.added") in web.page


async def test_the_filters_choose_the_feedback(both: Setup) -> None:
    bot, web = both
    project = bot.add_project("Lunch club")
    add_all(bot, BUSES)
    lunch = add_all(bot, LUNCH, project_id=project)
    assert await web.get(f"/themes?project={project}") == 200
    assert say("web.themes.from", count=6, most="2,000") in web.page
    for _, ids in suggested(web.page).values():
        assert ids <= set(lunch)
    assert f'action="/themes?project={project}"' in web.page


async def test_nothing_to_suggest_from(both: Setup) -> None:
    _, web = both
    assert await web.get("/themes") == 200
    assert say("web.themes.none") in web.page


async def test_a_post_without_the_token_changes_nothing(both: Setup) -> None:
    bot, web = both
    made = add_all(bot, BUSES + LUNCH)
    assert await web.get("/themes") == 200
    number, (_, ids) = next(iter(suggested(web.page).items()))
    form = {"accept": number, f"name-{number}": "x", f"ids-{number}": ",".join(map(str, ids))}
    assert await web.post("/themes", form, csrf=False) == 403
    assert await web.post("/themes", {**form, "csrf": "wrong"}, csrf=False) == 403
    assert store.theme_names(bot.db) == [] and themes_of(bot, made) == {n: [] for n in made}


@pytest.mark.parametrize("person", [None, SAM, CHRIS])
async def test_only_the_team_sees_or_accepts(both: Setup, person: str | None) -> None:
    bot, _ = both
    made = add_all(bot, BUSES + LUNCH)
    async with serving(bot) as other:
        if person:
            other.sign_in(person)
        assert await other.get("/themes") == 403
        assert "bus" not in other.page.lower()
        form = {"accept": "1", "name-1": "x", "ids-1": ",".join(map(str, made)), "csrf": "x"}
        assert await other.post("/themes", form, csrf=False) == 403
    assert store.theme_names(bot.db) == []


async def test_hostile_words_are_shown_as_text(both: Setup) -> None:
    bot, web = both
    pieces = BUSES + LUNCH
    add_all(bot, [f"{HOSTILE[n % len(HOSTILE)]} {text}" for n, text in enumerate(pieces)])
    assert await web.get("/themes") == 200
    assert suggested(web.page)
    visible = re.sub(r'value="[^"]*"', "", web.page)
    assert "<script" not in web.page and "<img" not in web.page and "\u202e" not in visible
    assert "&lt;script&gt;" in web.page and "[U+202E]" in web.page
