"""The dashboard's section of the config file, ``[web]``: where it listens, the
address people reach it at (used in sign-in links, for the ``Secure`` cookie and
the ``Origin`` check), whether it runs at all, and how long a sign-in lasts.
Read and checked here for ``bot.config``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from bot.config_values import Section

DEFAULT_LISTEN: Final = "127.0.0.1:8080"
DEFAULT_SESSION_HOURS: Final = 8.0
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = False
    host: str = "127.0.0.1"  # from listen = "host:port"
    port: int = 8080
    public_url: str = "http://" + DEFAULT_LISTEN  # no trailing slash
    session_hours: float = DEFAULT_SESSION_HOURS

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def split_listen(value: str) -> tuple[str, int] | None:
    """``"127.0.0.1:8080"`` or ``"[::1]:8080"`` → (host, port); ``None`` if it is neither."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(c.isspace() or c in "/[]" for c in host):
        return None
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_section(section: Section) -> WebConfig:
    enabled = section.boolean("enabled", False)
    host, port = "127.0.0.1", 8080
    listen = section.text("listen")
    if listen is not None:
        found = split_listen(listen)
        if found is None:
            section.problems.add(
                section.key("listen"), 'must be an address and port, like "127.0.0.1:8080"'
            )
        else:
            host, port = found
    public_url = section.text("public_url")
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            section.problems.add(
                section.key("public_url"),
                'must start with https:// (or http://), like "https://dashboard.council.example"',
            )
            public_url = None
    shown = f"[{host}]" if ":" in host else host
    return WebConfig(
        enabled=enabled,
        host=host,
        port=port,
        public_url=(public_url or f"http://{shown}:{port}").rstrip("/"),
        session_hours=_session_hours(section),
    )


def _session_hours(section: Section) -> float:
    hours = section.table.get("session_hours", DEFAULT_SESSION_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 7:
        section.problems.add(
            section.key("session_hours"), "must be a number of hours, more than 0 and up to 168"
        )
        return DEFAULT_SESSION_HOURS
    return float(hours)


def web_warnings(web: WebConfig) -> list[str]:
    """Addresses that would let sign-in links or the session cookie cross the
    network unencrypted."""
    warnings: list[str] = []
    if not web.enabled:
        return warnings
    host = urlsplit(web.public_url).hostname or ""
    if web.public_url.startswith("http://") and not is_loopback(host):
        warnings.append(
            "web.public_url: uses http://, so sign-in links and the session cookie cross "
            "the network unencrypted; put the dashboard behind a reverse proxy with "
            "https:// (see the README)"
        )
    if not is_loopback(web.host):
        warnings.append(
            f"web.listen: {web.listen} can be reached from other machines; listen on "
            "127.0.0.1 and let a reverse proxy with https:// pass requests on"
        )
    return warnings
