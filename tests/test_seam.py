"""The platform seam: ``commands/`` and ``storage/`` know nothing of Matrix.

What is Matrix's (its ID grammar, links, event types) is the Matrix adapter's,
behind ``bot.context.Platform``. These tests read the code itself for Matrix
leaking through the seam, test the Platform methods the Matrix adapter gives
commands, and the outbox's typed placeholders and the inbox's scrub mark, on
new databases and on ones made before them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

import harness
from bot.config import load_config
from bot.context import UserId
from bot.matrix import MatrixAdapter
from bot.matrix.adapter import EXAMPLE_PEOPLE
from commands.common import read_people
from commands.project_rules import parse_invite
from localbot import ALICE, CannedAdapter, LocalBot, make_bots, say
from storage import inbox, outbox, rooms
from storage import roles as role_store
from storage.db import Store
from storage.schema import migrations

ROOT = Path(__file__).resolve().parent.parent
BOT = "@copro-bot:council.test"
SAM = "@sam:council.test"
LEE = "@lee:council.test"
DM = "!dm:council.test"
GROUP = "!group:council.test"

# ----- no Matrix in commands/ and storage/ -------------------------------------------

# What only Matrix has, as it shows in code (comments and docstrings included).
LEAKS = {
    "a Matrix event type (m.room.*)": r"\bm\.room\b",
    "a Matrix event type or content key (m.*)": r"""["']m\.[a-z]""",
    "a Matrix proposal's name (org.matrix.*)": r"org\.matrix",
    "a matrix.to link": r"matrix\.to",
    "a Matrix constant": r"MATRIX",
    "a sigil test (startswith)": r"""startswith\(\s*\(?\s*["'][@!#]""",
    "a sigil test (first character)": r"""\[0\]\s*[!=]=\s*["'][@!#]|["'][@!#]["']\s*[!=]=""",
    "an ID regex": r"""re\.compile\(\s*r?["']\^?[@!#]""",
    "a Matrix ID": r"@[a-z0-9._=\-/+]+:[a-z0-9.\-]+\.[a-z]{2,}",
    "@name:server": r"@name:server",
    "an ID cut at its colon": r"""\b\w*(user_id|sender)\.split\(\s*["']:""",
    "a Matrix state event": r"queue_state\(",
    "scrubbed events found by their JSON": r"""'\\?"content\\?": \{\}'""",
}

# Rows older versions stored in Matrix's terms, which the migration that retypes
# them has to name: (file, the line's text).
ALLOWED = {
    (
        "storage/schema.py",
        "\"UPDATE outbox SET action = 'react' WHERE action = 'send' "
        "AND event_type = 'm.reaction'\"",
    ),
}


def matrix_leaks(root: Path) -> list[str]:
    """Every line of commands/ and storage/ under ``root`` that names Matrix."""
    found = []
    for path in sorted([*root.glob("commands/*.py"), *root.glob("storage/*.py")]):
        where = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if (where, line.strip()) in ALLOWED:
                continue
            for what, pattern in LEAKS.items():
                if re.search(pattern, line):
                    found.append(f"{where}:{number}: {what}: {line.strip()}")
    return found


def test_commands_and_storage_have_no_matrix() -> None:
    assert matrix_leaks(ROOT) == []


@pytest.mark.parametrize(
    "line",
    [
        'MATRIX_ID = re.compile(r"^@[a-z0-9._=\\-/+]+:[A-Za-z0-9.\\-]+(:\\d{1,5})?$")',
        'first = next((i for i, t in enumerate(tokens) if t.startswith("@")), None)',
        'if room_id[0] == "!":',
        'ctx.platform.queue_state(ctx.db, room, "m.room.topic", {"topic": summary})',
        'link = f"https://matrix.to/#/{ctx.room_id}/{ctx.event.event_id}"',
        'domain = ctx.platform.user_id.split(":", 1)[-1] or "copro-bot"',
        'usage="champion add @sam:council.org",',
        "\"WHERE action = 'send' AND event_type != 'm.reaction' AND content != '{}' \"",
        '"SELECT event_id FROM inbox WHERE instr(event, \'\\"content\\": {}\') = 0",',
        '"kind": "org.matrix.msc3381.poll.disclosed",',
    ],
)
def test_the_scan_finds_what_commands_used_to_have(tmp_path: Path, line: str) -> None:
    (tmp_path / "commands").mkdir()
    (tmp_path / "commands" / "handler.py").write_text(line + "\n")
    assert len(matrix_leaks(tmp_path)) >= 1


