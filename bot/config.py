"""Typed, frozen configuration loaded once from a TOML file.

The names here are a contract: deployments and later features rely on them.
Every key is documented in ``config.example.toml``. Each chat platform's own
section (``MatrixConfig``, ``DiscordConfig``) is read in ``bot.config_platforms``
and is imported from here like the rest.

``load_config`` reads the file, applies secrets from the environment, and checks
everything at once: if anything is wrong it raises one ``ConfigError`` that lists
every problem, one per line, each starting with the key path (``matrix.user_id:``).
It only reads; it never creates folders or writes files.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

from bot.config_ops import AlertsConfig, BackupConfig, alerts_section, backup_section
from bot.config_platforms import ACCESS_TOKEN_ENV as ACCESS_TOKEN_ENV
from bot.config_platforms import DISCORD_TOKEN_ENV as DISCORD_TOKEN_ENV
from bot.config_platforms import PASSWORD_ENV as PASSWORD_ENV
from bot.config_platforms import DiscordConfig as DiscordConfig
from bot.config_platforms import MatrixConfig as MatrixConfig
from bot.config_platforms import (
    discord_section,
    matrix_section,
    unencrypted_warnings,
)
from bot.config_values import (
    DISCORD_PREFIX,
    Problems,
    Section,
    check_invite_source,
    check_person,
    check_prefix,
    check_room_id,
    check_timezone,
    read_sections,
    resolve_path,
)
from bot.config_values import PLACEHOLDER_MESSAGE as PLACEHOLDER_MESSAGE
from bot.config_web import WebConfig as WebConfig
from bot.config_web import web_section, web_warnings


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
    # "text": one readable line per entry; "json": one JSON object per line.
    log_format: str = "text"


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
    # Each platform's section is optional; at least one is there.
    matrix: MatrixConfig | None
    storage: StorageConfig
    people: PeopleConfig
    rooms: RoomsConfig
    bot: BotConfig
    discord: DiscordConfig | None = None
    polls: PollsConfig = field(default_factory=lambda: PollsConfig())
    projects: ProjectsConfig = field(default_factory=lambda: ProjectsConfig())
    workshops: WorkshopsConfig = field(default_factory=lambda: WorkshopsConfig())
    safeguarding: SafeguardingConfig = field(default_factory=lambda: SafeguardingConfig())
    privacy: PrivacyConfig = field(default_factory=lambda: PrivacyConfig())
    backup: BackupConfig = field(default_factory=lambda: BackupConfig())
    web: WebConfig = field(default_factory=lambda: WebConfig())
    alerts: AlertsConfig = field(default_factory=lambda: AlertsConfig())

    def team_rooms(self) -> dict[str, str]:
        """Every room the team reads, by platform ("matrix": the team room,
        "discord": the team channel): where the bot tells the team."""
        found = {"matrix": self.rooms.team_room} if self.rooms.team_room else {}
        if self.discord is not None and self.discord.team_channel is not None:
            found["discord"] = f"{DISCORD_PREFIX}{self.discord.team_channel}"
        return found


# --- constants -------------------------------------------------------------

DEFAULT_PREFIX: Final = "!"
DEFAULT_TIMEZONE: Final = "Europe/London"
DEFAULT_LOG_LEVEL: Final = "INFO"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS: Final = ("text", "json")
# rooms.accept_direct_chats_from: "same server" (people with an account on the bot's
# own homeserver), "anyone" (any server), or "listed only" (the team, champions and
# rooms.allow_invites_from, as for group rooms). Those listed may always.
DIRECT_CHATS_FROM: Final = ("same server", "anyone", "listed only")

# Every section and the keys it may hold. Anything else is reported as unknown.
SECTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "matrix": ("homeserver", "user_id", "password", "access_token", "device_name"),
        "discord": ("token", "guild_id", "team_channel", "api_url"),
        "storage": ("database", "data_dir"),
        "people": ("team", "champions"),
        "rooms": (
            "team_room",
            "allow_invites_from",
            "follow_upgrades",
            "encrypt_new_rooms",
            "accept_direct_chats_from",
        ),
        "bot": ("prefix", "timezone", "log_level", "log_format", "questions_expire_minutes"),
        "polls": ("members_can_start",),
        "projects": ("reminder_after_days", "areas"),
        "workshops": ("reminders",),
        "safeguarding": ("phrases", "signposting"),
        "privacy": ("retention_days",),
        "backup": ("dir", "keep"),
        "web": ("enabled", "listen", "public_url", "session_hours"),
        "alerts": ("unreachable_minutes", "waiting_minutes", "min_free_mb"),
    }
)

# --- building each part ----------------------------------------------------


def _storage(section: Section, base: Path) -> StorageConfig:
    database = _path(section, "database", base, want_folder=False)
    data_dir = _path(section, "data_dir", base, want_folder=True)
    return StorageConfig(database=database or base, data_dir=data_dir or base)


def _path(section: Section, key: str, base: Path, *, want_folder: bool) -> Path | None:
    value = section.text(key, required=True)
    if value is None:
        return None
    path = resolve_path(value, base)
    if want_folder and path.exists() and not path.is_dir():
        section.problems.add(section.key(key), f"{path} is a file, not a folder")
        return None
    if not want_folder and path.is_dir():
        section.problems.add(
            section.key(key), f"{path} is a folder; give the path of the SQLite file"
        )
        return None
    return path


def _people(section: Section) -> PeopleConfig:
    return PeopleConfig(
        team=section.text_list("team", check_person),
        champions=section.text_list("champions", check_person),
    )


def _rooms(section: Section) -> RoomsConfig:
    team_room = section.text("team_room")
    if team_room is not None:
        team_room = section.checked("team_room", team_room, check_room_id(team_room))
    return RoomsConfig(
        team_room=team_room,
        allow_invites_from=section.text_list("allow_invites_from", check_invite_source),
        follow_upgrades=section.boolean("follow_upgrades", True),
        encrypt_new_rooms=section.boolean("encrypt_new_rooms", True),
        accept_direct_chats_from=_direct_chats_from(section),
    )


def _direct_chats_from(section: Section) -> str:
    value = section.text("accept_direct_chats_from")
    if value is None:
        return DIRECT_CHATS_FROM[0]
    plain = " ".join(value.lower().replace("-", " ").replace("_", " ").split())
    if plain not in DIRECT_CHATS_FROM:
        choices = ", ".join(f'"{c}"' for c in DIRECT_CHATS_FROM)
        section.problems.add(section.key("accept_direct_chats_from"), "must be one of " + choices)
        return DIRECT_CHATS_FROM[0]
    return plain


def _bot(section: Section) -> BotConfig:
    prefix = section.text("prefix")
    if prefix is not None:
        prefix = section.checked("prefix", prefix, check_prefix(prefix))
    timezone = section.text("timezone")
    if timezone is not None:
        timezone = section.checked("timezone", timezone, check_timezone(timezone))
    return BotConfig(
        prefix=prefix or DEFAULT_PREFIX,
        timezone=timezone or DEFAULT_TIMEZONE,
        log_level=_log_level(section),
        questions_expire_minutes=_expire_minutes(section),
        log_format=_log_format(section),
    )


def _log_format(section: Section) -> str:
    value = section.text("log_format") or "text"
    if value not in LOG_FORMATS:
        section.problems.add(section.key("log_format"), 'must be "text" or "json"')
        return "text"
    return value


def _expire_minutes(section: Section) -> int:
    minutes = section.table.get("questions_expire_minutes", 30)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 10_080:
        section.problems.add(
            section.key("questions_expire_minutes"),
            "must be a whole number of minutes, 1 to 10080 (a week)",
        )
        minutes = 30
    return minutes


def _projects(section: Section) -> ProjectsConfig:
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


def _workshops(section: Section) -> WorkshopsConfig:
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


def _safeguarding(section: Section) -> SafeguardingConfig:
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


def _privacy(section: Section) -> PrivacyConfig:
    days = section.table.get("retention_days", 730)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        section.problems.add(
            section.key("retention_days"), "must be a whole number of days (0 keeps everything)"
        )
        days = 730
    return PrivacyConfig(retention_days=days)


def _log_level(section: Section) -> str:
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

    ``env`` (default ``os.environ``) may supply ``COPRO_MATRIX_PASSWORD``,
    ``COPRO_MATRIX_ACCESS_TOKEN`` and ``COPRO_DISCORD_TOKEN``, which override the
    file. Relative paths are resolved against the config file's folder. Raises
    ``ConfigError`` listing every problem. Never creates or writes anything.
    """
    file = Path(path)
    data = _read_toml(file)
    problems = Problems()
    sections = read_sections(data, SECTIONS, problems)
    base = file.absolute().parent
    env = os.environ if env is None else env
    # [matrix], [discord] or both; with neither, what [matrix] needs is reported.
    on_discord = "discord" in data
    on_matrix = "matrix" in data or not on_discord
    # The builders put stand-in values where a problem was recorded; such a
    # Config is never returned.
    storage = _storage(sections["storage"], base)
    config = Config(
        matrix=matrix_section(sections["matrix"], env) if on_matrix else None,
        storage=storage,
        people=_people(sections["people"]),
        rooms=_rooms(sections["rooms"]),
        bot=_bot(sections["bot"]),
        discord=discord_section(sections["discord"], env) if on_discord else None,
        polls=PollsConfig(members_can_start=sections["polls"].boolean("members_can_start", False)),
        projects=_projects(sections["projects"]),
        workshops=_workshops(sections["workshops"]),
        safeguarding=_safeguarding(sections["safeguarding"]),
        privacy=_privacy(sections["privacy"]),
        backup=backup_section(sections["backup"], base, storage.data_dir),
        web=web_section(sections["web"]),
        alerts=alerts_section(sections["alerts"]),
    )

    for section in sections.values():
        section.report_unknown()
    if config.matrix is None and config.rooms.team_room is not None:
        problems.add("rooms.team_room", "is a Matrix room, but there is no [matrix] section")
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
    if config.matrix is not None and not config.rooms.encrypt_new_rooms:
        warnings.append(
            "rooms.encrypt_new_rooms: false, so the direct chats and project rooms the bot "
            "makes are not encrypted (unless the homeserver encrypts new rooms itself): "
            "people's access needs and !mydata files are stored readable on the homeserver"
        )
    if not config.team_rooms():
        where = "rooms.team_room" if config.matrix is not None else "discord.team_channel"
        warnings.append(f"{where}: not set, so safeguarding alerts and exports have nowhere to go")
    if config.matrix is not None and config.rooms.accept_direct_chats_from == "anyone":
        warnings.append(
            'rooms.accept_direct_chats_from: "anyone", so people on any Matrix server '
            "can open a direct chat with the bot and give feedback"
        )
    elif config.matrix is not None and config.rooms.accept_direct_chats_from == "listed only":
        warnings.append(
            'rooms.accept_direct_chats_from: "listed only", so residents cannot open a '
            "direct chat with the bot (it tells them so, then leaves); they can still "
            "answer in rooms, or the team can start the chat"
        )
    return warnings + unencrypted_warnings(config.matrix, config.discord) + web_warnings(config.web)
