"""The few reads from the homeserver that jobs make, outside the sync: who is in
a room, whether a person exists, every answer to a poll."""

from __future__ import annotations

import logging
from typing import Any

from bot.context import PollAnswer
from bot.matrix.base import AdapterBase
from bot.matrix.events import to_incoming
from bot.matrix.http import MatrixError, path
from storage import rooms

log = logging.getLogger(__name__)


class Reads(AdapterBase):
    async def _members(self, room_id: str) -> dict[str, dict[str, Any]]:
        """Everyone joined or invited, with their member event's content."""
        assert self.http is not None
        data = await self.http.request(
            "GET", f"v3/rooms/{path(room_id)}/members", params={"not_membership": "leave"}
        )
        found: dict[str, dict[str, Any]] = {}
        for e in data.get("chunk") or []:
            who, content = e.get("state_key"), e.get("content")
            if isinstance(who, str) and isinstance(content, dict):
                if content.get("membership") in rooms.MEMBER:
                    found[who] = content
        return found

    async def joined_members(self, room_id: str) -> set[str]:
        assert self.http is not None
        data = await self.http.request("GET", f"v3/rooms/{path(room_id)}/joined_members")
        joined = data.get("joined")
        return set(joined) if isinstance(joined, dict) else set()

    async def user_exists(self, user_id: str) -> bool | None:
        """Ask the homeserver for the person's profile: 404 means nobody by that ID."""
        assert self.http is not None
        try:
            await self.http.request("GET", f"v3/profile/{path(user_id)}")
        except MatrixError as err:
            if err.status == 404 or (err.status == 400 and err.errcode == "M_INVALID_PARAM"):
                return False
            log.info("Cannot tell whether %s exists (%s)", user_id, err)
            return None
        return True

    async def poll_answers(self, room_id: str, poll_event: str) -> list[PollAnswer]:
        """Every poll answer related to a poll, from the relations API (missed ones too)."""
        assert self.http is not None
        found: list[PollAnswer] = []
        params = {"limit": "100"}
        while True:
            page = await self.http.request(
                "GET",
                f"v1/rooms/{path(room_id)}/relations/{path(poll_event)}/m.reference",
                params=params,
            )
            for raw in page.get("chunk") or []:
                # In an encrypted room the answers are m.room.encrypted: the
                # relation is in the clear, the type and choice are not.
                if raw.get("type") == "m.room.encrypted":
                    raw = self._decrypt(raw, room_id) or raw
                incoming = to_incoming(raw, room_id, is_direct=False)
                if isinstance(incoming, PollAnswer) and incoming.sender != self.user_id:
                    found.append(incoming)
            if not page.get("next_batch"):
                return found
            params = {"limit": "100", "from": str(page["next_batch"])}