def test_the_scan_leaves_neutral_code_alone(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "rooms.py").write_text(
        '"SELECT 1 FROM room_members m WHERE m.room_id = rooms.room_id"\n'
        'if "@" in name:\n'
        'kept = {**kept, "content": {}}\n'
        '@commands.command("attended", usage="attended 2 {someone} {someone_else}")\n'
    )
    assert matrix_leaks(tmp_path) == []


# ----- the Matrix adapter's side of the seam -----------------------------------------


@pytest.fixture
def adapter(tmp_path: Path, store: Store) -> MatrixAdapter:
    path = harness.write_config(tmp_path / "config.toml", user_id=BOT, team=["@alice:council.test"])
    return MatrixAdapter(load_config(path, env={}), store)


# The ID grammar commands used before the seam (commands.champions.MATRIX_ID).
OLD_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$")

TYPED = [
    "@sam:council.org",
    "@sam.smith_2=x/y+z-1:council.org",
    "@sam:Council.ORG",
    "@sam:council.org:8448",
    "@sam:localhost",
    "@sam:127.0.0.1:8008",
    "@SAM:council.org",  # capitals in the name: not an ID
    "@sam",
    "sam:council.org",
    "@:council.org",
    "@sam:",
    "@sam:council.org:123456",
    "@sam:coun cil.org",
    "@sam:council_org",
    "@sam:[::1]",
    "@sam@council.org",
    "!room:council.org",
    "#buses:council.org",
    "",
    "@sam:council.org,",
]


@pytest.mark.parametrize("text", TYPED)
def test_the_same_ids_are_accepted_as_before(adapter: MatrixAdapter, text: str) -> None:
    expected = text if OLD_ID.match(text) else None
    assert adapter.person(text) == expected


@pytest.mark.parametrize(
    ("word", "meant"), [("@sam:council.org", True), ("@Sam", True), ("Sam", False), ("!x", False)]
)
def test_words_meant_as_people_start_with_an_at(
    adapter: MatrixAdapter, word: str, meant: bool
) -> None:
    assert adapter.meant_as_person(word) is meant


def test_people_are_shown_by_their_full_id(adapter: MatrixAdapter) -> None:
    assert adapter.mention(SAM) == SAM


def test_the_examples_are_ids_the_bot_accepts(adapter: MatrixAdapter) -> None:
    assert adapter.example_people == EXAMPLE_PEOPLE
    assert all(adapter.person(p) == p for p in adapter.example_people)
    assert len(set(adapter.example_people)) == 2


def test_a_link_opens_the_message_in_any_matrix_app(adapter: MatrixAdapter) -> None:
    link = adapter.link("!room:council.test", "$event1")
    assert link == "https://matrix.to/#/!room:council.test/$event1"


def test_calendar_uids_use_the_bot_s_own_server(adapter: MatrixAdapter) -> None:
    assert adapter.uid_domain == "council.test"


def test_a_topic_is_the_room_s_topic_state(adapter: MatrixAdapter, store: Store) -> None:
    with store.write() as db:
        txn = adapter.queue_topic(db, GROUP, "Better buses for the day centre")
    (item,) = outbox.heads(store.db)
    assert (item.txn_id, item.action, item.room_id, item.event_type) == (
        txn,
        "state",
        GROUP,
        "m.room.topic",
    )
    assert item.content == {
        "state_key": "",
        "content": {"topic": "Better buses for the day centre"},
    }


def test_a_reaction_is_not_something_the_bot_said(adapter: MatrixAdapter, store: Store) -> None:
    with store.write() as db:
        rooms.upsert(db, DM, state="joined", is_direct=True, dm_with=SAM)
        rooms.set_member(db, DM, SAM, "join")
        adapter.queue_reaction(db, DM, "$their-message", "✅")
        adapter.queue_text(db, DM, "Thank you.")
    said = outbox.personal_data(store.db, SAM)["outbox"]
    assert [json.loads(row["content"])["body"] for row in said] == ["Thank you."]
    assert store.db.execute("SELECT action FROM outbox ORDER BY id").fetchall() == [
        ("react",),
        ("send",),
    ]


