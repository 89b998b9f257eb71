"""Numbers people (or attackers) type: every command that takes one reads it the same
way (ASCII digits, perhaps after "#"), and anything else gets a kind reply."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.answers import LARGEST, number_list, parse_number
from localbot import ALICE, DM, GROUP, SAM, LocalBot, make_bots, say

HOSTILE = ["²", "٣", "9" * 30, "-1", "0", "1e5", "#" + "9" * 25, "1" * 5000]

# Every command that reads a number from what people type; {n} is the number.
NUMBERED = [
    "poll results {n}",
    "poll close {n}",
    "ask close {n}",
    "review {n}",
    "tag {n} transport",
    "wedid {n} We moved the bus stop",
    "export feedback thread {n}",
    "export feedback project {n}",
    "workshop {n}",
    "workshop calendar {n}",
    "workshop needs {n}",
    "workshop cancel {n}",
    "workshop move {n} tomorrow 2pm",
    "going {n}",
    "maybe {n}",
    "cantgo {n}",
    "needs {n}",
    "attended {n} @sam:council.test",
    "workshop new Tea | tomorrow 2pm | Library | Chat | capacity {n}",
    "workshop new Tea | tomorrow 2pm | Library | Chat | project {n}",
    "workshop new Tea | tomorrow 2pm | Library | Chat | lasts {n} minutes",
    "workshop new Tea | in {n} days | Library | Chat",
    "poll Which day? | Monday | Tuesday | up to {n}",
    "project {n}",
    "join {n}",
    "leave {n}",
    "stage {n} design",
    "invite {n} @sam:council.test",
    "project set {n} | summary Something new",
]


class NumbersBot(LocalBot):
    direct_chats = {DM: ALICE}


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., NumbersBot]]:
    with make_bots(NumbersBot, tmp_path) as make:
        yield make


@pytest.mark.parametrize("command", NUMBERED)
async def test_hostile_numbers_get_a_kind_reply(
    make_bot: Callable[..., NumbersBot], command: str
) -> None:
    bot = make_bot(team_room=GROUP)
    internal = say("errors.internal", ref="X").split("{")[0][:30]
    for room in (GROUP, DM):
        for typed in HOSTILE:
            mark = bot.mark()
            await bot.ask("!" + command.format(n=typed), sender=ALICE, room_id=room)
            replies = [out.body for out in bot.after(mark)]
            assert replies, (command, typed)
            assert not any(internal[:25] in r for r in replies), (command, typed, replies)
            assert all(len(r) < 2000 for r in replies), (command, typed)
    # make_bots fails the test if any of these ended in dead_letters


async def test_a_number_too_big_for_any_id_is_not_found(
    make_bot: Callable[..., NumbersBot],
) -> None:
    bot = make_bot()
    replies = await bot.ask("!going " + "9" * 25, sender=SAM)
    assert replies == [say("workshop.not_found", number=LARGEST)]


@pytest.mark.parametrize(
    ("typed", "number"),
    [("12", 12), ("#12", 12), (" 7 ", 7), ("0", 0), ("007", 7), ("9" * 30, LARGEST)],
)
def test_parse_number_reads_ascii_digits(typed: str, number: int) -> None:
    assert parse_number(typed) == number


@pytest.mark.parametrize("typed", ["", "#", "²", "٣", "-1", "+1", "1e5", "1.5", "1 2", "x1", "١٢"])
def test_parse_number_refuses_anything_else(typed: str) -> None:
    assert parse_number(typed) is None


def test_number_list_reads_ascii_digits_only() -> None:
    assert number_list("1, 3 and 4") == [1, 3, 4]
    assert number_list("#2 #5.") == [2, 5]
    assert number_list("٣") is None
    assert number_list("1, ²") is None
