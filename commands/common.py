"""Small helpers that more than one command module needs, so each lives once.

The time of what is being handled is ``Context.now``; understanding short replies
(yes or no, a number, a list of numbers) is ``bot.answers``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlite_utils import Database

from bot.answers import parse_number
from bot.context import UserError, UserId
from storage import conversations

T = TypeVar("T")


def by_number_or_newest(
    text: str,
    get: Callable[[int], T | None],
    newest: Callable[[], T | None],
    number_needed: str,
    not_found: str,
    none: str,
) -> T:
    """The thing a person named by its number (``get``), or with no number ``newest()``.

    The last three are catalogue keys for what goes wrong: the words are not a number
    (given ``text``), nothing has that number (given ``number``), or there is no
    newest one.
    """
    text = text.strip()
    if not text:
        found = newest()
        if found is None:
            raise UserError(none)
        return found
    number = parse_number(text)
    if number is None:
        raise UserError(number_needed, text=text[:20])
    found = get(number)
    if found is None:
        raise UserError(not_found, number=number)
    return found


def read_people(
    words: Iterable[str], person: Callable[[str], UserId | None]
) -> tuple[list[UserId], list[str]]:
    """People's chat IDs as typed in a command (``person`` is the platform's reader):
    each person once, in the order given, and the words that are not an ID."""
    found: dict[UserId, None] = {}
    wrong: list[str] = []
    for word in words:
        who = person(word)
        if who is None:
            wrong.append(word)
        else:
            found[who] = None
    return list(found), wrong


def stop_asking(db: Database, person: str, kind: str, ref: str) -> None:
    """Stop waiting for the person's answer, if it is this question we wait for."""
    waiting = conversations.pending(db, person)
    if waiting is not None and waiting.kind == kind and waiting.ref == ref:
        conversations.finish(db, person, kind)
