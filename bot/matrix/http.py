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
from pathlib import Path
from time import time
from typing import Any, BinaryIO
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
    session: str | None = None  # a 401's interactive-auth session, to answer with a password

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
        """One client-server API request. Raises MatrixError on any failure."""
        return await self._call(
            method,
            f"{self.homeserver}/_matrix/client/{endpoint}",
            data=None if body is None else json.dumps(body),
            content_type="application/json",
            params=params,
            timeout=timeout,
        )

    async def admin(self, method: str, endpoint: str) -> dict[str, Any]:
        """A homeserver admin API request (``/_synapse/admin/...``), as the bot."""
        return await self._call(
            method,
            f"{self.homeserver}{endpoint}",
            data=None,
            content_type="application/json",
            params=None,
            timeout=None,
        )

    async def upload(self, file: Path, filename: str, mimetype: str) -> str:
        """Upload a file (streamed from disk); returns its mxc:// URI."""
        with file.open("rb") as data:
            resp = await self._call(
                "POST",
                f"{self.homeserver}/_matrix/media/v3/upload",
                data=data,
                content_type=mimetype,
                params={"filename": filename},
                timeout=600,
            )
        uri = resp.get("content_uri")
        if not isinstance(uri, str):
            raise MatrixError(200, "COPRO_NO_URI", "the upload gave no content_uri", 0.0)
        return uri

    async def _call(
        self,
        method: str,
        url: str,
        *,
        data: str | BinaryIO | None,
        content_type: str,
        params: dict[str, str] | None,
        timeout: float | None,
    ) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": content_type}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout or self._timeout),
            ) as resp:
                try:
                    body = await resp.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError, UnicodeDecodeError):
                    body = None
                if not isinstance(body, dict):
                    body = {}
                if resp.status == 200:
                    return body
                errcode = str(body.get("errcode", "M_UNKNOWN"))
                error = str(body.get("error", resp.reason or ""))[:300]
                retry: float | None = None
                if resp.status == 429 or errcode == "M_LIMIT_EXCEEDED":
                    retry = parse_retry_after(resp.headers.get("Retry-After"), body)
                elif resp.status >= 500:
                    retry = 0.0  # the caller backs off
                session = body.get("session")
                if not isinstance(session, str):
                    session = None
                raise MatrixError(resp.status, errcode, error, retry, session)
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise MatrixError(0, "NETWORK", type(err).__name__, 0.0) from err
