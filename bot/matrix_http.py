"""A small Matrix client-server HTTP layer on aiohttp.

matrix-nio sleeps on 429 without reading the ``Retry-After`` header and does
not retry 5xx; the bot needs to decide those things itself (outbox retries,
sync back-off), so requests that matter go through here and every failure is
classified as "try again later" (with how long) or "give up".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time
from typing import Any
from urllib.parse import quote

import aiohttp

DEFAULT_RATE_LIMIT_WAIT = 5.0
LONGEST_RATE_LIMIT_WAIT = 3600.0  # never trust a homeserver to ask for longer than this


@dataclass
class MatrixError(Exception):
    """A request failed. ``retry_after`` is set when trying again may work."""

    status: int  # 0 for network errors
    errcode: str
    error: str
    retry_after: float | None = None  # seconds; None means do not retry

    def __str__(self) -> str:
        return f"{self.status} {self.errcode}: {self.error}"

    @property
    def transient(self) -> bool:
        return self.retry_after is not None


def parse_retry_after(header: str | None, body: dict[str, Any]) -> float:
    """Seconds to wait after a 429: the header first, then ``retry_after_ms``."""
    for seconds in (_header_seconds(header), _body_seconds(body)):
        if seconds is not None and math.isfinite(seconds) and seconds >= 0:
            return min(seconds, LONGEST_RATE_LIMIT_WAIT)
    return DEFAULT_RATE_LIMIT_WAIT


def _header_seconds(header: str | None) -> float | None:
    if not header:
        return None
    header = header.strip()
    try:
        return float(header)
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - time())
    except (TypeError, ValueError, OverflowError):
        return None


def _body_seconds(body: dict[str, Any]) -> float | None:
    ms = body.get("retry_after_ms")
    if isinstance(ms, int | float) and not isinstance(ms, bool):
        return ms / 1000
    return None


def path(*parts: str) -> str:
    return "/".join(quote(p, safe="") for p in parts)


class MatrixHTTP:
    def __init__(
        self, homeserver: str, access_token: str | None = None, timeout: float = 60
    ) -> None:
        self.homeserver = homeserver.rstrip("/")
        self.access_token = access_token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Make one request. Raises MatrixError on any failure."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        url = f"{self.homeserver}/_matrix/client/{endpoint}"
        headers = {"Content-Type": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                data=None if body is None else json.dumps(body),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout or self._timeout),
            ) as resp:
                try:
                    data = await resp.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError, UnicodeDecodeError):
                    data = None
                if not isinstance(data, dict):
                    data = {}
                if resp.status == 200:
                    return data
                errcode = str(data.get("errcode", "M_UNKNOWN"))
                error = str(data.get("error", resp.reason or ""))[:300]
                retry: float | None = None
                if resp.status == 429 or errcode == "M_LIMIT_EXCEEDED":
                    retry = parse_retry_after(resp.headers.get("Retry-After"), data)
                elif resp.status >= 500:
                    retry = 0.0  # the caller backs off
                raise MatrixError(resp.status, errcode, error, retry)
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise MatrixError(0, "NETWORK", type(err).__name__, 0.0) from err
