"""The database schema, as ordered sqlite-utils migrations.

Add a new function at the end for every change; never edit an applied one.
Each migration runs in its own transaction, in the order registered here: a
database records the names of those it has had, so names and order never change.
The first tables of the features (polls, feedback, workshops, projects) are made
in ``storage.schema_features``, registered here in their place.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from storage import schema_features as features

migrations = Migrations("copro")


@migrations()
def m001_core(db: Database) -> None:
    # Sync position and other small bits of state.
    db.table("sync_state").create({"key": str, "value": str}, pk="key")

    # Every event a person sends is written here before anything else happens.
    db.table("inbox").create(
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
    db.table("inbox").create_index(["event_id"], unique=True)
    db.table("inbox").create_index(["state", "seq"])

    # Everything the bot says or does on the chat platform goes out from here.
    db.table("outbox").create(
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
    db.table("outbox").create_index(["txn_id"], unique=True)
    db.table("outbox").create_index(["state", "room_id", "id"])

    # Events whose handler failed, with the reference number the person was given.
    db.table("dead_letters").create(
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
    db.table("rooms").create(
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
    db.table("roles").create(
        {"user_id": str, "role": str, "granted_by": str, "granted_at": str},
        pk="user_id",
    )

    # Who changed what, for the team to review.
    db.table("audit_log").create(
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
    db.table("jobs").create(
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
    db.table("jobs").create_index(["state", "due_at"])
    db.table("jobs").create_index(["kind", "ref"])

    # The person a direct chat is with, so the bot can find it again.
    db.table("rooms").add_column("dm_with", str)
    db.table("rooms").create_index(["dm_with"])

    # Finding what the bot sent from the platform's event ID.
    db.table("outbox").create_index(["result"])


migrations()(features.m003_polls)


@migrations()
def m004_conversations(db: Database) -> None:
    # A question the bot has asked a person in their direct chat; their next
    # reply there (that is not a command) goes to the feature that asked.
    db.table("conversations").create(
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
    db.table("profiles").create(
        {
            "user_id": str,
            "area": str,  # one of projects.areas in the config
            "relationship": str,  # uses services, carer, council staff (any mix, comma-separated)
            "staff_team": str,  # for council staff: their team, in their words
            "updated_at": str,
        },
        pk="user_id",
    )


migrations()(features.m006_feedback)


migrations()(features.m007_workshops)


migrations()(features.m008_projects)


@migrations()
def m009_questions_per_chat(db: Database) -> None:
    # A question waits in the chat where it was asked (one at a time per person
    # and chat), remembers the message that asked it (a reply to it is an answer),
    # whether the person was told once that the bot is still waiting, and (if
    # the feature that asked says so) until when it waits.
    db.execute("ALTER TABLE conversations RENAME TO conversations_old")
    db.table("conversations").create(
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
    db.table("feedback").add_column("removed_at", str)


@migrations()
def m011_direct_chat_members(db: Database) -> None:
    # Who else is in each direct chat (joined or invited; never the bot). A
    # direct chat is private only while its one other member is the person.
    db.table("room_members").create(
        {"room_id": str, "user_id": str, "membership": str, "updated_at": str},
        pk=("room_id", "user_id"),
    )
    db.table("room_members").create_index(["user_id"])


@migrations()
def m012_ballots_hold_answers(db: Database) -> None:
    # A secret ballot answer stays on the chat server (and in the bot's memory)
    # until the poll closes; only where to find it again is stored, never what
    # it says. The totals are made once, at the close, from all answers at once;
    # poll_tally is no longer written (it holds what older versions counted).
    db.table("poll_ballots").add_column("answer_room", str)
    db.table("poll_ballots").add_column("answer_event", str)
    db.table("poll_ballots").create_index(["answer_event"])


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


@migrations()
def discord_platform_columns_and_positions(db: Database) -> None:
    # The bot can run on more than one chat platform at once, from one database:
    # each event, each thing to send and each job names the platform it is on.
    # Everything before this was on Matrix.
    for table in ("inbox", "outbox", "jobs"):
        db.table(table).add_column("platform", str, not_null_default="matrix")
    db.table("outbox").create_index(["platform", "state", "room_id"])
    # Where each platform's receiving has got to (e.g. the last message seen in a
    # channel), by platform and key. Matrix keeps its sync token in sync_state.
    db.table("positions").create(
        {"platform": str, "key": str, "value": str},
        pk=("platform", "key"),
        not_null={"platform", "key", "value"},
    )


@migrations()
def dashboard_sessions_and_sign_in_links(db: Database) -> None:
    # The team's dashboard: one-time sign-in links sent by direct message, and the
    # sessions they start. Only a hash of each token is stored, so a copy of the
    # database cannot be used to sign in.
    db.table("web_links").create(
        {
            "token_hash": str,
            "user_id": str,
            "created_at": float,
            "expires_at": float,
            "used_at": float,
        },
        pk="token_hash",
        not_null={"user_id", "created_at", "expires_at"},
    )
    db.table("web_sessions").create(
        {
            "key_hash": str,
            "user_id": str,
            "csrf": str,
            "started_at": float,
            "expires_at": float,
            "ended_at": float,
        },
        pk="key_hash",
        not_null={"user_id", "csrf", "started_at", "expires_at"},
    )
    db.table("web_sessions").create_index(["user_id"])


@migrations()
def feedback_reviewed_mark(db: Database) -> None:
    # The dashboard's review queue: when a team member marked a piece of
    # feedback as read and dealt with, and who (empty: still waiting).
    db.table("feedback").add_column("reviewed_at", str)
    db.table("feedback").add_column("reviewed_by", str)
    db.table("feedback").create_index(["reviewed_at"])


@migrations()
def alerts_to_the_team(db: Database) -> None:
    # Each problem the team was told about (storage.alerts), by kind and what it
    # is about: when it was raised, and when it was over (empty: still open).
    db.table("alerts").create(
        {"kind": str, "ref": str, "raised_at": float, "over_at": float},
        pk=("kind", "ref"),
        not_null={"kind", "ref", "raised_at"},
    )


@migrations()
def polls_how_people_answered(db: Database) -> None:
    # How the people counted at a poll's close answered (taps, numbered replies,
    # reactions), as counts by way, for the dashboard. Polls closed before this
    # have none: the dashboard says "not recorded".
    db.table("polls").add_column("sources", str)


@migrations()
def feedback_themes_by_theme(db: Database) -> None:
    # The dashboard's review list, filtered by a theme: the pieces with that theme
    # without reading every piece's themes.
    db.table("feedback_themes").create_index(["theme", "feedback_id"])


@migrations()
def feedback_dashboard_counts(db: Database) -> None:
    # The dashboard's overview counts saved feedback, the people who gave it, what
    # waits for review and each week's responses: from these indexes alone, so it
    # stays quick with 100,000 pieces of feedback.
    db.table("feedback").create_index(["state", "created_at"], if_not_exists=True)
    db.table("feedback").create_index(["state", "reviewed_at", "user_id"], if_not_exists=True)
