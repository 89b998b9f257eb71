"""What the bot itself keeps about people, declared for ``!mydata`` and ``!forget me``.

Each feature registers its own tables; these are the core's (the messages it
received and sent, questions waiting for an answer, the chats it is in, messages
it could not handle, roles) and the profiles people fill in with ``!aboutme``.
They are registered here, in the order ``!mydata`` lists them. Forgetting the
outbox needs the person's direct chats, so it comes before the rooms are forgotten.
"""

from __future__ import annotations

from bot.registry import CommandSet
from storage import conversations, deadletters, inbox, outbox, profiles, roles, rooms

commands = CommandSet("privacy")  # the same help section as the rights themselves
for sharer in (
    inbox.personal_data,
    conversations.personal_data,
    profiles.personal_data,
    roles.personal_data,
    deadletters.personal_data,
    rooms.personal_data,
    outbox.personal_data,
):
    commands.shares(sharer)
for forgetter in (
    inbox.forget,
    deadletters.forget,
    outbox.forget,
    rooms.forget,
    conversations.forget,
    roles.forget,
    profiles.forget,
):
    commands.forgets(forgetter)
