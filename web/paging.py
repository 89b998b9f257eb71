"""Paging through a list by keyset (``?before=<ID>``: the rows older than that
one), never by offset, so a page costs the same however far back it is."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aiohttp import web

PAGE = 50  # rows on a page


def before(request: web.Request) -> int | None:
    """The ``before`` of this page, if it asks for one (anything else: the first page)."""
    given = request.query.get("before", "")
    return int(given) if re.fullmatch(r"[0-9]{1,18}", given) else None


def older(ids: Sequence[int]) -> int | None:
    """The ``before`` of the next page, if this one was full (there may be more)."""
    return ids[-1] if len(ids) >= PAGE else None
