"""The database schema, as ordered sqlite-utils migrations.

Add a new function at the end for every change; never edit an applied one.
Each migration runs in its own transaction.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("copro")


@migrations()
def m001_core(db: Database) -> None:
    # Sync position and other small bits of state.
    db["sync_state"].create({"key": str, "value": str}, pk="key")

    # Every event a person sends is written here before anything else happens.
    db["inbox"].create(
        {
            "seq": int,
            "event_id": str,
            "room_id": str,
            "sender": str,
            "type": str,
            "origin_server_ts": int,
            "event": str,  # the whole event as JSON
            "state": str,  # pending, done, failed, ignored
            "received_at": str,
            "handled_at": str,
        },
        pk="seq",
        not_null={"event_id", "room_id", "sender", "type", "event", "state"},
    )
    db["inbox"].create_index(["event_id"], unique=True)
    db["inbox"].create_index(["state", "seq"])

    # Everything the bot says or does on the chat platform goes out from here.
    db["outbox"].create(
        {
            "id": int,
            "txn_id": str,
            "action": str,  # send, join, leave
            "room_id": str,
            "event_type": str,
            "content": str,  # JSON
            "state": str,  # pending, sent, failed
            "attempts": int,
            "not_before": float,  # unix time; do not try before this
            "created_at": str,
            "done_at": str,
            "result": str,  # event ID on success, error text on failure
        },
        pk="id",
        not_null={"txn_id", "action", "room_id", "state"},
        defaults={"attempts": 0, "not_before": 0.0},
    )
    db["outbox"].create_index(["txn_id"], unique=True)
    db["outbox"].create_index(["state", "room_id", "id"])

    # Events whose handler failed, with the reference number the person was given.
    db["dead_letters"].create(
        {
            "ref": str,
            "event_id": str,
            "room_id": str,
            "sender": str,
            "event": str,
            "error": str,
            "created_at": str,
        },
        pk="ref",
    )

    # Rooms the bot knows about.
    db["rooms"].create(
        {
            "room_id": str,
            "state": str,  # invited, joined, left, refused
            "is_direct": int,
            "inviter": str,
            "joined_at_ts": int,
            "updated_at": str,
        },
        pk="room_id",
    )

    # Roles given in chat (the config file gives the rest).
    db["roles"].create(
        {"user_id": str, "role": str, "granted_by": str, "granted_at": str},
        pk="user_id",
    )

    # Who changed what, for the team to review.
    db["audit_log"].create(
        {
            "id": int,
            "at": str,
            "actor": str,
            "action": str,
            "subject": str,
            "detail": str,
        },
        pk="id",
    )


@migrations()
def m002_jobs_and_direct_chats(db: Database) -> None:
    # Things to do at a set time (closing a poll, a reminder). APScheduler only
    # wakes the bot up; these rows are the truth, rebuilt at every start.
    db["jobs"].create(
        {
            "id": int,
            "kind": str,
            "ref": str,  # what the job is about, e.g. a poll number
            "due_at": float,  # unix time
            "state": str,  # pending, done, failed, cancelled
            "attempts": int,
            "done_at": str,
            "error": str,
        },
        pk="id",
        not_null={"kind", "ref", "due_at", "state"},
        defaults={"attempts": 0},
    )
    db["jobs"].create_index(["state", "due_at"])
    db["jobs"].create_index(["kind", "ref"])

    # The person a direct chat is with, so the bot can find it again.
    db["rooms"].add_column("dm_with", str)
    db["rooms"].create_index(["dm_with"])

    # Finding what the bot sent from the platform's event ID.
    db["outbox"].create_index(["result"])


@migrations()
def m003_polls(db: Database) -> None:
    db["polls"].create(
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
    db["polls"].create_index(["room_id", "state"])
    db["polls"].create_index(["start_txn"])
    db["polls"].create_index(["companion_txn"])

    # Every answer, in any form (native, numbered reply, reaction), and take-backs.
    db["poll_votes"].create(
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
    db["poll_votes"].create_index(["poll_id", "voter"])

    # People told that a poll had closed (once each).
    db["poll_told_closed"].create({"poll_id": int, "voter": str}, pk=("poll_id", "voter"))

    # Secret ballots: who was sent a ballot and whether they have voted...
    db["poll_ballots"].create(
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
    db["poll_ballots"].create_index(["start_txn"])
    db["poll_ballots"].create_index(["companion_txn"])
    # ...and the totals, as bare counters: no row links a choice to a person.
    db["poll_tally"].create(
        {"poll_id": int, "answer_id": str, "count": int}, pk=("poll_id", "answer_id")
    )


@migrations()
def m004_conversations(db: Database) -> None:
    # A question the bot has asked a person in their direct chat; their next
    # reply there (that is not a command) goes to the feature that asked.
    db["conversations"].create(
        {
            "user_id": str,
            "kind": str,  # which feature asked, e.g. "project.consent"
            "ref": str,  # what about, e.g. a project number
            "data": str,  # JSON, for the feature
            "asked_at": str,
        },
        pk="user_id",
        not_null={"kind", "ref"},
    )


@migrations()
def m005_profiles(db: Database) -> None:
    # What people chose to tell the team about themselves (never required), so
    # the team can check who takes part is representative.
    db["profiles"].create(
        {
            "user_id": str,
            "area": str,  # one of projects.areas in the config
            "relationship": str,  # uses services, carer, council staff (any mix, comma-separated)
            "staff_team": str,  # for council staff: their team, in their words
            "updated_at": str,
        },
        pk="user_id",
    )


@migrations()
def m006_feedback(db: Database) -> None:
    # Whether a person agreed to their direct messages being saved as feedback.
    db["feedback_consents"].create(
        {"user_id": str, "agreed": int, "wording": str, "at": str}, pk="user_id"
    )
    # Questions asked in a room; every reply in the question's thread is an answer.
    db["questions"].create(
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
    db["questions"].create_index(["root_txn"])
    # What people said, in their own words. Anonymous feedback keeps no user,
    # room or event, and only the date.
    db["feedback"].create(
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
    db["feedback"].create_index(["event_id"], unique=True)
    db["feedback"].create_index(["user_id"])
    db["feedback"].create_index(["project_id"])
    db["feedback"].create_index(["question_id"])
    db["feedback_themes"].create({"feedback_id": int, "theme": str}, pk=("feedback_id", "theme"))
    # "You said, we did": what changed because of a piece of feedback.
    db["outcomes"].create(
        {"id": int, "feedback_id": int, "text": str, "by_user": str, "created_at": str},
        pk="id",
        not_null={"feedback_id", "text"},
    )
    db["outcomes"].create_index(["feedback_id"])


@migrations()
def m007_workshops(db: Database) -> None:
    # Workshops and co-production training that champions announce.
    db["workshops"].create(
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
    db["workshops"].create_index(["announce_txn"])
    db["workshops"].create_index(["state", "starts_at"])

    # Every answer given (a reaction or a command); the latest not taken back counts.
    db["workshop_answers"].create(
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
    db["workshop_answers"].create_index(["workshop_id", "user_id"])
    db["workshop_answers"].create_index(["user_id"])

    # Each person's answer now; people going are either in a place or waiting.
    db["workshop_rsvps"].create(
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
    db["workshop_rsvps"].create_index(["user_id"])

    # Access needs: private to the organiser and the team.
    db["workshop_needs"].create(
        {
            "workshop_id": int,
            "user_id": str,
            "needs": str,  # JSON list of checklist codes; [] means nothing extra
            "words": str,  # in their own words, if they used words
            "updated_at": str,
        },
        pk=("workshop_id", "user_id"),
    )
    db["workshop_needs"].create_index(["user_id"])

    # Who came. For training, this is completing that level.
    db["workshop_attendance"].create(
        {"workshop_id": int, "user_id": str, "recorded_by": str, "recorded_at": str},
        pk=("workshop_id", "user_id"),
    )
    db["workshop_attendance"].create_index(["user_id"])


@migrations()
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
    db["project_members"].create(
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
    db["project_members"].create_index(["user_id"])
    # One row per project and person, reused if they are invited again.
    db["project_invitations"].create(
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
    db["project_invitations"].create_index(["project_id", "user_id"], unique=True)
    db["project_invitations"].create_index(["user_id", "state"])
    # Every wording of the terms of engagement that was shown, by version.
    db["project_terms"].create(
        {"version": str, "key": str, "text": str, "first_shown_at": str}, pk="version"
    )
    # Who agreed to what, when: the key and version of the exact words shown.
    db["project_consents"].create(
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
    db["project_consents"].create_index(["project_id", "user_id"])
    db["project_consents"].create_index(["user_id"])


@migrations()
def m009_questions_per_chat(db: Database) -> None:
    # A question waits in the chat where it was asked (one at a time per person
    # and chat), remembers the message that asked it (a reply to it is an answer),
    # whether the person was told once that the bot is still waiting, and (if
    # the feature that asked says so) until when it waits.
    db.execute("ALTER TABLE conversations RENAME TO conversations_old")
    db["conversations"].create(
        {
            "user_id": str,
            "room_id": str,  # where it was asked; the person's ID until their direct chat opens
            "kind": str,
            "ref": str,
            "data": str,
            "txn": str,  # the question, as queued in the outbox
            "asked_at": str,
            "expires_at": str,  # null: as long as the bot's setting says
            "nudged": int,
        },
        pk=("user_id", "room_id"),
        not_null={"kind", "ref"},
        defaults={"nudged": 0},
    )
    db.execute(
        "INSERT INTO conversations (user_id, room_id, kind, ref, data, asked_at) "
        "SELECT user_id, user_id, kind, ref, data, asked_at FROM conversations_old"
    )
    db.execute("DROP TABLE conversations_old")


@migrations()
def m010_feedback_removed_by_others(db: Database) -> None:
    # When someone other than its author (a moderator) deleted the message a piece
    # of feedback came from: it is left out of exports until the team decides.
    db["feedback"].add_column("removed_at", str)


@migrations()
def m011_direct_chat_members(db: Database) -> None:
    # Who else is in each direct chat (joined or invited; never the bot). A
    # direct chat is private only while its one other member is the person.
    db["room_members"].create(
        {"room_id": str, "user_id": str, "membership": str, "updated_at": str},
        pk=("room_id", "user_id"),
    )
    db["room_members"].create_index(["user_id"])


@migrations()
def m012_ballots_hold_answers(db: Database) -> None:
    # A secret ballot answer stays on the chat server (and in the bot's memory)
    # until the poll closes; only where to find it again is stored, never what
    # it says. The totals are made once, at the close, from all answers at once;
    # poll_tally is no longer written (it holds what older versions counted).
    db["poll_ballots"].add_column("answer_room", str)
    db["poll_ballots"].add_column("answer_event", str)
    db["poll_ballots"].create_index(["answer_event"])


@migrations()
def seam_typed_outbox_keys_and_scrub_marker(db: Database) -> None:
    # The outbox tells a room that does not exist yet from a real one by a column,
    # not by how IDs look: "person" (room_id is a person's ID: their direct chat
    # is being opened) or "new_room" (room_id is the key a new room was asked for
    # under). Rows queued under such a key are marked like the row that makes it.
    db.table("outbox").add_column("placeholder", str)
    db.execute(
        "UPDATE outbox SET placeholder = (SELECT CASE o.action WHEN 'create_dm' THEN 'person' "
        "ELSE 'new_room' END FROM outbox o WHERE o.room_id = outbox.room_id "
        "AND o.action IN ('create_dm', 'create_room') ORDER BY o.id DESC LIMIT 1) "
        "WHERE room_id IN (SELECT room_id FROM outbox "
        "WHERE action IN ('create_dm', 'create_room'))"
    )
    # A reaction is an action of its own (before, a "send" told apart by its
    # Matrix event type): it is not something the bot said to a person.
    db.execute(
        "UPDATE outbox SET action = 'react' WHERE action = 'send' AND event_type = 'm.reaction'"
    )
    # Retention finds what is already scrubbed by this mark, not by the JSON's text.
    db.table("inbox").add_column("scrubbed", int, not_null_default=0)
    db.execute("UPDATE inbox SET scrubbed = 1 WHERE json_extract(event, '$.content') = '{}'")
