"""Typed, frozen configuration loaded once from a TOML file.

The names here are a contract: deployments and later features rely on them.
Every key is documented in ``config.example.toml``.

``load_config`` reads the file, applies secrets from the environment, and checks
everything at once: if anything is wrong it raises one ``ConfigError`` that lists
every problem, one per line, each starting with the key path (``matrix.user_id:``).
It only reads; it never creates folders or writes files.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A problem with the config file. ``str()`` names the key path first.

    ``problems`` holds every problem found, one line each; ``str()`` joins them
    with newlines.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        lines = problems.splitlines() if isinstance(problems, str) else list(problems)
        self.problems: list[str] = lines
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    device_name: str


@dataclass(frozen=True)
class StorageConfig:
    database: Path
    data_dir: Path


@dataclass(frozen=True)
class PeopleConfig:
    team: frozenset[str]
    champions: frozenset[str]


@dataclass(frozen=True)
class RoomsConfig:
    team_room: str | None
    # Full Matrix IDs ("@alice:council.example") and/or server names
    # ("council.example"). Team members and champions may always invite.
    allow_invites_from: frozenset[str]
    follow_upgrades: bool
    # Direct chats and project rooms the bot makes are encrypted from the start.
    encrypt_new_rooms: bool = True
    # Who may open a direct chat with the bot (group rooms: only those above).
    accept_direct_chats_from: str = "same server"


@dataclass(frozen=True)
class BotConfig:
    prefix: str
    timezone: str
    log_level: str
    # Minutes the bot waits for the answer to a question before it stops waiting.
    questions_expire_minutes: int = 30


@dataclass(frozen=True)
class ProjectsConfig:
    # Days to wait before one gentle reminder about an unanswered invitation.
    reminder_after_days: int = 3
    # Areas people may say they live in (for example the council's districts).
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkshopsConfig:
    # When to remind people who are going, before the start ("1 day", "1 hour").
    reminders: tuple[str, ...] = ("1 day", "1 hour")


@dataclass(frozen=True)
class SafeguardingConfig:
    # Words and phrases that may mean someone is at risk (matched whole, any case).
    phrases: tuple[str, ...] = ()
    # What to send them privately: real contact details, from the council. The
    # bot never makes any up; check-config warns when this is empty.
    signposting: str = ""


@dataclass(frozen=True)
class PrivacyConfig:
    # Days to keep what people said; a daily job deletes older text. 0: keep.
    retention_days: int = 730


@dataclass(frozen=True)
class PollsConfig:
    # May people who are neither champions nor in the team start polls?
    members_can_start: bool = False


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig
    storage: StorageConfig
    people: PeopleConfig
    rooms: RoomsConfig
    bot: BotConfig
    polls: PollsConfig = field(default_factory=lambda: PollsConfig())
    projects: ProjectsConfig = field(default_factory=lambda: ProjectsConfig())
    workshops: WorkshopsConfig = field(default_factory=lambda: WorkshopsConfig())
    safeguarding: SafeguardingConfig = field(default_factory=lambda: SafeguardingConfig())
    privacy: PrivacyConfig = field(default_factory=lambda: PrivacyConfig())


# --- constants -------------------------------------------------------------

PASSWORD_ENV: Final = "COPRO_MATRIX_PASSWORD"
ACCESS_TOKEN_ENV: Final = "COPRO_MATRIX_ACCESS_TOKEN"

DEFAULT_DEVICE_NAME: Final = "copro-bot"
DEFAULT_PREFIX: Final = "!"
DEFAULT_TIMEZONE: Final = "Europe/London"
DEFAULT_LOG_LEVEL: Final = "INFO"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
# rooms.accept_direct_chats_from: "same server" (people with an account on the bot's
# own homeserver), "anyone" (any server), or "listed only" (the team, champions and
# rooms.allow_invites_from, as for group rooms). Those listed may always.
DIRECT_CHATS_FROM: Final = ("same server", "anyone", "listed only")

PLACEHOLDER_WORD: Final = "CHANGE-ME"
EXAMPLE_DOMAINS: Final = ("example.org", "example.com", "example.net")
PLACEHOLDER_MESSAGE: Final = "still has the example value; put in your own"

# Every section and the keys it may hold. Anything else is reported as unknown.
SECTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "matrix": ("homeserver", "user_id", "password", "access_token", "device_name"),
        "storage": ("database", "data_dir"),
        "people": ("team", "champions"),
        "rooms": (
            "team_room",
            "allow_invites_from",
            "follow_upgrades",
            "encrypt_new_rooms",
            "accept_direct_chats_from",
        ),
        "bot": ("prefix", "timezone", "log_level", "questions_expire_minutes"),
        "polls": ("members_can_start",),
        "projects": ("reminder_after_days", "areas"),
        "workshops": ("reminders",),
        "safeguarding": ("phrases", "signposting"),
        "privacy": ("retention_days",),
    }
)

_MAX_ID_LENGTH: Final = 255
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_SERVER_NAME_RE: Final = re.compile(
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,255})(?::(?P<port>[0-9]{1,5}))?"
)
_USER_ID_RE: Final = re.compile(r"@(?P<localpart>[a-z0-9._=\-/+]+):(?P<server>.+)")
# Room IDs are "!opaque:server"; rooms of version 12 and later have no ":server".
_ROOM_ID_RE: Final = re.compile(r"!(?P<opaque>[^:\s]+)(?::(?P<server>.+))?")

_USER_ID_HINT: Final = "must be a full Matrix ID like @name:server"
_SERVER_HINT: Final = (
    "must be a full Matrix ID like @name:server or a server name like council.example"
)


# Checks one list entry: returns a problem message, or None if it is fine.
EntryCheck = Callable[[str], str | None]


# --- collecting problems ---------------------------------------------------


@dataclass
class _Problems:
    """The problems found so far, in the order found."""

    lines: list[str] = field(default_factory=list)

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{key}: {message}")


def _describe(value: object) -> str:
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


def _wrong_type(expected: str, value: object) -> str:
    message = f"must be {expected}, not {_describe(value)}"
    if expected == "true or false" and isinstance(value, str):
        message += " (write true or false without quotes)"
    return message


def _quoted(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return json.dumps(shown, ensure_ascii=False)


# --- checking single values ------------------------------------------------


def is_placeholder_host(host: str) -> bool:
    """True if ``host`` is one of the reserved example domains or under one."""
    name = host.lower().rstrip(".")
    return any(name == domain or name.endswith("." + domain) for domain in EXAMPLE_DOMAINS)


def _has_placeholder_word(value: str) -> bool:
    return PLACEHOLDER_WORD.lower() in value.lower()


def _server_host(server: str) -> str | None:
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


def _user_id_host(value: str) -> str | None:
    """The server host of a valid Matrix user ID, else None."""
    match = _USER_ID_RE.fullmatch(value)
    if match is None or len(value) > _MAX_ID_LENGTH:
        return None
    return _server_host(match["server"])


def _check_user_id(value: str, bad_format: str) -> str | None:
    """A problem message for a Matrix user ID, or None if it is fine."""
    host = _user_id_host(value)
    if host is None:
        return bad_format
    return PLACEHOLDER_MESSAGE if is_placeholder_host(host) else None


def _check_invite_source(value: str) -> str | None:
    """A problem message for an ``allow_invites_from`` entry, or None."""
    if value.startswith("@"):
        return _check_user_id(value, _USER_ID_HINT)
    host = _server_host(value)
    if host is None:
        return _SERVER_HINT
    return PLACEHOLDER_MESSAGE if is_placeholder_host(host) else None


def _check_room_id(value: str) -> str | None:
    if value.startswith("#"):
        return "must be a room ID like !abc123:server, not a room address (#name:server)"
    match = _ROOM_ID_RE.fullmatch(value)
    if match is None or len(value) > _MAX_ID_LENGTH:
        return "must be a room ID like !abc123:server"
    if match["server"] is None:
        return None
    host = _server_host(match["server"])
    if host is None:
        return "must be a room ID like !abc123:server"
    return PLACEHOLDER_MESSAGE if is_placeholder_host(host) else None


def _normalise_homeserver(value: str) -> tuple[str | None, str | None]:
    """Return ``(url, None)`` for a good homeserver URL, or ``(None, problem)``."""
    bad = "must be a web address starting with https:// (or http://), like https://matrix.council.example"
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


def _check_timezone(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return "must be a time zone name like Europe/London"
    return None


def _check_prefix(prefix: str) -> str | None:
    if not 1 <= len(prefix) <= 3 or any(ch.isspace() for ch in prefix):
        return "must be 1 to 3 characters with no spaces, like !"
    return None


def _resolve_path(value: str, base: Path) -> Path:
    path = Path(value)
    try:
        path = path.expanduser()
    except RuntimeError:  # no home folder known; leave "~" as it is
        pass
    return path if path.is_absolute() else base / path


# --- reading a section -----------------------------------------------------


@dataclass
class _Section:
    """One ``[section]`` of the file, with typed getters that record problems.

    Getters return None when the key is missing or its value has a problem
    (the problem is recorded); ``has`` tells the two apart.
    """

    name: str
    table: Mapping[str, object]
    problems: _Problems

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
            self.problems.add(key, _wrong_type("text", value))
            return None
        if not value:
            self.problems.add(key, "must not be empty")
            return None
        if _has_placeholder_word(value):
            self.problems.add(key, PLACEHOLDER_MESSAGE)
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if isinstance(value, bool):
            return value
        self.problems.add(self.key(key), _wrong_type("true or false", value))
        return default

    def text_list(self, key: str, check: EntryCheck) -> frozenset[str]:
        """The good entries of a list of text (default empty).

        Bad entries are left out and reported by index, zero-based, with the value.
        """
        value = self.table.get(key, [])
        if not isinstance(value, list):
            self.problems.add(self.key(key), _wrong_type("a list", value))
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
                self.problems.add(entry_key, f"{problem} (got {_quoted(entry)})")
        return frozenset(good)

    def checked(self, key: str, value: str | None, problem: str | None) -> str | None:
        """Record ``problem`` for ``key`` if there is one; else pass ``value`` on."""
        if problem is None:
            return value
        self.problems.add(self.key(key), problem)
        return None

    def report_unknown(self) -> None:
        known = SECTIONS[self.name]
        for key in self.table:
            if key not in known:
                self.problems.add(self.key(key), "unknown key" + _suggestion(key, known))


def _suggestion(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _sections(data: Mapping[str, object], problems: _Problems) -> dict[str, _Section]:
    """Split the parsed file into its known sections, reporting anything else."""
    sections: dict[str, _Section] = {}
    for name in SECTIONS:
        table = data.get(name, {})
        if not isinstance(table, dict):
            problems.add(name, _wrong_type(f"a table (a [{name}] section)", table))
            table = {}
        sections[name] = _Section(name, table, problems)
    for name, value in data.items():
        if name not in SECTIONS:
            problems.add(name, _unknown_top_level(name, value))
    return sections


def _unknown_top_level(name: str, value: object) -> str:
    if isinstance(value, dict):
        return "unknown section" + _suggestion(name, list(SECTIONS))
    owners = [section for section, keys in SECTIONS.items() if name in keys]
    hint = f" (did you mean to put it under [{owners[0]}]?)" if owners else ""
    return "unknown key outside any [section]" + hint


# --- building each part ----------------------------------------------------


def _secret(section: _Section, key: str, env_var: str, env: Mapping[str, str]) -> str | None:
    """A secret from the environment if set there, else from the file."""
    from_env = env.get(env_var, "")
    if not from_env:
        return section.text(key)
    if _has_placeholder_word(from_env):
        section.problems.add(section.key(key), f"{PLACEHOLDER_MESSAGE} (from {env_var})")
        return None
    return from_env


def _matrix(section: _Section, env: Mapping[str, str]) -> MatrixConfig:
    homeserver = section.text("homeserver", required=True)
    if homeserver is not None:
        homeserver = section.checked("homeserver", *_normalise_homeserver(homeserver))
    user_id = section.text("user_id", required=True)
    if user_id is not None:
        user_id = section.checked(
            "user_id", user_id, _check_user_id(user_id, "must look like @name:server")
        )
    password = _secret(section, "password", PASSWORD_ENV, env)
    access_token = _secret(section, "access_token", ACCESS_TOKEN_ENV, env)
    _check_one_secret(section, password, access_token, env)
    device_name = section.text("device_name") or DEFAULT_DEVICE_NAME
    return MatrixConfig(
        homeserver=homeserver or "",
        user_id=user_id or "",
        password=password,
        access_token=access_token,
        device_name=device_name,
    )


def _check_one_secret(
    section: _Section, password: str | None, access_token: str | None, env: Mapping[str, str]
) -> None:
    if password is not None and access_token is not None:
        section.problems.add(
            section.key("password"),
            "give either a password or an access token, not both "
            f"(check the file and the {PASSWORD_ENV} / {ACCESS_TOKEN_ENV} environment variables)",
        )
        return
    # A secret that was given but refused has already been reported.
    attempted = (
        section.has("password")
        or section.has("access_token")
        or bool(env.get(PASSWORD_ENV))
        or bool(env.get(ACCESS_TOKEN_ENV))
    )
    if password is None and access_token is None and not attempted:
        section.problems.add(
            section.key("password"),
            "missing; set matrix.password or matrix.access_token, "
            f"or the {PASSWORD_ENV} or {ACCESS_TOKEN_ENV} environment variable",
        )


def _storage(section: _Section, base: Path) -> StorageConfig:
    database = _path(section, "database", base, want_folder=False)
    data_dir = _path(section, "data_dir", base, want_folder=True)
    return StorageConfig(database=database or base, data_dir=data_dir or base)


def _path(section: _Section, key: str, base: Path, *, want_folder: bool) -> Path | None:
    value = section.text(key, required=True)
    if value is None:
        return None
    path = _resolve_path(value, base)
    if want_folder and path.exists() and not path.is_dir():
        section.problems.add(section.key(key), f"{path} is a file, not a folder")
        return None
    if not want_folder and path.is_dir():
        section.problems.add(
            section.key(key), f"{path} is a folder; give the path of the SQLite file"
        )
        return None
    return path


def _people(section: _Section) -> PeopleConfig:
    def check(entry: str) -> str | None:
        return _check_user_id(entry, _USER_ID_HINT)

    return PeopleConfig(
        team=section.text_list("team", check),
        champions=section.text_list("champions", check),
    )


def _rooms(section: _Section) -> RoomsConfig:
    team_room = section.text("team_room")
    if team_room is not None:
        team_room = section.checked("team_room", team_room, _check_room_id(team_room))
    return RoomsConfig(
        team_room=team_room,
        allow_invites_from=section.text_list("allow_invites_from", _check_invite_source),
        follow_upgrades=section.boolean("follow_upgrades", True),
        encrypt_new_rooms=section.boolean("encrypt_new_rooms", True),
        accept_direct_chats_from=_direct_chats_from(section),
    )


def _direct_chats_from(section: _Section) -> str:
    value = section.text("accept_direct_chats_from")
    if value is None:
        return DIRECT_CHATS_FROM[0]
    plain = " ".join(value.lower().replace("-", " ").replace("_", " ").split())
    if plain not in DIRECT_CHATS_FROM:
        choices = ", ".join(f'"{c}"' for c in DIRECT_CHATS_FROM)
        section.problems.add(section.key("accept_direct_chats_from"), "must be one of " + choices)
        return DIRECT_CHATS_FROM[0]
    return plain


def _bot(section: _Section) -> BotConfig:
    prefix = section.text("prefix")
    if prefix is not None:
        prefix = section.checked("prefix", prefix, _check_prefix(prefix))
    timezone = section.text("timezone")
    if timezone is not None:
        timezone = section.checked("timezone", timezone, _check_timezone(timezone))
    return BotConfig(
        prefix=prefix or DEFAULT_PREFIX,
        timezone=timezone or DEFAULT_TIMEZONE,
        log_level=_log_level(section),
        questions_expire_minutes=_expire_minutes(section),
    )


def _expire_minutes(section: _Section) -> int:
    minutes = section.table.get("questions_expire_minutes", 30)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 10_080:
        section.problems.add(
            section.key("questions_expire_minutes"),
            "must be a whole number of minutes, 1 to 10080 (a week)",
        )
        minutes = 30
    return minutes


def _projects(section: _Section) -> ProjectsConfig:
    days = section.table.get("reminder_after_days", 3)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 60:
        section.problems.add(
            section.key("reminder_after_days"), "must be a whole number of days, 1 to 60"
        )
        days = 3
    areas = section.table.get("areas", [])
    if not isinstance(areas, list) or not all(isinstance(a, str) and a.strip() for a in areas):
        section.problems.add(section.key("areas"), 'must be a list of area names, like ["Oxford"]')
        areas = []
    return ProjectsConfig(reminder_after_days=days, areas=tuple(a.strip() for a in areas))


def _workshops(section: _Section) -> WorkshopsConfig:
    from bot.when import parse_duration  # the same words people use for times

    reminders = section.table.get("reminders", ["1 day", "1 hour"])
    if not isinstance(reminders, list) or not all(
        isinstance(r, str) and parse_duration(r) for r in reminders
    ):
        section.problems.add(
            section.key("reminders"),
            'must be a list of times before the start, like ["1 day", "1 hour"]',
        )
        return WorkshopsConfig()
    return WorkshopsConfig(reminders=tuple(reminders))


def _safeguarding(section: _Section) -> SafeguardingConfig:
    phrases = section.table.get("phrases", [])
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
        section.problems.add(
            section.key("phrases"), 'must be a list of words or phrases, like ["hurt myself"]'
        )
        phrases = []
    signposting = section.text("signposting") or ""
    return SafeguardingConfig(
        phrases=tuple(p.strip().lower() for p in phrases), signposting=signposting.strip()
    )


def _privacy(section: _Section) -> PrivacyConfig:
    days = section.table.get("retention_days", 730)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        section.problems.add(
            section.key("retention_days"), "must be a whole number of days (0 keeps everything)"
        )
        days = 730
    return PrivacyConfig(retention_days=days)


def _log_level(section: _Section) -> str:
    value = section.text("log_level")
    if value is None:
        return DEFAULT_LOG_LEVEL
    if value.upper() not in LOG_LEVELS:
        section.problems.add(section.key("log_level"), "must be one of " + ", ".join(LOG_LEVELS))
        return DEFAULT_LOG_LEVEL
    return value.upper()


# --- public API ------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: is not valid TOML: {err}") from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, check and return the config at ``path``.

    ``env`` (default ``os.environ``) may supply ``COPRO_MATRIX_PASSWORD`` and
    ``COPRO_MATRIX_ACCESS_TOKEN``, which override the file. Relative paths are
    resolved against the config file's folder. Raises ``ConfigError`` listing
    every problem. Never creates or writes anything.
    """
    file = Path(path)
    data = _read_toml(file)
    problems = _Problems()
    sections = _sections(data, problems)
    base = file.absolute().parent
    # The builders put stand-in values where a problem was recorded; such a
    # Config is never returned.
    config = Config(
        matrix=_matrix(sections["matrix"], os.environ if env is None else env),
        storage=_storage(sections["storage"], base),
        people=_people(sections["people"]),
        rooms=_rooms(sections["rooms"]),
        bot=_bot(sections["bot"]),
        polls=PollsConfig(members_can_start=sections["polls"].boolean("members_can_start", False)),
        projects=_projects(sections["projects"]),
        workshops=_workshops(sections["workshops"]),
        safeguarding=_safeguarding(sections["safeguarding"]),
        privacy=_privacy(sections["privacy"]),
    )
    for section in sections.values():
        section.report_unknown()
    if problems.lines:
        raise ConfigError(problems.lines)
    return config