# ----- typed placeholders in the outbox ----------------------------------------------


def placeholders(store: Store) -> list[tuple[str, str, str | None]]:
    return store.db.execute(
        "SELECT action, room_id, placeholder FROM outbox ORDER BY id"
    ).fetchall()


def test_what_waits_for_a_chat_or_room_is_marked(adapter: MatrixAdapter, store: Store) -> None:
    with store.write() as db:
        adapter.queue_direct(db, SAM, "Hello")
        adapter.queue_create_room(db, "project:1", "Better buses", "About buses", invite=[SAM])
        adapter.queue_text(db, "project:1", "Welcome")
        adapter.queue_text(db, GROUP, "Hi all")
    assert placeholders(store) == [
        ("create_dm", SAM, outbox.PERSON),
        ("send", SAM, outbox.PERSON),
        ("create_room", "project:1", outbox.NEW_ROOM),
        ("send", "project:1", outbox.NEW_ROOM),
        ("send", GROUP, None),
    ]


def test_only_what_waits_moves_to_the_new_room(store: Store) -> None:
    # A room whose ID is the same text as a key (possible on another platform)
    # keeps what was queued for it: the mark says what waits, not the text.
    with store.write() as db:
        outbox.enqueue(db, "send", "42", "text", {"body": "for room 42"})
        outbox.enqueue(db, "create_dm", "42", opens=outbox.PERSON)
        outbox.enqueue(db, "send", "42", "text", {"body": "for person 42"})
        outbox.move_room(db, "42", "!new:council.test")
    moved = store.db.execute("SELECT room_id, content FROM outbox WHERE action = 'send'").fetchall()
    assert [(room, json.loads(c)["body"]) for room, c in moved] == [
        ("42", "for room 42"),
        ("!new:council.test", "for person 42"),
    ]
    assert placeholders(store)[-1] == ("send", "!new:council.test", None)


def test_a_room_not_made_fails_only_what_waits_for_it(store: Store) -> None:
    with store.write() as db:
        outbox.enqueue(db, "send", "project:1", "text", {"body": "a room's own"})
        outbox.enqueue(db, "create_room", "project:1", opens=outbox.NEW_ROOM)
        outbox.enqueue(db, "send", "project:1", "text", {"body": "waits"})
        outbox.fail_pending(db, "project:1", "the room was not made")
    states = store.db.execute("SELECT action, state FROM outbox ORDER BY id").fetchall()
    assert states == [("send", "pending"), ("create_room", "failed"), ("send", "failed")]


def test_a_person_s_data_has_what_waits_for_their_chat(
    adapter: MatrixAdapter, store: Store
) -> None:
    with store.write() as db:
        outbox.enqueue(db, "send", SAM, "text", {"body": "Not waiting for a chat"})
        adapter.queue_direct(db, SAM, "For Sam, once the chat is open")
        adapter.queue_text(db, adapter.direct_room(db, SAM), "And this")
    assert outbox.personal_data(store.db, LEE) == {"outbox": []}
    said = outbox.personal_data(store.db, SAM)["outbox"]
    assert [json.loads(row["content"])["body"] for row in said] == [
        "For Sam, once the chat is open",
        "And this",
    ]
    with store.write() as db:
        outbox.forget(db, SAM)
    assert store.db.execute("SELECT state, result FROM outbox ORDER BY id").fetchall() == [
        ("pending", None),  # not for their chat
        ("failed", "forgotten"),  # the chat that was on its way
        ("failed", "forgotten"),
        ("failed", "forgotten"),
    ]


# ----- the inbox's scrub mark --------------------------------------------------------


def message(event_id: str, body: str = "hello") -> dict:
    return {
        "event_id": event_id,
        "sender": SAM,
        "type": "m.room.message",
        "origin_server_ts": 1_700_000_000_000,
        "content": {"msgtype": "m.text", "body": body},
    }


def scrubbed(store: Store) -> dict[str, int]:
    return dict(store.db.execute("SELECT event_id, scrubbed FROM inbox").fetchall())


