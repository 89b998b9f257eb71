"""The helpers command modules share (commands/common.py)."""

from __future__ import annotations

import pytest

from bot.context import UserError
from commands.common import by_number_or_newest

THINGS = {2: "two", 5: "five"}
KEYS = ("x.number_needed", "x.not_found", "x.none")


def pick(text: str, newest: str | None = "five") -> str:
    return by_number_or_newest(text, THINGS.get, lambda: newest, *KEYS)


def test_a_number_names_the_thing_and_no_number_the_newest() -> None:
    assert pick("2") == "two"
    assert pick(" #2 ") == "two"
    assert pick("") == "five"
    assert pick("   ") == "five"


@pytest.mark.parametrize(
    ("text", "newest", "key", "values"),
    [
        ("last", "five", "x.number_needed", {"text": "last"}),
        ("x" * 30, "five", "x.number_needed", {"text": "x" * 20}),
        ("3", "five", "x.not_found", {"number": 3}),
        ("", None, "x.none", {}),
    ],
)
def test_what_goes_wrong_says_which_key(
    text: str, newest: str | None, key: str, values: dict[str, object]
) -> None:
    with pytest.raises(UserError) as caught:
        pick(text, newest)
    assert (caught.value.key, caught.value.values) == (key, values)
