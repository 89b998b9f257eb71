"""Reading saved feedback out for a report, one row at a time.

``feedback_rows`` runs one SQL query and yields rows from its cursor as they
come, so an export of a million answers uses no more memory than one of ten.
Writing the rows to a file (CSV, JSON, Markdown) is ``bot/export.py``.

Who said it is shown as a pseudonym: "Person " and 8 letters made from the
person's chat ID with a secret key (HMAC-SHA256), so the same person has the
same pseudonym in every export made with that key, and nobody without the key
can work back to the ID. The key is ``pseudonym.key`` in the data folder.
Anonymous feedback (no user kept) is shown as "Anonymous".

The real chat ID is shown only when the export asks for it (``real_ids``)
AND the person agreed to be contacted about that piece of feedback
(``feedback.contact_ok = 1``). We chose that agreement, not the direct-chat
consent in ``feedback_consents``: it is given for each piece of feedback, and
it is the one that says "you may come back to me about this", which needs the
team to know who it was. Everything else stays a pseudonym, even with
``real_ids``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from storage import feedback
from storage import projects as project_store
from storage.db import Reader

ANONYMOUS = "Anonymous"
PSEUDONYM_PREFIX = "Person "
KEY_FILE = "pseudonym.key"
KEY_BYTES = 32
OUTCOME_SEPARATOR = " / "
THEME_SEPARATOR = ", "


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One saved piece of feedback, as the team sees it in a report.

    Every field is text ("" when there is none), except ``themes``: a sorted
    tuple (CSV and Markdown join it with ", ", JSON keeps the list).
    """

    question: str  # the question it answers ("" if it was not an answer to one)
    answer: str  # what the person said, in their own words
    date: str  # YYYY-MM-DD, the UK date it was said
    project: str  # the project's name ("" if none or unknown)
    themes: tuple[str, ...]
    outcome: str  # what changed because of it; several are joined with " / "
    person: str  # "Person ABCD2345", "Anonymous", or (only if agreed) the chat ID
    question_id: int | None = None  # for grouping; not one of the exported fields

    def cells(self) -> tuple[str, str, str, str, str, str, str]:
        """The exported fields as text, in order (see FIELDS)."""
        return (
            self.question,
            self.answer,
            self.date,
            self.project,
            THEME_SEPARATOR.join(self.themes),
            self.outcome,
            self.person,
        )


# The exported fields, in order.
FIELDS = ("question", "answer", "date", "project", "themes", "outcome", "person")


# ----- pseudonyms ------------------------------------------------------------------------


def pseudonym_secret(data_dir: Path) -> bytes:
    """The pseudonym key in ``data_dir/pseudonym.key``, made (32 random bytes, owner
    read/write only) the first time. Keep it with the data: a new key gives every
    person a new pseudonym."""
    data_dir = Path(data_dir)
    path = data_dir / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Write the whole key to a private temporary file, then link it into place:
    # if two processes race, both end up reading the one key that won.
    temp = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(KEY_BYTES))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
    finally:
        temp.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) < 16:
        raise ValueError(f"{path} is too short to be a pseudonym key; restore it from a backup")
    return key


def pseudonym(secret: bytes, user_id: str) -> str:
    """ "Person " and the first 8 characters of base32(HMAC-SHA256(secret, user_id))."""
    digest = hmac.new(secret, user_id.encode("utf-8"), hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + base64.b32encode(digest)[:8].decode("ascii")


# ----- the rows --------------------------------------------------------------------------


def find_project(db: Reader, text: str) -> int | None:
    """A project by its number or name. Names match in any case and spacing; if no
    name matches exactly, the one project whose name contains the text. None if
    none, or several, match. Projects whose room could not be made are left out."""
    text = text.strip().lstrip("#").strip()
    if not text:
        return None
    # ASCII digits only ("²".isdigit() is true, but int("²") fails).
    number = int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None
    projects = [
        (p.id, project_store.name_key(p.name or ""))
        for p in project_store.listing(db)
        if p.state != "failed"
    ]
    if number is not None:
        return number if any(pid == number for pid, _ in projects) else None
    key = project_store.name_key(text)
    found = [pid for pid, name in projects if name == key]
    if not found:
        found = [pid for pid, name in projects if key in name]
    return found[0] if len(found) == 1 else None


def choices(db: Reader) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """What an export can be about, as (number, name or question): the projects
    (those whose room could not be made left out, as ``find_project`` does) and
    the questions (feedback threads)."""
    projects = [(p.id, p.name or "") for p in project_store.listing(db) if p.state != "failed"]
    return projects, [(q.id, q.text) for q in feedback.questions(db)]


def project_exists(db: Reader, project_id: int) -> bool:
    """Whether an export can be about this project (as ``find_project`` finds them)."""
    project = project_store.get(db, project_id)
    return project is not None and project.state != "failed"


def project_name(db: Reader, project_id: int) -> str | None:
    """The name of the project an export is about (None if it has none)."""
    project = project_store.get(db, project_id)
    return project.name if project and project.name else None


def question_exists(db: Reader, question_id: int) -> bool:
    return feedback.question(db, question_id) is not None


def count_rows(
    db: Reader,
    *,
    project_id: int | None = None,
    question_id: int | None = None,
) -> int:
    """How many rows ``feedback_rows`` would give with these filters."""
    return feedback.count_for_report(db, project_id=project_id, question_id=question_id)


def feedback_rows(
    db: Reader,
    *,
    project_id: int | None = None,
    question_id: int | None = None,
    real_ids: bool = False,
    secret: bytes,
    timezone: str = "Europe/London",
) -> Iterator[ExportRow]:
    """Saved feedback (drafts are left out), grouped by question (feedback that
    answers no question comes last), oldest first within each.

    ``project_id``: feedback about that project, directly or through the question
    it answers. ``question_id``: the answers to that question (its thread).
    Streams from one cursor; nothing is read ahead.
    """
    project_names = {p.id: p.name for p in project_store.listing(db)}
    tz = ZoneInfo(timezone)
    names: dict[str, str] = {}  # pseudonyms made so far (one per person, not per row)
    cursor = feedback.for_report(db, project_id=project_id, question_id=question_id)
    try:
        for qid, question, text, created, project, themes, outcomes, user, contact_ok in cursor:
            if user is None:
                person = ANONYMOUS
            elif real_ids and contact_ok == 1:
                person = user
            else:
                person = names.get(user) or names.setdefault(user, pseudonym(secret, user))
            yield ExportRow(
                question=question or "",
                answer=text or "",
                date=uk_date(created, tz),
                project=project_names.get(project) or "",
                themes=_themes(themes),
                outcome=_outcomes(outcomes),
                person=person,
                question_id=qid,
            )
    finally:
        cursor.close()


def uk_date(stamp: str | None, tz: ZoneInfo) -> str:
    """YYYY-MM-DD of a stored time (ISO, UTC if it has no zone), in ``tz``."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp[:10]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    day: date = moment.astimezone(tz).date()
    return day.isoformat()


def _themes(raw: str | None) -> tuple[str, ...]:
    if not raw or raw == "[]":
        return ()
    return tuple(sorted(t for t in json.loads(raw) if t))


def _outcomes(raw: str | None) -> str:
    if not raw or raw == "[]":
        return ""
    found = json.loads(raw)
    if not found:
        return ""
    found.sort(key=lambda o: (o[0] or "", o[1] or 0))
    return OUTCOME_SEPARATOR.join(o[2] for o in found if o[2])
