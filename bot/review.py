"""The team's review of feedback, as chat (``!tag``, ``!wedid``) and the dashboard
share it: what a theme's name is, one shortened line of someone's words, and
"you said, we did" (record what changed and tell the person, if they agreed).
The words and rules live here once."""

from __future__ import annotations

from sqlite_utils import Database

from bot.context import Platform
from bot.messages import Messages
from storage import feedback as store

THEME_LENGTH = 40  # characters kept of a theme's name
SAID_LENGTH = 300  # characters of someone's words quoted back to them


def theme_name(typed: str) -> str:
    """A theme as typed, as it is kept: lower case, spaces squashed, 40 characters
    ("" if nothing is left)."""
    return " ".join(typed.lower().split())[:THEME_LENGTH]


def one_line(text: str, most: int = 200) -> str:
    """Someone's words on one line, shortened to ``most`` characters with "…"."""
    flat = " ".join(text.split())
    return flat if len(flat) <= most else flat[: most - 1] + "…"


def we_did(
    db: Database,
    platform: Platform,
    messages: Messages,
    saved: store.Feedback,
    outcome: str,
    by_user: str,
) -> bool:
    """Record what changed because of ``saved`` and, if the person who said it
    agreed to be contacted, queue "You said, we did" to them by direct message.
    True if they were told (the caller wakes the sender); False if they could not
    be (anonymous, or they did not want to hear back)."""
    store.add_outcome(db, saved.id, outcome, by_user)
    if not (saved.user_id and saved.contact_ok):
        return False
    said = one_line(saved.text, SAID_LENGTH)
    text = messages.get("feedback.you_said_we_did", said=said, did=outcome)
    platform.queue_direct(db, saved.user_id, text)
    return True
