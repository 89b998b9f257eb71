"""People as the dashboard shows them: by pseudonym, as ``copro export`` does
(the same key, so the same person has the same name in both)."""

from __future__ import annotations

from collections.abc import Callable

from storage.export import pseudonym, pseudonym_secret
from web.deps import Dashboard


def namer(dash: Dashboard) -> Callable[[str], str]:
    """A function from a chat ID to that person's pseudonym."""
    secret = pseudonym_secret(dash.config.storage.data_dir)
    return lambda user_id: pseudonym(secret, user_id)
