"""Each chat platform's section of the config file, ``[matrix]`` and ``[discord]``:
what it holds, reading and checking it (for ``bot.config``), and the warnings
about how the bot reaches the platform. Secrets may come from the environment
and never show in a ``repr``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from bot.config_values import (
    PLACEHOLDER_MESSAGE,
    Section,
    check_user_id,
    has_placeholder_word,
    normalise_homeserver,
    normalise_url,
)

PASSWORD_ENV: Final = "COPRO_MATRIX_PASSWORD"
ACCESS_TOKEN_ENV: Final = "COPRO_MATRIX_ACCESS_TOKEN"
DISCORD_TOKEN_ENV: Final = "COPRO_DISCORD_TOKEN"
DISCORD_API_URL: Final = "https://discord.com/api/v10"

DEFAULT_DEVICE_NAME: Final = "copro-bot"
_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    password: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    device_name: str


@dataclass(frozen=True)
class DiscordConfig:
    token: str = field(repr=False)
    guild_id: int  # the server (guild) the bot serves
    team_channel: int | None  # the team's channel: safeguarding alerts, exports
    # Where Discord's REST API is; the gateway's address is asked of it. Point it
    # at a local Discord to test.
    api_url: str


def _secret(section: Section, key: str, env_var: str, env: Mapping[str, str]) -> str | None:
    """A secret from the environment if set there, else from the file."""
    from_env = env.get(env_var, "")
    if not from_env:
        return section.text(key)
    if has_placeholder_word(from_env):
        section.problems.add(section.key(key), f"{PLACEHOLDER_MESSAGE} (from {env_var})")
        return None
    return from_env


def matrix_section(section: Section, env: Mapping[str, str]) -> MatrixConfig:
    homeserver = section.text("homeserver", required=True)
    if homeserver is not None:
        homeserver = section.checked("homeserver", *normalise_homeserver(homeserver))
    user_id = section.text("user_id", required=True)
    if user_id is not None:
        user_id = section.checked(
            "user_id", user_id, check_user_id(user_id, "must look like @name:server")
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
    section: Section, password: str | None, access_token: str | None, env: Mapping[str, str]
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


def discord_section(section: Section, env: Mapping[str, str]) -> DiscordConfig:
    token = _secret(section, "token", DISCORD_TOKEN_ENV, env)
    if token is None and not section.has("token") and not env.get(DISCORD_TOKEN_ENV):
        section.problems.add(
            section.key("token"),
            f"missing; set discord.token or the {DISCORD_TOKEN_ENV} environment variable",
        )
    guild_id = section.snowflake("guild_id", required=True)
    api_url = section.text("api_url")
    if api_url is not None:
        api_url = section.checked("api_url", *normalise_url(api_url, "like " + DISCORD_API_URL))
    return DiscordConfig(
        token=token or "",
        guild_id=guild_id or 0,
        team_channel=section.snowflake("team_channel"),
        api_url=api_url or DISCORD_API_URL,
    )


def unencrypted_warnings(matrix: MatrixConfig | None, discord: DiscordConfig | None) -> list[str]:
    """A secret that would be sent unencrypted to another machine."""
    warnings: list[str] = []
    if matrix is not None:
        host = urlsplit(matrix.homeserver).hostname or ""
        if matrix.homeserver.startswith("http://") and host not in _LOCAL_HOSTS:
            warnings.append(
                "matrix.homeserver: uses http://, so the login is sent unencrypted; "
                "use https:// unless the homeserver runs on this machine"
            )
    if discord is not None:
        host = urlsplit(discord.api_url).hostname or ""
        if discord.api_url.startswith("http://") and host not in _LOCAL_HOSTS:
            warnings.append(
                "discord.api_url: uses http://, so the bot's token is sent unencrypted; "
                "use https:// unless this Discord runs on this machine"
            )
    return warnings
