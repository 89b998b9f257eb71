"""The migrations that made each feature's first tables: polls, feedback, workshops
and projects. ``storage.schema`` registers them in their place in the order;
later changes to these tables are migrations there, at the end."""

from __future__ import annotations

from sqlite_utils import Database


def m003_polls(db: Database) -> None:
    db.table("polls").create(
        {
            "id": int,  # the poll's number, as people see it
            "room_id": str,
            "creator": str,
            "question": str,
            "answers": str,  # JSON: [[answer ID, label], ...]
            "max_selections": int,
            "disclosed": int,  # 0: results hidden until it closes
            "secret": int,  # 1: secret ballot by direct message
            "state": str,  # open, closing, closed
            "closes_at": float,  # unix time, or null: closed by hand
            "cutoff": float,  # unix time: answers after this do not count
            "created_at": str,
            "start_txn": str,  # the poll event (for secret ballots: null)
            "companion_txn": str,  # the message people reply or react to
            "results": str,  # JSON, once closed: {answer ID: count}
            "voters": int,
            "members": int,
        },
        pk="id",
        not_null={"room_id", "creator", "question", "answers", "state"},
    )
    db.table("polls").create_index(["room_id", "state"])
    db.table("polls").create_index(["start_txn"])
    db.table("polls").create_index(["companion_txn"])

    # Every answer, in any form (native, numbered reply, reaction), and take-backs.
    db.table("poll_votes").create(
        {
            "event_id": str,
            "poll_id": int,
            "voter": str,
            "ts": int,  # ms
            "kind": str,  # response, react, unreact, retract
            "answers": str,  # JSON list of answer IDs
            "removed": int,  # 1: the person deleted this answer later
        },
        pk="event_id",
        not_null={"poll_id", "voter", "ts", "kind", "answers"},
        defaults={"removed": 0},
    )
    db.table("poll_votes").create_index(["poll_id", "voter"])

    # People told that a poll had closed (once each).
    db.table("poll_told_closed").create({"poll_id": int, "voter": str}, pk=("poll_id", "voter"))

    # Secret ballots: who was sent a ballot and whether they have voted...
    db.table("poll_ballots").create(
        {
            "poll_id": int,
            "voter": str,
            "start_txn": str,  # the ballot poll in their direct chat
            "companion_txn": str,
            "voted": int,
        },
        pk=("poll_id", "voter"),
        defaults={"voted": 0},
    )
    db.table("poll_ballots").create_index(["start_txn"])
    db.table("poll_ballots").create_index(["companion_txn"])
    # ...and the totals, as bare counters: no row links a choice to a person.
    db.table("poll_tally").create(
        {"poll_id": int, "answer_id": str, "count": int}, pk=("poll_id", "answer_id")
    )


def m006_feedback(db: Database) -> None:
    # Whether a person agreed to their direct messages being saved as feedback.
    db.table("feedback_consents").create(
        {"user_id": str, "agreed": int, "wording": str, "at": str}, pk="user_id"
    )
    # Questions asked in a room; every reply in the question's thread is an answer.
    db.table("questions").create(
        {
            "id": int,
            "room_id": str,
            "asker": str,
            "text": str,
            "project_id": int,
            "root_txn": str,  # the bot's message that starts the thread
            "state": str,  # open, closed
            "created_at": str,
            "closed_at": str,
        },
        pk="id",
        not_null={"room_id", "asker", "text", "state"},
    )
    db.table("questions").create_index(["root_txn"])
    # What people said, in their own words. Anonymous feedback keeps no user,
    # room or event, and only the date.
    db.table("feedback").create(
        {
            "id": int,
            "text": str,
            "created_at": str,
            "updated_at": str,
            "user_id": str,  # null: anonymous
            "room_id": str,
            "event_id": str,  # the person's message (for edits and deletions)
            "project_id": int,
            "question_id": int,
            "source": str,  # direct, thread, command
            "contact_ok": int,  # 1: may be told what changed because of it
            "state": str,  # draft (still asking the person), saved
        },
        pk="id",
        not_null={"text", "created_at", "source", "state"},
        defaults={"contact_ok": 0},
    )
    db.table("feedback").create_index(["event_id"], unique=True)
    db.table("feedback").create_index(["user_id"])
    db.table("feedback").create_index(["project_id"])
    db.table("feedback").create_index(["question_id"])
    db.table("feedback_themes").create(
        {"feedback_id": int, "theme": str}, pk=("feedback_id", "theme")
    )
    # "You said, we did": what changed because of a piece of feedback.
    db.table("outcomes").create(
        {"id": int, "feedback_id": int, "text": str, "by_user": str, "created_at": str},
        pk="id",
        not_null={"feedback_id", "text"},
    )
    db.table("outcomes").create_index(["feedback_id"])


