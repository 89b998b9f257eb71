"""The fake Discord as a process of its own (``python -m fakediscord``), and a small
async client of its control API, for end-to-end tests where the bot is a process too.

    with FakeDiscordProcess(setup={"bots": [{"username": "copro-bot"}],
                                   "guilds": [{"name": "Council", "channels": ["general"],
                                               "people": ["alex"]}]}) as fake:
        # [discord] api_url = fake.api_url, token = fake.ids["bots"]["copro-bot"]["token"]
        general = fake.ids["guilds"]["Council"]["channels"]["general"]
        alex = fake.ids["guilds"]["Council"]["people"]["alex"]
        await fake.act(alex, "send", channel_id=general, content="!ping")
        [reply] = await fake.wait_posted(1, general)
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

TESTS = Path(__file__).resolve().parent.parent


class FakeDiscordProcess:
    def __init__(
        self,
        *,
        setup: dict[str, Any] | None = None,
        heartbeat_interval: float = 41.25,
        session_ttl: float = 180.0,
        start_timeout: float = 30.0,
    ) -> None:
        self.plan, self.start_timeout = setup, start_timeout
        self.options = [
            f"--heartbeat-interval={heartbeat_interval}",
            f"--session-ttl={session_ttl}",
        ]
        self.process: subprocess.Popen[str] | None = None
        self.api_url = self.gateway_url = self.control_url = ""
        self.ids: dict[str, Any] = {}

    def start(self) -> FakeDiscordProcess:
        args = [sys.executable, "-m", "fakediscord", *self.options]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as plan:
            json.dump(self.plan or {}, plan)
        args.append(f"--setup={plan.name}")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        # the process prints one line once it listens
        readable, _, _ = select.select([self.process.stdout], [], [], self.start_timeout)
        line = self.process.stdout.readline() if readable else ""
        Path(plan.name).unlink()
        if not line:
            self.stop()
            raise RuntimeError("the fake Discord process did not start")
        ready = json.loads(line)
        self.api_url, self.gateway_url = ready["api_url"], ready["gateway_url"]
        self.control_url, self.ids = ready["control_url"], ready["setup"] or {}
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> FakeDiscordProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def request(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> Any:
        url = self.control_url + path
        async with aiohttp.ClientSession() as http:
            async with http.request(method, url, json=body, params=query) as response:
                answer = await response.json()
                if response.status != 200:
                    raise AssertionError(f"{method} {path}: {answer.get('error')}")
                return answer

    # -- the control API, as in FakeDiscord (IDs as strings) ----------------------------
    async def act(self, user_id: str, action: str, **details: Any) -> str:
        """A person does something: send, reply, dm, edit, delete, react, unreact, thread,
        vote (``answers=[1]``), press (``custom_id=``), submit (``custom_id=, fields={}``),
        command (``channel_id=, name=, options={}``). See ``control.py``."""
        answer = await self.request("POST", f"/people/{user_id}/{action}", details)
        return str(answer["id"])

    async def act_many(self, actions: list[dict[str, Any]]) -> list[str]:
        """Many at once: ``[{"user_id": ..., "action": "send", "channel_id": ..., ...}]``."""
        return [str(a["id"]) for a in await self.request("POST", "/act", actions)]

    async def posted(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        query = {"channel_id": channel_id} if channel_id else None
        found: list[dict[str, Any]] = await self.request("GET", "/posted", query=query)
        return found

    async def wait_posted(
        self, count: int, channel_id: str | None = None, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        body = {"count": count, "channel_id": channel_id, "timeout": timeout}
        found: list[dict[str, Any]] = await self.request("POST", "/wait/posted", body)
        return found

    async def calls(self, route: str | None = None) -> list[dict[str, Any]]:
        query = {"route": route} if route else None
        found: list[dict[str, Any]] = await self.request("GET", "/calls", query=query)
        return found

    async def logins(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.request("GET", "/logins")
        return found

    async def wait_identifies(self, count: int, timeout: float = 10.0) -> None:
        await self.request("POST", "/wait/identifies", {"count": count, "timeout": timeout})

    async def fail_next(self, route: str, status: int = 429, **options: Any) -> None:
        await self.request("POST", "/fail", {"route": route, "status": status, **options})

    async def interaction(self, interaction_id: str) -> dict[str, Any]:
        """How the bot answered an interaction: callback type, after how many seconds."""
        found: dict[str, Any] = await self.request("GET", f"/interactions/{interaction_id}")
        return found

    async def end_poll(self, message_id: str) -> dict[str, Any]:
        """Close a poll now (as at its expiry); Discord's result message."""
        found: dict[str, Any] = await self.request("POST", f"/polls/{message_id}/end", {})
        return found

    async def wait_session_lost(self, timeout: float = 30.0) -> None:
        """Wait until the bot's connection is gone and its session can no longer resume."""
        await self.request("POST", "/wait/session-lost", {"timeout": timeout})

    async def drop(self, code: int | None = None) -> None:
        await self.request("POST", "/gateway/drop", {"code": code})

    async def invalidate_session(self, resumable: bool = False) -> None:
        await self.request("POST", "/gateway/invalidate", {"resumable": resumable})

    async def request_reconnect(self) -> None:
        await self.request("POST", "/gateway/reconnect", {})

    async def set_network(self, round_trip_ms: float) -> None:
        """From now on the bots' connections take ``round_trip_ms`` there and back."""
        await self.request("POST", "/network", {"ms": round_trip_ms})
