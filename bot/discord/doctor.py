"""``copro doctor`` on Discord: the token works, the privileged intents the bot
needs are switched on, and the bot is in the server and can see the team channel.
Read-only REST calls through ``[discord] api_url``; the token is never printed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.config import Config
from bot.doctor import Finding, fine, problem, unsure

# Application flags: each privileged intent is on if either bit is set (the
# first for verified bots, the second, "limited", for bots in under 100 servers).
INTENTS = {
    "Message Content": (1 << 18, 1 << 19),
    "Server Members": (1 << 14, 1 << 15),
}

Getter = Callable[[str], Awaitable[tuple[int, Any]]]


async def discord_findings(config: Config) -> list[Finding]:
    settings = config.discord
    assert settings is not None
    api = settings.api_url.rstrip("/")
    headers = {"Authorization": f"Bot {settings.token}"}
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:

        async def get(route: str) -> tuple[int, Any]:
            async with http.get(f"{api}{route}") as response:
                body = await response.json() if response.status == 200 else None
                return response.status, body

        try:
            status, me = await get("/users/@me")
        except (aiohttp.ClientError, TimeoutError) as err:
            return [problem(f"Discord does not answer at {api}: {err or type(err).__name__}.")]
        if status != 200:
            return [problem(f"Discord refused the bot's token ({status}): make a new one.")]
        found = [fine(f"The bot's token works: it is {me.get('username')} on Discord.")]
        found.append(await _intents(get))
        status, guild = await get(f"/guilds/{settings.guild_id}")
        if status == 200:
            found.append(fine(f"The bot is in the server {guild.get('name')}."))
        else:
            found.append(
                problem(
                    f"The bot is not in the server {settings.guild_id} (discord.guild_id). "
                    "Add it with the invite link in the README."
                )
            )
        if settings.team_channel is not None:
            status, _ = await get(f"/channels/{settings.team_channel}")
            found.append(
                fine(f"The bot can see the team channel {settings.team_channel}.")
                if status == 200
                else problem(
                    f"The bot cannot see the team channel {settings.team_channel} "
                    "(discord.team_channel). Give it access to that channel."
                )
            )
        return found


async def _intents(get: Getter) -> Finding:
    status, app = await get("/oauth2/applications/@me")
    if status != 200 or not isinstance(app, dict):
        return unsure("I can't tell which intents the bot has switched on.")
    flags = int(app.get("flags") or 0)
    missing = [name for name, bits in INTENTS.items() if not any(flags & bit for bit in bits)]
    if not missing:
        return fine("The Message Content and Server Members intents are switched on.")
    names = " and ".join(missing)
    return problem(
        f"Switch on the {names} intent{'s' if len(missing) > 1 else ''} for the bot in the "
        "Discord Developer Portal (Bot, Privileged Gateway Intents)."
    )
