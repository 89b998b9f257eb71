"""Reading and checking the values of the config file, for ``bot.config``.

Every problem is recorded (``Problems``), never raised, so that ``load_config``
can report them all at once, each starting with its key path. ``Section`` reads
one ``[section]`` with typed getters; the ``check_*`` functions each return a
problem message for one value, or None if it is fine.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

PLACEHOLDER_WORD: Final = "CHANGE-ME"
EXAMPLE_DOMAINS: Final = ("example.org", "example.com", "example.net")
PLACEHOLDER_MESSAGE: Final = "still has the example value; put in your own"

_MAX_ID_LENGTH: Final = 255
_SERVER_NAME_RE: Final = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,255})(?::(?P<port>[0-9]{1,5}))?"
)
_USER_ID_RE: Final = re.compile(r"@(?P<localpart>[a-z0-9._=\-/+]+):(?P<server>.+)")
# Room IDs are "!opaque:server"; rooms of version 12 and later have no ":server".
_ROOM_ID_RE: Final = re.compile(r"!(?P<opaque>[^:\s]+)(?::(?P<server>.+))?")

USER_ID_HINT: Final = "must be a full Matrix ID like @name:server"
# Discord's IDs, as the bot stores them: "discord:" and the number (a snowflake).
DISCORD_PREFIX: Final = "discord:"
_SNOWFLAKE_RE: Final = re.compile(r"[0-9]{1,20}")
PERSON_HINT: Final = (
    f"{USER_ID_HINT}, or discord: and a Discord user's ID, like discord:80351110224678912"
)
_SERVER_HINT: Final = (
    "must be a full Matrix ID like @name:server or a server name like council.example"
)


# Checks one list entry: returns a problem message, or None if it is fine.
EntryCheck = Callable[[str], str | None]


# --- collecting problems ---------------------------------------------------


@dataclass
class Problems:
    """The problems found so far, in the order found."""

    lines: list[str] = field(default_factory=list)

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{key}: {message}")


def describe(value: object) -> str:
    """Name a TOML value's type in plain words."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime.date | datetime.time):
        return "a date or time"
    return type(value).__name__


def wrong_type(expected: str, value: object) -> str:
    message = f"must be {expected}, not {describe(value)}"
    if expected == "true or false" and isinstance(value, str):
        message += " (write true or false without quotes)"
    return message


def quoted(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return json.dumps(shown, ensure_ascii=False)


# --- checking single values ------------------------------------------------


def is_placeholder_host(host: str) -> bool:
    """True if ``host`` is one of the reserved example domains or under one."""
    name = host.lower().rstrip(".")
    return any(name == domain or name.endswith("." + domain) for domain in EXAMPLE_DOMAINS)


def has_placeholder_word(value: str) -> bool:
    return PLACEHOLDER_WORD.lower() in value.lower()


def server_host(server: str) -> str | None:
    """The host part of a valid Matrix server name (``host[:port]``), else None."""
    match = _SERVER_NAME_RE.fullmatch(server)
    if match is None:
        return None
    host, port = match["host"], match["port"]
    if port is not None and not 0 < int(port) <= 65535:
        return None
    if not host.startswith("[") and (host.startswith(".") or host.endswith(".") or ".." in host):
        return None
    return host


def user_id_host(value: str) -> str | None:
    """The server host of a valid Matrix user ID, else None."""
    match = _USER_ID_RE.fullmatch(value)
    if match is None or len(value) > _MAX_ID_LENGTH:
        return None
    return server_host(match["server"])


def check_user_id(value: str, bad_format: str) -> str | None:
    """A problem message for a Matrix user ID, or None if it is fine."""
    host = user_id_host(value)
    if host is None:
        return bad_format
    return PLACEHOLDER_MESSAGE if is_placeholder_host(host) else None


def check_person(value: str) -> str | None:
    """A problem message for a person in ``[people]``: a Matrix ID, or a Discord
    user as ``discord:<user ID>``; None if it is fine."""
    if value.startswith(DISCORD_PREFIX):
        number = value.removeprefix(DISCORD_PREFIX)
        return None if _SNOWFLAKE_RE.fullmatch(number) else PERSON_HINT
    return check_user_id(value, PERSON_HINT)


def check_invite_source(value: str) -> str | None:
    """A problem message for an ``allow_invites_from`` entry, or None."""
    if value.startswith("@"):
        return check_user_id(value, USER_ID_HINT)
    host = server_host(value)
    if host is None:
        return _SERVER_HINT
    return PLACEHOLDER_MESSAGE if is_placeholder_host(host) else None


def check_room_id(value: str) -> str | None:
    if value.startswith("#"):
        return "must be a room ID like !abc123:server, not a room address (#name:server)"
    match = _ROOM_ID_RE.fullmatch(value)
    if match is None or len(value) > _MAX_ID_LENGTH:
        return "must be a room ID like !abc123:server"
    if match["server"] is None:
        return None
    host = server_host(match["server"])
    if host is None:
        return "must be a room ID like !abc123:server"
    return PLACEHOLDER_MESSAGE if is_placeholder_host(host) else None


def normalise_homeserver(value: str) -> tuple[str | None, str | None]:
    """Return ``(url, None)`` for a good homeserver URL, or ``(None, problem)``."""
    return normalise_url(value, "like https://matrix.council.example")


def normalise_url(value: str, like: str) -> tuple[str | None, str | None]:
    """Return ``(url, None)`` for a good web address (without a trailing slash), or
    ``(None, problem)``; ``like`` ends the problem with an example."""
    bad = f"must be a web address starting with https:// (or http://), {like}"
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None, bad
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(ch.isspace() for ch in value)
    ):
        return None, bad
    if is_placeholder_host(parts.hostname):
        return None, PLACEHOLDER_MESSAGE
    return value.rstrip("/"), None