def config_warnings(config: Config) -> list[str]:
    """Things that are allowed but probably not what was meant, one line each."""
    warnings: list[str] = []
    if not config.people.team:
        warnings.append("people.team: nobody is in the team, so nobody can run team commands")
    if not config.safeguarding.signposting:
        warnings.append(
            "safeguarding.signposting: empty, so someone who tells the bot they are at risk "
            "gets no contact details (the bot never makes them up); add your emergency and "
            "adult safeguarding numbers"
        )
    if not config.safeguarding.phrases:
        warnings.append(
            "safeguarding.phrases: empty, so no message is flagged for a safeguarding check"
        )
    if not config.rooms.encrypt_new_rooms:
        warnings.append(
            "rooms.encrypt_new_rooms: false, so the direct chats and project rooms the bot "
            "makes are not encrypted (unless the homeserver encrypts new rooms itself): "
            "people's access needs and !mydata files are stored readable on the homeserver"
        )
    if config.rooms.team_room is None:
        warnings.append(
            "rooms.team_room: not set, so safeguarding alerts and exports have nowhere to go"
        )
    if config.rooms.accept_direct_chats_from == "anyone":
        warnings.append(
            'rooms.accept_direct_chats_from: "anyone", so people on any Matrix server '
            "can open a direct chat with the bot and give feedback"
        )
    elif config.rooms.accept_direct_chats_from == "listed only":
        warnings.append(
            'rooms.accept_direct_chats_from: "listed only", so residents cannot open a '
            "direct chat with the bot (it tells them so, then leaves); they can still "
            "answer in rooms, or the team can start the chat"
        )
    host = urlsplit(config.matrix.homeserver).hostname or ""
    if config.matrix.homeserver.startswith("http://") and host not in _LOCAL_HOSTS:
        warnings.append(
            "matrix.homeserver: uses http://, so the login is sent unencrypted; "
            "use https:// unless the homeserver runs on this machine"
        )
    return warnings
