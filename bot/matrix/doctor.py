"""``copro doctor`` on Matrix: the homeserver answers, the login works, the bot is
in the team room, its device is cross-signed, and whether the homeserver limits
how fast the bot may send. Read-only: it logs in with the kept session (or, with
none yet, logs in with the password and straight out again, leaving no device)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.config_platforms import MatrixConfig
from bot.doctor import Finding, fine, problem, unsure
from bot.matrix.crosssign import is_signed_by, load_keys, public_key
from bot.matrix.http import MatrixError, MatrixHTTP, path

EXEMPT = (
    "The bot sends many direct messages at once (secret ballots, reminders). On Synapse, "
    "a server admin can lift the limit for the bot with the admin API: POST "
    "/_synapse/admin/v1/users/{user}/override_ratelimit with "
    '{{"messages_per_second": 0, "burst_count": 0}}.'
)


def _kept_session(config: Config) -> dict[str, Any]:
    try:
        saved = json.loads((config.storage.data_dir / "credentials.json").read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


async def matrix_findings(config: Config) -> list[Finding]:
    matrix = config.matrix
    assert matrix is not None
    http = MatrixHTTP(matrix.homeserver, timeout=15)
    try:
        try:
            await http.request("GET", "versions")
        except MatrixError as err:
            return [problem(f"The homeserver {matrix.homeserver} does not answer: {err}.")]
        found = [fine(f"The homeserver {matrix.homeserver} answers.")]
        login, device_id = await _log_in(http, matrix, _kept_session(config))
        found.append(login)
        if http.access_token is None:
            return found
        found.append(await _team_room(http, config))
        found.append(await _cross_signed(http, matrix.user_id, device_id, config.storage.data_dir))
        found.append(await _rate_limit(http, matrix.user_id))
        if not device_id:
            await http.request("POST", "v3/logout")  # the doctor's own login: no device left
        return found
    finally:
        await http.close()


async def _log_in(
    http: MatrixHTTP, matrix: MatrixConfig, saved: dict[str, Any]
) -> tuple[Finding, str]:
    """Log in as the bot does; with the kept session, also the bot's device ID."""
    for token in (saved.get("access_token"), matrix.access_token):
        if not token:
            continue
        http.access_token = str(token)
        try:
            who = await http.request("GET", "v3/account/whoami")
        except MatrixError:
            continue
        if who.get("user_id") == matrix.user_id:
            device_id = str(who.get("device_id") or saved.get("device_id") or "")
            return fine(f"The bot's login works: it is {matrix.user_id}."), device_id
        http.access_token = None
        wrong = who.get("user_id")
        return problem(f"The bot's kept login is for {wrong}, not {matrix.user_id}."), ""
    http.access_token = None
    if not matrix.password:
        return problem(
            "The bot cannot log in: its kept session no longer works and there is no "
            "matrix.password or matrix.access_token."
        ), ""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": matrix.user_id},
        "password": matrix.password,
        "initial_device_display_name": "copro doctor (logs out at once)",
    }
    try:
        answer = await http.request("POST", "v3/login", body=body)
    except MatrixError as err:
        return problem(f"The bot cannot log in as {matrix.user_id}: {err}."), ""
    http.access_token = str(answer["access_token"])
    return fine(f"The password works for {matrix.user_id} (the bot has not run here yet)."), ""


async def _team_room(http: MatrixHTTP, config: Config) -> Finding:
    room = config.rooms.team_room
    if room is None:
        return unsure("There is no team room (rooms.team_room), so the team is told nothing.")
    joined = await http.request("GET", "v3/joined_rooms")
    if room in joined.get("joined_rooms", []):
        return fine(f"The bot is in the team room {room}.")
    return problem(f"The bot is not in the team room {room}. Invite it from a team account.")


async def _cross_signed(http: MatrixHTTP, user_id: str, device_id: str, data_dir: Path) -> Finding:
    if not device_id:
        return unsure("The bot has no device here yet; it is cross-signed when it first runs.")
    found = await http.request("POST", "v3/keys/query", body={"device_keys": {user_id: []}})
    device = ((found.get("device_keys") or {}).get(user_id) or {}).get(device_id)
    keys = load_keys(data_dir)
    master = ((found.get("master_keys") or {}).get(user_id) or {}).get("keys") or {}
    if keys is None or public_key(keys.master) not in master.values():
        return problem(
            f"The bot's device {device_id} is not cross-signed with keys it keeps "
            "(cross-signing.json), so people's apps may warn about its messages. Start the "
            "bot with matrix.password set, or put back cross-signing.json from a backup."
        )
    if isinstance(device, dict) and is_signed_by(device, user_id, keys.self_signing):
        return fine(f"The bot's device {device_id} is cross-signed, so apps trust it.")
    return problem(
        f"The bot's device {device_id} is not signed yet; the bot signs it when it starts."
    )


async def _rate_limit(http: MatrixHTTP, user_id: str) -> Finding:
    endpoint = f"/_synapse/admin/v1/users/{path(user_id)}/override_ratelimit"
    try:
        limits = await http.admin("GET", endpoint)
    except MatrixError:
        return unsure(
            "I can't tell whether the homeserver limits how fast the bot may send (only a "
            f"server admin can see that). {EXEMPT.format(user=user_id)}"
        )
    if limits.get("messages_per_second") == 0 and limits.get("burst_count") == 0:
        return fine("The homeserver lets the bot send as fast as it needs.")
    return problem(
        f"The homeserver limits how fast the bot may send. {EXEMPT.format(user=user_id)}"
    )