def test_scrubbing_marks_the_event(store: Store) -> None:
    with store.write() as db:
        inbox.add_events(db, GROUP, [message("$a"), message("$b")])
        inbox.add_events(db, DM, [inbox.sealed(message("$ballot"))])
        inbox.scrub(db, "$a")
    assert scrubbed(store) == {"$a": 1, "$b": 0, "$ballot": 1}
    with store.write() as db:
        assert inbox.scrub_older(db, "9999") == 1  # only $b had words left
    assert scrubbed(store) == {"$a": 1, "$b": 1, "$ballot": 1}
    with store.write() as db:
        assert inbox.scrub_older(db, "9999") == 0


def test_retention_does_not_read_the_words_for_the_mark(store: Store) -> None:
    # A message that says what a scrubbed event looks like is still scrubbed.
    with store.write() as db:
        inbox.add_events(db, GROUP, [message("$a", body='"content": {}')])
        assert inbox.scrub_older(db, "9999") == 1
    assert json.loads(store.db.execute("SELECT event FROM inbox").fetchone()[0])["content"] == {}


def test_an_unlocked_event_has_words_again(store: Store) -> None:
    locked = {**message("$x"), "type": "m.room.encrypted", "content": {"ciphertext": "..."}}
    with store.write() as db:
        inbox.add_events(db, GROUP, [locked])
        (event,) = inbox.pending(db)
        inbox.mark(db, event.seq, "locked")
        inbox.unlock(db, event.seq, message("$x", "now readable"))
        assert inbox.scrub_older(db, "9999") == 1


# ----- a database made before the seam -----------------------------------------------

SEAM = "seam_typed_outbox_keys_and_scrub_marker"


def old_outbox_row(db, action: str, room_id: str, event_type=None, content=None, state="sent"):  # type: ignore[no-untyped-def]
    db.execute(
        "INSERT INTO outbox (txn_id, action, room_id, event_type, content, state, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000+00:00')",
        [
            f"copro-{action}-{room_id}-{state}-{event_type}",
            action,
            room_id,
            event_type,
            None if content is None else json.dumps(content),
            state,
        ],
    )


