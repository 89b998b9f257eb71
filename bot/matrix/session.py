"""Logging in: a kept session (credentials.json) or the password; the device
stays the same across restarts, and a new one is made if its keys are lost."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig

from bot.matrix.base import AdapterBase, Backoff, StartupError
from bot.matrix.first_sync import credentials_file, kept_credentials
from bot.matrix.http import MatrixError, MatrixHTTP
from bot.private_files import write_private

log = logging.getLogger(__name__)


class Session(AdapterBase):
    @property
    def credentials_file(self) -> Path:
        return credentials_file(self.config)

    async def login(self) -> None:
        """Log in (or re-use the kept session), waiting for the homeserver if it is down.

        The session is kept in the data folder so that the device, and with it the
        transaction IDs of anything still in the outbox, stay the same across restarts.
        """
        m = self.matrix
        store_dir = self.config.storage.data_dir / "nio-store"
        self._forget_device_if_keys_lost(store_dir)
        self._cross_signed = False
        if self.http is None:
            self.http = MatrixHTTP(m.homeserver)
        backoff = Backoff()
        while True:
            try:
                device_id = await self._start_session()
                break
            except MatrixError as err:
                if not err.transient:
                    raise StartupError(f"Could not log in as {m.user_id}: {err}") from None
                delay = max(backoff.next_delay(), err.retry_after or 0.0)
                log.warning("Cannot log in yet (%s); trying again in %.1f s", err, delay)
                await asyncio.sleep(delay)
        if self.nio is not None:
            await self.nio.close()
        store_dir.mkdir(mode=0o700, exist_ok=True)
        self.nio = AsyncClient(
            m.homeserver,
            m.user_id,
            config=AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, encryption_enabled=True),
            store_path=str(store_dir),
        )
        self.nio.restore_login(m.user_id, device_id, self.http.access_token or "")
        await self._crypto_upkeep()
        log.info("Logged in as %s (device %s)", m.user_id, device_id)

    async def _start_session(self) -> str:
        """Find a working access token, or log in with the password. Returns the device ID."""
        assert self.http is not None
        m = self.matrix
        saved = self._load_credentials() or {}
        for token in (m.access_token, saved.get("access_token")):
            if not token:
                continue
            self.http.access_token = token
            try:
                who = await self.http.request("GET", "v3/account/whoami")
            except MatrixError as err:
                if err.transient or token == m.access_token:
                    raise
                continue  # the kept session has expired: log in again below
            if who.get("user_id") != m.user_id:
                raise StartupError(f"The access token is for {who.get('user_id')}, not {m.user_id}")
            return str(who.get("device_id") or saved.get("device_id") or "")
        if not m.password:
            raise StartupError("Set matrix.password or matrix.access_token so the bot can log in")
        self.http.access_token = None
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": m.user_id},
            "password": m.password,
            "initial_device_display_name": m.device_name,
        }
        if saved.get("device_id"):
            body["device_id"] = saved["device_id"]
        resp = await self.http.request("POST", "v3/login", body=body)
        self.http.access_token = str(resp["access_token"])
        self._save_credentials(self.http.access_token, str(resp["device_id"]))
        return str(resp["device_id"])

    def _forget_device_if_keys_lost(self, store_dir: Path) -> None:
        """The kept device's keys live in the encryption store: if the store is gone,
        the device can no longer read or send encrypted messages, so start a new one."""
        saved = self._load_credentials()
        if not saved or not saved.get("device_id") or any(store_dir.glob("*.db")):
            return
        if self.matrix.access_token:
            what_now = (
                "matrix.access_token belongs to that device: replace it with a new access "
                "token, or remove it so that the bot logs in with matrix.password."
            )
        else:
            what_now = "The bot logs in again with its password and gets a new device."
        log.warning(
            "The encryption store %s is missing, so the keys of device %s are lost. %s "
            "The old device stays listed on the account until someone signs it out.",
            store_dir,
            saved["device_id"],
            what_now,
        )
        self.credentials_file.unlink(missing_ok=True)

    def _load_credentials(self) -> dict[str, str] | None:
        return kept_credentials(self.config)

    def _save_credentials(self, token: str, device_id: str) -> None:
        data = {
            "homeserver": self.matrix.homeserver,
            "user_id": self.user_id,
            "device_id": device_id,
            "access_token": token,
        }
        write_private(self.credentials_file, json.dumps(data))

    async def close(self) -> None:
        if self._first_sync is not None:
            self._first_sync.close()
        for task in self._room_tasks.values():
            task.cancel()
        if self.http:
            await self.http.close()
        if self.nio:
            await self.nio.close()

    @property
    def secrets(self) -> list[str]:
        """Strings that must never reach a log."""
        found = [self.matrix.password, self.matrix.access_token]
        if self.http is not None:
            found.append(self.http.access_token)
        return [s for s in found if s]
