"""The messages catalogue: every sentence the bot sends, in ``messages.toml``.

The team can edit the TOML file without touching code. Each entry has
``text`` (with ``{placeholders}``), ``sample`` values used by the
plain-language test, and optionally ``audience = "staff"`` for messages
only staff see (these are exempt from the reading-ease score).

A sentence with a number in it may also have ``one``: the words used when its
``{count}`` is 1 ("1 person has answered" beside "{count} people have answered"),
or when the placeholder named by ``one_for`` is. ``plural_only = true`` says a
number there is never 1 (a limit such as "{most} letters"): a test checks that
every number followed by a plural word has one of the two.

Every filled-in value is shortened to ``VALUE_LIMIT`` characters, ending in "…":
people's words echoed back ("You gave the setting closes … twice") can never make
a message too big to send.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("messages.toml")
# The longest a filled-in value may be: as long as the longest thing people may
# set and see again in full (a workshop's details).
VALUE_LIMIT = 2000
ELLIPSIS = "…"


def shorten(text: str, limit: int = VALUE_LIMIT) -> str:
    """``text``, or its first ``limit`` - 1 characters and "…" if it is longer."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


@dataclass(frozen=True)
class Entry:
    key: str
    text: str
    sample: Mapping[str, str] = field(default_factory=dict)
    audience: str = "people"
    one: str | None = None  # the words when {count} (or {<one_for>}) is 1
    one_for: str = "count"
    plural_only: bool = False  # its numbers are never 1, so it needs no ``one``

    @property
    def placeholders(self) -> set[str]:
        return {
            name for form in self.forms for _, name, _, _ in string.Formatter().parse(form) if name
        }

    @property
    def forms(self) -> tuple[str, ...]:
        """Every way the entry can read (its text, and its singular if it has one)."""
        return (self.text,) if self.one is None else (self.text, self.one)

    def pick(self, values: Mapping[str, object]) -> str:
        """The form for these values: ``one`` when ``count`` (or ``one_for``) is 1."""
        if self.one is not None and str(values.get(self.one_for)) == "1":
            return self.one
        return self.text


class Messages:
    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self._entries = dict(entries)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> Messages:
        with path.open("rb") as f:
            data = tomllib.load(f)
        return cls({e.key: e for e in _entries(data, "")})

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def get(self, key: str, **values: object) -> str:
        """The message ``key`` filled with ``values``, each shortened to ``VALUE_LIMIT``.
        Raises KeyError if unknown."""
        entry = self._entries[key]
        return entry.pick(values).format_map({k: shorten(str(v)) for k, v in values.items()})


def _entries(table: dict[str, Any], prefix: str) -> Iterator[Entry]:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if not isinstance(value, dict):
            raise ValueError(f"messages: {key} should be a table with a text")
        if "text" in value:
            yield Entry(
                key=key,
                text=value["text"],
                sample={k: str(v) for k, v in value.get("sample", {}).items()},
                audience=value.get("audience", "people"),
                one=value.get("one"),
                one_for=value.get("one_for", "count"),
                plural_only=value.get("plural_only", False),
            )
        else:
            yield from _entries(value, f"{key}.")