def check_timezone(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return "must be a time zone name like Europe/London"
    return None


def check_prefix(prefix: str) -> str | None:
    if not 1 <= len(prefix) <= 3 or any(ch.isspace() for ch in prefix):
        return "must be 1 to 3 characters with no spaces, like !"
    return None


def resolve_path(value: str, base: Path) -> Path:
    path = Path(value)
    try:
        path = path.expanduser()
    except RuntimeError:  # no home folder known; leave "~" as it is
        pass
    return path if path.is_absolute() else base / path


# --- reading a section -----------------------------------------------------


@dataclass
class Section:
    """One ``[section]`` of the file, with typed getters that record problems.

    Getters return None when the key is missing or its value has a problem
    (the problem is recorded); ``has`` tells the two apart.
    """

    name: str
    table: Mapping[str, object]
    problems: Problems
    known: Sequence[str]  # the keys this section may hold

    def key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def has(self, key: str) -> bool:
        return key in self.table

    def text(self, key: str, *, required: bool = False) -> str | None:
        if key not in self.table:
            if required:
                self.problems.add(self.key(key), "missing")
            return None
        return self._text_value(self.key(key), self.table[key])

    def _text_value(self, key: str, value: object) -> str | None:
        if not isinstance(value, str):
            self.problems.add(key, wrong_type("text", value))
            return None
        if not value:
            self.problems.add(key, "must not be empty")
            return None
        if has_placeholder_word(value):
            self.problems.add(key, PLACEHOLDER_MESSAGE)
            return None
        return value

    def snowflake(self, key: str, *, required: bool = False) -> int | None:
        """A Discord ID (a whole number; written with or without quotes)."""
        if key not in self.table:
            if required:
                self.problems.add(self.key(key), "missing")
            return None
        value = self.table[key]
        if isinstance(value, str) and _SNOWFLAKE_RE.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**64:
            self.problems.add(
                self.key(key), "must be a Discord ID, a whole number like 80351110224678912"
            )
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if isinstance(value, bool):
            return value
        self.problems.add(self.key(key), wrong_type("true or false", value))
        return default

    def text_list(self, key: str, check: EntryCheck) -> frozenset[str]:
        """The good entries of a list of text (default empty).

        Bad entries are left out and reported by index, zero-based, with the value.
        """
        value = self.table.get(key, [])
        if not isinstance(value, list):
            self.problems.add(self.key(key), wrong_type("a list", value))
            return frozenset()
        good: set[str] = set()
        for index, item in enumerate(value):
            entry_key = f"{self.key(key)}[{index}]"
            entry = self._text_value(entry_key, item)
            if entry is None:
                continue
            problem = check(entry)
            if problem is None:
                good.add(entry)
            else:
                self.problems.add(entry_key, f"{problem} (got {quoted(entry)})")
        return frozenset(good)

    def checked(self, key: str, value: str | None, problem: str | None) -> str | None:
        """Record ``problem`` for ``key`` if there is one; else pass ``value`` on."""
        if problem is None:
            return value
        self.problems.add(self.key(key), problem)
        return None

    def report_unknown(self) -> None:
        for key in self.table:
            if key not in self.known:
                self.problems.add(self.key(key), "unknown key" + suggestion(key, self.known))


def suggestion(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def read_sections(
    data: Mapping[str, object], layout: Mapping[str, Sequence[str]], problems: Problems
) -> dict[str, Section]:
    """Split the parsed file into the sections of ``layout`` (each section's keys),
    reporting anything else."""
    sections: dict[str, Section] = {}
    for name, known in layout.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            problems.add(name, wrong_type(f"a table (a [{name}] section)", table))
            table = {}
        sections[name] = Section(name, table, problems, known)
    for name, value in data.items():
        if name not in layout:
            problems.add(name, _unknown_top_level(name, value, layout))
    return sections


def _unknown_top_level(name: str, value: object, layout: Mapping[str, Sequence[str]]) -> str:
    if isinstance(value, dict):
        return "unknown section" + suggestion(name, list(layout))
    owners = [section for section, keys in layout.items() if name in keys]
    hint = f" (did you mean to put it under [{owners[0]}]?)" if owners else ""
    return "unknown key outside any [section]" + hint