def test_an_older_database_is_classified_as_before(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    assert SEAM in [m.name for m in migrations._migrations]
    old = Database(path)
    migrations.apply(old, stop_before=SEAM)
    with old.conn:
        # Sam's direct chat was made; what waited went to it. Lee's is on its way.
        old_outbox_row(old, "create_dm", SAM)
        old_outbox_row(old, "send", DM, "m.room.message", {"body": "Hello Sam"})
        old_outbox_row(old, "send", DM, "m.reaction", {"m.relates_to": {"key": "✅"}})
        old_outbox_row(old, "create_dm", LEE, state="pending")
        old_outbox_row(old, "send", LEE, "m.room.message", {"body": "Hello Lee"}, "pending")
        # One project room is on its way; another could not be made.
        old_outbox_row(old, "create_room", "project:1", content={}, state="pending")
        old_outbox_row(old, "send", "project:1", "m.room.message", {"body": "Hi"}, "pending")
        old_outbox_row(old, "create_room", "project:2", content={}, state="failed")
        old_outbox_row(old, "send", "project:2", "m.room.message", {"body": "Hi"}, "failed")
        old_outbox_row(old, "send", GROUP, "m.room.message", {"body": "Hi all"})
        for event_id, event in [
            ("$words", message("$words")),
            ("$scrubbed", {"event_id": "$scrubbed", "type": "m.room.message", "content": {}}),
            ("$sealed", inbox.sealed(message("$sealed"))),
        ]:
            old.execute(
                "INSERT INTO inbox (event_id, room_id, sender, type, origin_server_ts, event, "
                "state, received_at) VALUES (?, ?, ?, 'm.room.message', 0, ?, 'done', '2026')",
                [event_id, GROUP, SAM, json.dumps(event, ensure_ascii=False)],
            )
    old.close()

    store = Store.open(path)
    try:
        rows = store.db.execute(
            "SELECT action, room_id, placeholder FROM outbox ORDER BY id"
        ).fetchall()
        assert rows == [
            ("create_dm", SAM, outbox.PERSON),
            ("send", DM, None),
            ("react", DM, None),
            ("create_dm", LEE, outbox.PERSON),
            ("send", LEE, outbox.PERSON),
            ("create_room", "project:1", outbox.NEW_ROOM),
            ("send", "project:1", outbox.NEW_ROOM),
            ("create_room", "project:2", outbox.NEW_ROOM),
            ("send", "project:2", outbox.NEW_ROOM),
            ("send", GROUP, None),
        ]
        assert scrubbed(store) == {"$words": 0, "$scrubbed": 1, "$sealed": 1}
        with store.write() as db:
            rooms.upsert(db, DM, state="joined", is_direct=True, dm_with=SAM)
            rooms.set_member(db, DM, SAM, "join")
            # What the old rows mean is kept: Lee's waiting message is theirs, Sam's
            # reaction is not something said, the waiting project message moves.
            said = {
                who: [
                    json.loads(r["content"])["body"]
                    for r in outbox.personal_data(db, who)["outbox"]
                ]
                for who in (SAM, LEE)
            }
            assert said == {SAM: ["Hello Sam"], LEE: ["Hello Lee"]}
            outbox.move_room(db, "project:1", "!room1:council.test")
            assert inbox.scrub_older(db, "9999") == 1
        moved = store.db.execute(
            "SELECT room_id, placeholder FROM outbox WHERE action = 'send' AND state = 'pending'"
        ).fetchall()
        assert sorted(moved) == [("!room1:council.test", None), (LEE, outbox.PERSON)]
    finally:
        store.close()


# ----- commands follow the platform's IDs --------------------------------------------


class NumberedIds(CannedAdapter):
    """A platform whose people are numbers, typed and shown as <@123> (as on
    Discord): the handlers must take its word for what a person's ID is."""

    def person(self, text: str) -> UserId | None:
        found = re.fullmatch(r"<@(\d+)>", text)
        return UserId(found[1]) if found else None

    def meant_as_person(self, word: str) -> bool:
        return word.startswith("<@")

    def mention(self, user_id: str) -> str:
        return f"<@{user_id}>"

    @property
    def example_people(self) -> tuple[str, str]:
        return ("<@1001>", "<@1002>")


class NumberedBot(LocalBot):
    adapter_class = NumberedIds


@pytest.fixture
def numbered(tmp_path: Path) -> Iterator[NumberedBot]:
    with make_bots(NumberedBot, tmp_path) as make:
        yield make()


async def test_champions_are_named_in_the_platform_s_own_form(numbered: NumberedBot) -> None:
    assert await numbered.ask("!champion add <@42>", sender=ALICE) == [
        say("champion.added", person="<@42>")
    ]
    assert role_store.granted_role(numbered.db, "42") == "champion"
    (listed,) = await numbered.ask("!champions", sender=ALICE)
    assert "<@42>" in listed


async def test_examples_and_refusals_come_from_the_platform(numbered: NumberedBot) -> None:
    (refused,) = await numbered.ask("!champion add @sam:council.org", sender=ALICE)
    assert refused == say("champion.bad_id", text="@sam:council.org", someone="<@1001>")
    (help_text,) = await numbered.ask("!help team", sender=ALICE)
    assert "!champion add <@1001>" in help_text and "council.org" not in help_text


async def test_invite_finds_people_by_the_platform_s_rule(numbered: NumberedBot) -> None:
    (reply,) = await numbered.ask("!invite Better buses @sam:council.org", sender=ALICE)
    assert reply == say("project.invite_how", someone="<@1001>")  # no person named
    (reply,) = await numbered.ask("!invite Better buses <@sam>", sender=ALICE)
    assert reply == say("project.bad_ids", ids="<@sam>", someone="<@1001>")


def test_invite_keeps_people_as_the_platform_reads_them(numbered: NumberedBot) -> None:
    args = "Better buses <@42>, <@43> and <@42>"
    assert parse_invite(args, numbered.adapter) == ("Better buses", ["42", "43"])


def test_people_are_read_once_each_and_the_rest_said_back(numbered: NumberedBot) -> None:
    words = ["<@42>", "Sam", "<@43>", "<@42>", "@sam:council.org"]
    assert read_people(words, numbered.adapter.person) == (
        ["42", "43"],
        ["Sam", "@sam:council.org"],
    )