def m007_workshops(db: Database) -> None:
    # Workshops and co-production training that champions announce.
    db.table("workshops").create(
        {
            "id": int,  # the workshop's number, as people see it
            "room_id": str,  # where it was announced
            "organiser": str,  # who announced it
            "title": str,
            "starts_at": float,  # unix time (UTC)
            "minutes": int,  # how long it lasts, if said
            "place": str,  # where, or an online link
            "details": str,
            "capacity": int,  # null: no limit
            "project": int,  # the project it belongs to, if any
            "access": str,  # what access the venue has, in the organiser's words
            "audience": str,  # who it is for, in the organiser's words
            "kind": str,  # workshop, training
            "level": int,  # training level 1, 2 or 3
            "state": str,  # open, cancelled
            "announce_txn": str,  # the announcement people react to
            "reminders": str,  # JSON: the reminder offsets scheduled, like ["1 day"]
            "moves": int,  # how many times it moved (the calendar file's SEQUENCE)
            "created_at": str,
            "cancelled_at": str,
            "cancel_reason": str,
        },
        pk="id",
        not_null={"room_id", "organiser", "title", "starts_at", "place", "kind", "state"},
        defaults={"moves": 0, "reminders": "[]"},
    )
    db.table("workshops").create_index(["announce_txn"])
    db.table("workshops").create_index(["state", "starts_at"])

    # Every answer given (a reaction or a command); the latest not taken back counts.
    db.table("workshop_answers").create(
        {
            "event_id": str,
            "workshop_id": int,
            "user_id": str,
            "answer": str,  # going, maybe, cantgo
            "ts": int,  # ms
            "via": str,  # react, command
            "removed": int,  # 1: taken back (reaction removed, message deleted)
        },
        pk="event_id",
        not_null={"workshop_id", "user_id", "answer", "ts", "via"},
        defaults={"removed": 0},
    )
    db.table("workshop_answers").create_index(["workshop_id", "user_id"])
    db.table("workshop_answers").create_index(["user_id"])

    # Each person's answer now; people going are either in a place or waiting.
    db.table("workshop_rsvps").create(
        {
            "workshop_id": int,
            "user_id": str,
            "answer": str,
            "waiting": int,  # 1: on the waiting list
            "since": int,  # ms: when they gave this answer (orders the waiting list)
            "updated_at": str,
        },
        pk=("workshop_id", "user_id"),
        not_null={"answer", "since"},
        defaults={"waiting": 0},
    )
    db.table("workshop_rsvps").create_index(["user_id"])

    # Access needs: private to the organiser and the team.
    db.table("workshop_needs").create(
        {
            "workshop_id": int,
            "user_id": str,
            "needs": str,  # JSON list of checklist codes; [] means nothing extra
            "words": str,  # in their own words, if they used words
            "updated_at": str,
        },
        pk=("workshop_id", "user_id"),
    )
    db.table("workshop_needs").create_index(["user_id"])

    # Who came. For training, this is completing that level.
    db.table("workshop_attendance").create(
        {"workshop_id": int, "user_id": str, "recorded_by": str, "recorded_at": str},
        pk=("workshop_id", "user_id"),
    )
    db.table("workshop_attendance").create_index(["user_id"])


def m008_projects(db: Database) -> None:
    # Co-produced projects, each with a chat room the bot makes (and is admin of).
    # A project whose room cannot be made is deleted; AUTOINCREMENT keeps its
    # number from ever being given to another project.
    db.execute(
        """
        CREATE TABLE projects (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            name_key TEXT NOT NULL UNIQUE,  -- lower case, single-spaced: names are unique
            summary TEXT NOT NULL,  -- what it is about, in plain words (the room's topic)
            stage TEXT NOT NULL,  -- design, deliver, review, done
            contact TEXT,  -- who to ask, if given
            budget TEXT,  -- in the team's words, if they want to be open about it
            open INTEGER NOT NULL DEFAULT 0,  -- 1: anyone may join; 0: by invitation
            state TEXT NOT NULL,  -- setting_up (its room is being made), ready
            created_by TEXT,
            created_in TEXT NOT NULL,  -- the room the command was typed in
            command_event TEXT,
            created_at TEXT NOT NULL,
            stage_at TEXT,
            create_txn TEXT,  -- the outbox item that makes the room
            room_id TEXT
        )
        """
    )
    db.table("project_members").create(
        {
            "project_id": int,
            "user_id": str,
            "how": str,  # created, invited, joined
            "joined_at": str,
            "left_at": str,  # null while they take part
        },
        pk=("project_id", "user_id"),
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("project_members").create_index(["user_id"])
    # One row per project and person, reused if they are invited again.
    db.table("project_invitations").create(
        {
            "id": int,
            "project_id": int,
            "user_id": str,
            "invited_by": str,  # the person themselves if they asked to join
            "asked_in": str,  # where the command was typed, to tell the inviter
            "command_event": str,
            "state": str,  # checking, asked, reminded, accepted, declined, left, ...
            "created_at": str,
            "asked_at": float,  # unix time the question was queued
            "question_txn": str,
            "terms_version": str,
            "reminded_at": str,
            "answered_at": str,
            "answer_event": str,
        },
        pk="id",
        not_null={"project_id", "user_id", "state"},
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("project_invitations").create_index(["project_id", "user_id"], unique=True)
    db.table("project_invitations").create_index(["user_id", "state"])
    # Every wording of the terms of engagement that was shown, by version.
    db.table("project_terms").create(
        {"version": str, "key": str, "text": str, "first_shown_at": str}, pk="version"
    )
    # Who agreed to what, when: the key and version of the exact words shown.
    db.table("project_consents").create(
        {
            "id": int,
            "project_id": int,
            "user_id": str,
            "invitation_id": int,
            "terms_key": str,
            "terms_version": str,
            "agreed_at": str,
            "answer_event": str,  # the person's "yes"
            "withdrawn_at": str,  # when they left the project
        },
        pk="id",
        not_null={"project_id", "user_id", "terms_key", "terms_version", "agreed_at"},
        foreign_keys=[
            ("project_id", "projects", "id"),
            ("terms_version", "project_terms", "version"),
        ],
    )
    db.table("project_consents").create_index(["project_id", "user_id"])
    db.table("project_consents").create_index(["user_id"])
