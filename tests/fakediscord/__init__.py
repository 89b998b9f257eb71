"""A protocol-level Discord on loopback for tests: REST and gateway over real sockets,
spoken to by the real discord.py.

    async with FakeDiscord() as fake:
        bot = fake.add_bot("copro-bot")          # bot.token for the client
        guild = fake.add_guild("Council")
        general = guild.add_channel("general")
        alex = guild.add_person("alex")
        # point discord.py at fake.api_url and fake.gateway_url, then log in
        alex.send(general, "!ping")
        [reply] = await fake.wait_posted(1, general)

``python -m fakediscord`` runs the same fake as a process, with an HTTP control API
(``control.py``) that mirrors this one, for tests where the bot is a process of its own.
"""

from .gateway import Login
from .model import Channel, FakeError, Message, User
from .rest import Call
from .server import FakeDiscord, GuildHandle, Person

__all__ = [
    "Call",
    "Channel",
    "FakeDiscord",
    "FakeError",
    "GuildHandle",
    "Login",
    "Message",
    "Person",
    "User",
]
