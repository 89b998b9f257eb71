"""Workshops and training through the real dispatcher, worker and scheduler, with a
real SQLite file and a fake clock.

The bot is a ``LocalBot`` (see tests/localbot.py): what people do goes into the
inbox as the adapter's sync would store it and is handled by the real Worker; what
the bot says is read back from the outbox. Here every run is followed by ``deliver``
(it marks queued messages sent and opens direct chats), so people can react to
announcements and answer in their direct chat. Reminders run from the jobs table
with the fake clock: a restart is a new Store, worker and Scheduler over the same
database file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from commands import build_registry
from commands.workshop_rules import (
    LONGEST,
    NEEDS,
    joins_waiting_list,
    read_needs,
    reminder_time,
    superseded,
)
from localbot import (
    ALICE,
    CHRIS,
    DANA,
    GROUP,
    LEE,
    MESSAGES,
    PAT,
    SAM,
    LocalBot,
    Out,
    make_bots,
    person_named,
    room_named,
    say,
)
from storage import conversations, profiles, rooms
from storage import workshops as store

KIM = person_named("kim")
OTHER_ROOM = room_named("other")

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 6, 3, 13, 0, tzinfo=UTC)  # Tuesday 3 June 2026, 2pm in London
NEW = "!workshop new Planning the new day centre | Wed 3 June 2pm | Oxford Town Hall | Tea and cake"


def london(*args: int) -> datetime:
    """A UK wall-clock time, as an aware datetime in UTC."""
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)  # type: ignore[misc]


# ----- the bot, without a homeserver --------------------------------------------------------------


class WorkshopBot(LocalBot):
    """A bot in two group rooms, with two champions, whose outbox is always delivered."""

    champions = (CHRIS, DANA)
    groups = (GROUP, OTHER_ROOM)

    def __init__(self, directory: Path, *, reminders: list[str] | None = None) -> None:
        settings = (
            "" if reminders is None else f"[workshops]\nreminders = {json.dumps(reminders)}\n"
        )
        super().__init__(directory, settings=settings)

    async def run(self) -> int:
        handled = await super().run()
        self.deliver()
        return handled

    async def tick(self) -> int:
        ran = await super().tick()
        self.deliver()
        return ran

    # --- what the bot did ---

    def said_in(self, room_id: str, since: int = 0) -> list[str]:
        """Messages (not replies) the bot sent in a room."""
        return [
            o.body
            for o in self.outbox()[since:]
            if o.room_id == room_id and o.action == "send" and o.reply_to is None
        ]

    def dms(self, person: str, since: int = 0) -> list[str]:
        """Everything the bot sent the person privately."""
        room = rooms.find_direct(self.db, person)
        return [
            o.body
            for o in self.outbox()[since:]
            if o.room_id in (person, room) and o.action == "send"
        ]

    def files(self, room_id: str = GROUP, since: int = 0) -> list[Out]:
        return [o for o in self.outbox()[since:] if o.action == "file" and o.room_id == room_id]

    def event_of(self, txn_id: str) -> str:
        row = self.db.execute("SELECT result FROM outbox WHERE txn_id = ?", [txn_id]).fetchone()
        assert row and row[0], "not sent yet"
        return str(row[0])

    def workshop(self, number: int = 1) -> store.Workshop:
        found = store.get(self.db, number)
        assert found is not None
        return found

    def announcement(self, number: int = 1) -> str:
        """The event ID of the workshop's announcement (people react to it)."""
        txn = self.workshop(number).announce_txn
        assert txn
        return self.event_of(txn)

    def answers(self, number: int = 1) -> dict[str, str]:
        """Each person's answer now: going, waiting, maybe or cantgo."""
        return {
            r.user_id: "waiting" if r.waiting else r.answer for r in store.rsvps(self.db, number)
        }

    def jobs(self) -> list[tuple[str, str, float, str]]:
        return self.db.execute("SELECT kind, ref, due_at, state FROM jobs ORDER BY id").fetchall()

    # --- shortcuts ---

    async def announce(self, command: str = NEW, *, sender: str = CHRIS) -> int:
        assert await self.ask(command, sender=sender) == []
        found = self.db.execute("SELECT max(id) FROM workshops").fetchone()[0]
        assert found, "no workshop was made"
        return int(found)


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., WorkshopBot]]:
    with make_bots(WorkshopBot, tmp_path) as make:
        yield make


@pytest.fixture
def bot(make_bot: Callable[..., WorkshopBot]) -> WorkshopBot:
    return make_bot()


def announcement_text(number: int = 1, **lines: str) -> str:
    return "\n".join(
        [
            say("workshop.title", number=number, title="Planning the new day centre"),
            say("workshop.when", when="Wednesday 3 June, 2pm"),
            say("workshop.where", where="Oxford Town Hall"),
            say("workshop.for_everyone"),
            "Tea and cake",
            "",
            say("workshop.how_to_react"),
            say("workshop.how_to_type", number=number),
            say("workshop.we_will_ask"),
        ]
    )


# ----- announcing ---------------------------------------------------------------------------------


async def test_a_champion_announces_a_workshop(bot: WorkshopBot) -> None:
    mark = bot.mark()
    number = await bot.announce()
    announcement, calendar = bot.outbox()[mark:]
    assert (announcement.action, announcement.room_id, announcement.reply_to) == (
        "send",
        GROUP,
        None,
    )
    assert announcement.body == announcement_text(number)
    assert announcement.mentions == ()
    assert (calendar.action, calendar.room_id) == ("file", GROUP)
    assert calendar.filename == "workshop-1.ics"
    assert calendar.mimetype == "text/calendar"

    w = bot.workshop(number)
    assert (w.room_id, w.organiser, w.title, w.place, w.details) == (
        GROUP,
        CHRIS,
        "Planning the new day centre",
        "Oxford Town Hall",
        "Tea and cake",
    )
    assert (w.start, w.kind, w.capacity, w.state) == (START, "workshop", None, "open")
    # Reminders by default one day and one hour before, as jobs.
    assert bot.jobs() == [
        ("workshop.reminder", "1:1 day", (START - timedelta(days=1)).timestamp(), "pending"),
        ("workshop.reminder", "1:1 hour", (START - timedelta(hours=1)).timestamp(), "pending"),
    ]
    assert w.reminders == ("1 day", "1 hour")


@pytest.mark.parametrize(
    "when",
    ["Wed 3 June 2pm", "3/6 14:00", "2026-06-03 14:00", "3 June at 2.30pm", "3rd June 2026 2pm"],
)
async def test_dates_as_people_write_them_in_the_uk(bot: WorkshopBot, when: str) -> None:
    await bot.announce(f"!workshop new Planning | {when} | Town Hall")
    expected = START + (timedelta(minutes=30) if "2.30" in when else timedelta())
    assert bot.workshop().start == expected


async def test_settings_show_in_the_announcement(bot: WorkshopBot) -> None:
    mark = bot.mark()
    await bot.announce(
        "!workshop new Working with you | 2026-06-03 14:00 | https://meet.council.test/abc"
        " | Bring your questions | capacity 12 | training level 2 | access: step-free, hearing loop"
        " | open to carers and staff | lasts 90 minutes"
    )
    w = bot.workshop()
    assert (w.capacity, w.kind, w.level, w.minutes) == (12, "training", 2, 90)
    assert (w.access, w.audience, w.details) == (
        "step-free, hearing loop",
        "carers and staff",
        "Bring your questions",
    )
    assert bot.outbox()[mark].body.split("\n")[:9] == [
        say("workshop.title_training", number=1, title="Working with you"),
        say("workshop.training_level", level=2),
        say("workshop.when_until", when="Wednesday 3 June, 2pm", end="3:30pm"),
        say("workshop.where", where="https://meet.council.test/abc"),
        say("workshop.for_custom", who="carers and staff"),
        say("workshop.access", access="step-free, hearing loop"),
        say("workshop.places", count=12),
        "Bring your questions",
        "",
    ]


async def test_level_1_training_says_who_it_is_for(bot: WorkshopBot) -> None:
    mark = bot.mark()
    await bot.announce("!workshop new Co-production basics | 3/6 14:00 | Online | level one")
    assert say("workshop.for_level1") in bot.outbox()[mark].body.split("\n")
    assert bot.workshop().level == 1


def add_project(bot: WorkshopBot) -> int:
    """A project row, however the projects feature keeps them (every required column filled)."""
    if "projects" not in bot.db.table_names():
        pytest.skip("this database keeps no projects")
    columns = bot.db.execute("PRAGMA table_info(projects)").fetchall()
    needed = {c[1]: f"x{c[1]}" for c in columns if c[3] and c[4] is None and not c[5]}
    with bot.store.write() as db:
        cur = db.execute(
            f"INSERT INTO projects ({', '.join(needed)}) VALUES ({', '.join('?' * len(needed))})",
            list(needed.values()),
        )
    return int(cur.lastrowid)


async def test_settings_in_any_order_and_no_details(bot: WorkshopBot) -> None:
    assert add_project(bot) == 1
    await bot.announce("!workshop new Planning | 3/6 14:00 | Hall | 20 places | project 1")
    w = bot.workshop()
    assert (w.capacity, w.project, w.details) == (20, 1, "")


async def test_details_that_look_a_little_like_settings_stay_details(bot: WorkshopBot) -> None:
    await bot.announce(
        "!workshop new Planning | 3/6 14:00 | Hall | Places are limited, level access throughout"
    )
    w = bot.workshop()
    assert (w.capacity, w.kind, w.details) == (
        None,
        "workshop",
        "Places are limited, level access throughout",
    )


BAD = [
    ("!workshop new", "workshop.how_to_new", {}),
    ("!workshop new Planning | tomorrow 2pm", "workshop.how_to_new", {}),
    ("!workshop new Planning | | Hall", "workshop.how_to_new", {}),
    ("!workshop new Planning | whenever | Hall", "when.not_understood", {"text": "whenever"}),
    ("!workshop new Planning | 1/6/2026 9am | Hall", "when.in_the_past", {"text": "1/6/2026 9am"}),
    ("!workshop new Planning | Tue 3 June 2pm | Hall", "when.not_understood",
     {"text": "Tue 3 June 2pm"}),  # 3 June 2026 is a Wednesday
    ("!workshop new Planning | 1 May 2pm | Hall", "when.date_passed", {"text": "1 May 2pm"}),
    ("!workshop new Planning | 9999-12-31 23:30 | Hall", "when.too_far",
     {"text": "9999-12-31 23:30"}),
    ("!workshop new Planning | 9999-12-31 23:30 | Hall | Tea | lasts 7 days", "when.too_far",
     {"text": "9999-12-31 23:30"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | project " + "1" * 20,
     "workshop.no_such_project", {"project": 2**63 - 1}),
    ("!workshop new Planning | 3/6 14:00 | Hall | capacity twenty",
     "workshop.capacity_not_number", {"text": "twenty"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | capacity 0",
     "workshop.capacity_not_number", {"text": "0"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | training level 4",
     "workshop.bad_level", {"text": "training level 4"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | training", "workshop.bad_level",
     {"text": "training"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | project buses",
     "workshop.project_not_number", {"text": "buses"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | lasts forever", "workshop.bad_length",
     {"text": "forever"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | Tea | Cake", "workshop.unknown_setting",
     {"text": "Cake"}),
    ("!workshop new Planning | 3/6 14:00 | Hall | capacity 5 | places 6",
     "workshop.setting_twice", {"setting": "places 6"}),
    ("!workshop new " + "x" * 201 + " | 3/6 14:00 | Hall", "workshop.too_long_title",
     {"length": 201, "most": 200}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "key", "values"), BAD, ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(BAD)]
)
async def test_bad_announcements_get_a_kind_reply_and_change_nothing(
    bot: WorkshopBot, command: str, key: str, values: dict[str, object]
) -> None:
    assert await bot.ask(command, sender=CHRIS) == [say(key, **values)]
    assert bot.count("workshops") == 0
    assert bot.jobs() == []
    assert [o.action for o in bot.outbox()] == ["send"]  # the reply alone
    assert not list(bot.config.storage.data_dir.glob("outgoing/*"))


async def test_a_member_may_not_announce(bot: WorkshopBot) -> None:
    assert await bot.ask(NEW, sender=SAM) == [say("errors.not_allowed", who=say("roles.champion"))]
    assert bot.count("workshops") == 0


async def test_a_project_that_does_not_exist(bot: WorkshopBot) -> None:
    add_project(bot)
    replies = await bot.ask("!workshop new A | 3/6 14:00 | Hall | project 99", sender=CHRIS)
    assert replies == [say("workshop.no_such_project", project=99)]
    assert bot.count("workshops") == 0


# ----- the calendar file --------------------------------------------------------------------------


def read_calendar(item: Out) -> icalendar.Event:
    assert item.file is not None
    raw = item.file.read_bytes()
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75, line  # folded as RFC 5545 says
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    (event,) = icalendar.Calendar.from_ical(raw).walk("VEVENT")
    return event


async def test_the_calendar_file_parses_and_says_the_right_time(bot: WorkshopBot) -> None:
    details = "Tea, cake; and a long talk about buses, trains and the day centre " * 3
    await bot.announce(
        f"!workshop new Buses, trains; and you | 3/6 14:00 | Room 2, Town Hall | {details.strip()}"
        " | access step-free"
    )
    (file,) = bot.files()
    event = read_calendar(file)
    assert event.decoded("dtstart") == START
    assert event.decoded("dtend") == START + timedelta(hours=2)
    assert str(event["summary"]) == "Buses, trains; and you"
    assert str(event["location"]) == "Room 2, Town Hall"
    assert str(event["description"]).startswith(details.strip())
    assert say("workshop.how_to_answer", number=1) in str(event["description"])
    assert int(event["sequence"]) == 0
    assert str(event["uid"]).startswith("workshop-1-")
    assert str(event["uid"]).endswith("@council.test")

    # On request, the same event again (same UID), in the room asked.
    mark = bot.mark()
    assert await bot.ask("!workshop calendar 1", sender=SAM, room_id=OTHER_ROOM) == []
    (again,) = bot.files(OTHER_ROOM, mark)
    assert str(read_calendar(again)["uid"]) == str(event["uid"])


async def test_an_online_link_goes_in_the_calendar_url(bot: WorkshopBot) -> None:
    await bot.announce("!workshop new Chat | 3/6 14:00 | Online: https://meet.council.test/x")
    (file,) = bot.files()
    assert str(read_calendar(file)["url"]) == "https://meet.council.test/x"


# ----- answering ----------------------------------------------------------------------------------


async def test_answering_by_reaction(bot: WorkshopBot) -> None:
    await bot.announce()
    post = bot.announcement()
    mark = bot.mark()
    bot.react(post, "✅", sender=SAM)  # no emoji marker
    bot.react(post, "\u2705\ufe0f", sender=PAT)  # with it
    bot.react(post, "🤔", sender=LEE)
    bot.react(post, "❌\ufe0f", sender=KIM)
    await bot.run()
    assert bot.answers() == {SAM: "going", PAT: "going", LEE: "maybe", KIM: "cantgo"}
    # Nothing is said in the room; people going are asked, privately, what they need.
    assert bot.said_in(GROUP, mark) == []
    for person in (SAM, PAT):
        (question,) = bot.dms(person, mark)
        assert question.startswith(
            say(
                "workshop.needs_intro",
                number=1,
                title="Planning the new day centre",
                when="Wednesday 3 June, 2pm",
            )
        )
        assert conversations.pending(bot.db, person).kind == "workshop.needs"  # type: ignore[union-attr]
    assert bot.dms(LEE, mark) == bot.dms(KIM, mark) == []


async def test_other_reactions_and_other_messages_are_not_answers(bot: WorkshopBot) -> None:
    await bot.announce()
    mark = bot.mark()
    bot.react(bot.announcement(), "👍", sender=SAM)
    bot.react("$someone-elses-message", "✅", sender=PAT)
    await bot.run()
    assert bot.answers() == {}
    assert bot.mark() == mark


async def test_answering_by_command(bot: WorkshopBot) -> None:
    await bot.announce()
    assert await bot.ask("!going 1", sender=SAM) == [say("workshop.going_saved", number=1)]
    assert await bot.ask("!going 1", sender=SAM) == [say("workshop.already_going", number=1)]
    assert await bot.ask("!maybe #1", sender=PAT) == [say("workshop.maybe_saved", number=1)]
    assert await bot.ask("!cantgo 1", sender=LEE, room_id=OTHER_ROOM) == [
        say("workshop.cantgo_saved", number=1)
    ]
    assert bot.answers() == {SAM: "going", PAT: "maybe", LEE: "cantgo"}
    (question,) = bot.dms(SAM)
    assert say("workshop.needs_question") in question


async def test_without_a_number_the_one_workshop_in_this_room(bot: WorkshopBot) -> None:
    await bot.announce()
    assert await bot.ask("!going", sender=SAM) == [say("workshop.going_saved", number=1)]
    assert await bot.ask("!going", sender=PAT, room_id=OTHER_ROOM) == [say("workshop.which_one")]
    await bot.announce(NEW.replace("Wed 3 June", "Thu 4 June"))
    assert await bot.ask("!maybe", sender=PAT) == [say("workshop.which_one")]
    assert bot.answers(1) == {SAM: "going"}


async def test_the_latest_answer_counts_and_taking_one_back_updates_everything(
    bot: WorkshopBot,
) -> None:
    await bot.announce()
    post = bot.announcement()
    going = bot.react(post, "✅", sender=SAM)
    await bot.run()
    assert await bot.ask("!cantgo 1", sender=SAM) == [say("workshop.cantgo_saved", number=1)]
    assert bot.answers() == {SAM: "cantgo"}
    assert conversations.pending(bot.db, SAM) is None  # no longer asked what they need

    # Removing the older ✅ changes nothing: the later answer stands.
    bot.remove(going, sender=SAM)
    await bot.run()
    assert bot.answers() == {SAM: "cantgo"}

    # Two reactions; removing the later one leaves the earlier one.
    maybe = bot.react(post, "🤔", sender=PAT)
    cant = bot.react(post, "❌", sender=PAT)
    await bot.run()
    assert bot.answers()[PAT] == "cantgo"
    bot.remove(cant, sender=PAT)
    await bot.run()
    assert bot.answers()[PAT] == "maybe"
    bot.remove(maybe, sender=PAT)
    await bot.run()
    assert PAT not in bot.answers()  # no answer at all now

    # Deleting a !going message takes it back too.
    command = bot.message("!going 1", sender=LEE)
    await bot.run()
    assert bot.answers()[LEE] == "going"
    bot.remove(command, sender=LEE)
    await bot.run()
    assert LEE not in bot.answers()


async def test_answers_to_a_cancelled_or_past_workshop(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.announce(NEW.replace("Wed 3 June", "Thu 4 June"))
    post = bot.announcement(2)
    await bot.ask("!workshop cancel 2", sender=CHRIS)
    mark = bot.mark()
    assert await bot.ask("!going 2", sender=SAM) == [say("workshop.is_cancelled", number=2)]
    bot.react(post, "✅", sender=PAT)
    await bot.run()
    assert bot.dms(PAT, mark) == [say("workshop.is_cancelled", number=2)]
    assert bot.answers(2) == {}

    bot.at(START + timedelta(minutes=5))
    assert await bot.ask("!maybe 1", sender=SAM) == [say("workshop.has_started", number=1)]
    assert await bot.ask("!needs 1", sender=SAM) == [say("workshop.has_started", number=1)]
    assert bot.answers(1) == {}


async def test_answers_for_a_workshop_that_is_not_there(bot: WorkshopBot) -> None:
    assert await bot.ask("!going 7", sender=SAM) == [say("workshop.not_found", number=7)]
    assert await bot.ask("!going soon", sender=SAM) == [say("workshop.number_needed", text="soon")]
    assert await bot.ask("!going", sender=SAM) == [say("workshop.which_one")]


# ----- access needs -------------------------------------------------------------------------------


async def test_the_access_needs_question_lists_every_choice(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    (question,) = bot.dms(SAM)
    labels = [say(f"workshop.need.{code}") for code in NEEDS]
    assert question.split("\n") == [
        say(
            "workshop.needs_intro",
            number=1,
            title="Planning the new day centre",
            when="Wednesday 3 June, 2pm",
        ),
        say("workshop.needs_question"),
        *(f"{n}. {label}" for n, label in enumerate(labels, 1)),
        say("workshop.needs_words"),
        say("workshop.needs_private"),
    ]
    assert "BSL" in labels[0] and "hearing loop" in labels[1]


async def test_choosing_needs_by_number(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    assert await bot.tell_dm(SAM, "1 and 3") == [
        "\n".join(
            [
                say("workshop.needs_saved", number=1),
                say("workshop.need_item", label=say("workshop.need.bsl")),
                say("workshop.need_item", label=say("workshop.need.step_free")),
                say("workshop.needs_saved_end", number=1),
            ]
        )
    ]
    assert store.needs(bot.db, 1, SAM) == store.Needs(1, SAM, ("bsl", "step_free"), None)
    assert conversations.pending(bot.db, SAM) is None


async def test_needing_nothing(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    assert await bot.tell_dm(SAM, "No thanks") == [say("workshop.needs_none_saved", number=1)]
    assert store.needs(bot.db, 1, SAM) == store.Needs(1, SAM, (), None)


async def test_something_else_in_their_own_words(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    assert await bot.tell_dm(SAM, "2, 7") == [say("workshop.needs_tell_more")]
    assert await bot.tell_dm(SAM, "A quiet room to rest in") == [
        "\n".join(
            [
                say("workshop.needs_saved", number=1),
                say("workshop.need_item", label=say("workshop.need.loop")),
                say("workshop.needs_saved_words", words="A quiet room to rest in"),
                say("workshop.needs_saved_end", number=1),
            ]
        )
    ]
    assert store.needs(bot.db, 1, SAM) == store.Needs(
        1, SAM, ("loop", "other"), "A quiet room to rest in"
    )


async def test_needs_said_in_words_are_understood_and_kept(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    words = "I use a wheelchair and my carer comes with me"
    (reply,) = await bot.tell_dm(SAM, words)
    assert say("workshop.needs_saved_words", words=words) in reply
    assert store.needs(bot.db, 1, SAM) == store.Needs(
        1, SAM, ("step_free", "carer", "other"), words
    )


async def test_an_unclear_answer_asks_again(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    for unclear in ("9", "yes", "0, 2"):
        assert await bot.tell_dm(SAM, unclear) == [
            say("workshop.needs_not_understood", most=len(NEEDS))
        ]
    assert store.needs(bot.db, 1, SAM) is None
    assert conversations.pending(bot.db, SAM) is not None
    assert await bot.tell_dm(SAM, "4") != []
    assert store.needs(bot.db, 1, SAM).codes == ("print",)  # type: ignore[union-attr]


async def test_one_question_at_a_time(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.announce(NEW.replace("Wed 3 June", "Thu 4 June"))
    await bot.ask("!going 1", sender=SAM)  # asked about workshop 1, not answered yet
    mark = bot.mark()
    await bot.ask("!going 2", sender=SAM)
    assert bot.dms(SAM, mark) == [say("workshop.needs_later", number=2)]
    assert conversations.pending(bot.db, SAM).ref == "1"  # type: ignore[union-attr]
    await bot.tell_dm(SAM, "no")
    assert await bot.ask("!needs 2", sender=SAM) == [say("workshop.asked_privately")]
    await bot.tell_dm(SAM, "2")
    assert store.needs(bot.db, 2, SAM).codes == ("loop",)  # type: ignore[union-attr]
    assert store.needs(bot.db, 1, SAM).codes == ()  # type: ignore[union-attr]


async def test_changing_needs_later(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    await bot.tell_dm(SAM, "no")
    assert await bot.ask("!needs 1", sender=SAM) == [say("workshop.asked_privately")]
    await bot.tell_dm(SAM, "6")
    assert store.needs(bot.db, 1, SAM).codes == ("transport",)  # type: ignore[union-attr]
    # Going again later: what they said is kept, and they are told how to change it.
    await bot.ask("!cantgo 1", sender=SAM)
    mark = bot.mark()
    await bot.ask("!going 1", sender=SAM)
    assert bot.dms(SAM, mark) == [say("workshop.needs_kept", number=1)]
    assert await bot.ask("!needs 1", sender=PAT) == [say("workshop.needs_only_going", number=1)]


@pytest.mark.parametrize(
    ("text", "kind", "codes"),
    [("no", "nothing", ()), ("Nothing, thanks.", "nothing", ()), ("0", "nothing", ()),
     ("1", "chosen", ("bsl",)), ("#2 & 5", "chosen", ("loop", "carer")), ("3 3", "chosen",
     ("step_free",)), ("8", "unclear", ()), ("yes please", "unclear", ()), ("", "unclear", ()),
     ("A BSL interpreter please", "words", ("bsl",)),
     ("easy read papers and a taxi", "words", ("print", "transport"))],
)  # fmt: skip
def test_reading_needs(text: str, kind: str, codes: tuple[str, ...]) -> None:
    said = read_needs(text)
    assert (said.kind, said.codes) == (kind, codes)


async def test_the_organiser_gets_the_needs_by_direct_message_only(bot: WorkshopBot) -> None:
    await bot.announce()
    for person in (SAM, PAT, LEE):
        await bot.ask("!going 1", sender=person)
    await bot.tell_dm(SAM, "1, 2")
    await bot.tell_dm(PAT, "I need a table I can get my wheelchair under")
    mark = bot.mark()
    assert await bot.ask("!workshop needs 1", sender=CHRIS) == [say("workshop.sent_privately")]
    (checklist,) = bot.dms(CHRIS, mark)
    lines = checklist.split("\n")
    assert lines[0] == say(
        "workshop.checklist_title",
        number=1,
        title="Planning the new day centre",
        when="Wednesday 3 June, 2pm",
    )
    assert say("workshop.checklist_going", going=3, waiting=0) in lines
    bsl, loop, step_free = (say(f"workshop.need.{c}") for c in ("bsl", "loop", "step_free"))
    assert say("workshop.checklist_people", label=bsl, count=1, people=SAM) in lines
    assert say("workshop.checklist_people", label=loop, count=1, people=SAM) in lines
    assert say("workshop.checklist_people", label=step_free, count=1, people=PAT) in lines
    assert say("workshop.checklist_words_line", person=PAT, words=PAT_WORDS) in lines
    assert say("workshop.checklist_unanswered", count=1, people=LEE) in lines
    # Nothing about anyone's needs was said in a room.
    for o in bot.outbox():
        if o.room_id in (GROUP, OTHER_ROOM):
            assert "wheelchair" not in o.body and "Checklist" not in o.body
            assert not o.body.startswith(lines[0])

    # Asked in the direct chat, it comes there, with no extra note.
    mark = bot.mark()
    assert await bot.tell_dm(CHRIS, "!workshop needs 1") == [checklist]
    # Others may not see it; the team may.
    assert await bot.ask("!workshop needs 1", sender=DANA) == [say("workshop.not_yours", number=1)]
    assert await bot.ask("!workshop needs 1", sender=SAM) == [
        say("errors.not_allowed", who=say("roles.champion"))
    ]
    assert await bot.ask("!workshop needs 1", sender=ALICE) == [say("workshop.sent_privately")]
    assert len(bot.dms(ALICE)) == 1


PAT_WORDS = "I need a table I can get my wheelchair under"


# ----- the waiting list ---------------------------------------------------------------------------


async def test_a_full_workshop_has_a_waiting_list_and_places_are_offered_in_turn(
    bot: WorkshopBot,
) -> None:
    await bot.announce(NEW + " | capacity 2")
    post = bot.announcement()
    await bot.ask("!going 1", sender=SAM)
    bot.react(post, "✅", sender=PAT)
    await bot.run()
    assert await bot.ask("!going 1", sender=LEE) == [
        say("workshop.waiting_saved", number=1, position=1)
    ]
    mark = bot.mark()
    kim_going = bot.react(post, "✅", sender=KIM)
    await bot.run()
    assert bot.dms(KIM, mark) == [say("workshop.waiting_saved", number=1, position=2)]
    assert bot.answers() == {SAM: "going", PAT: "going", LEE: "waiting", KIM: "waiting"}
    assert await bot.ask("!going 1", sender=LEE) == [
        say("workshop.still_waiting", number=1, position=1)
    ]
    assert conversations.pending(bot.db, LEE) is None  # not asked about needs while waiting

    # Sam can't come: Lee, first on the list, gets the place and is asked what they need.
    mark = bot.mark()
    assert await bot.ask("!cantgo 1", sender=SAM) == [say("workshop.cantgo_saved", number=1)]
    promoted, question = bot.dms(LEE, mark)
    assert promoted == say(
        "workshop.promoted",
        number=1,
        title="Planning the new day centre",
        when="Wednesday 3 June, 2pm",
    )
    assert say("workshop.needs_question") in question
    assert bot.answers() == {SAM: "cantgo", PAT: "going", LEE: "going", KIM: "waiting"}
    assert bot.dms(KIM, mark) == []

    # Pat takes back the ✅: Kim gets the place.
    pat_going = [
        e
        for (e,) in bot.db.execute("SELECT event_id FROM workshop_answers WHERE user_id = ?", [PAT])
    ][0]
    mark = bot.mark()
    bot.remove(pat_going, sender=PAT)
    await bot.run()
    assert bot.answers() == {SAM: "cantgo", LEE: "going", KIM: "going"}
    assert bot.dms(KIM, mark)[0].startswith("Good news!")
    assert kim_going  # (the reaction that put Kim on the list)

    # Sam changes their mind again: the workshop is full, so Sam waits.
    assert await bot.ask("!going 1", sender=SAM) == [
        say("workshop.waiting_saved", number=1, position=1)
    ]


async def test_leaving_the_waiting_list(bot: WorkshopBot) -> None:
    await bot.announce(NEW + " | capacity 1")
    await bot.ask("!going 1", sender=SAM)
    await bot.ask("!going 1", sender=PAT)
    await bot.ask("!going 1", sender=LEE)
    assert bot.answers() == {SAM: "going", PAT: "waiting", LEE: "waiting"}
    await bot.ask("!maybe 1", sender=PAT)
    assert await bot.ask("!going 1", sender=LEE) == [
        say("workshop.still_waiting", number=1, position=1)
    ]
    assert bot.answers() == {SAM: "going", PAT: "maybe", LEE: "waiting"}


async def test_a_going_that_claims_to_be_older_does_not_jump_the_waiting_list(
    bot: WorkshopBot,
) -> None:
    """Where the bot saw it come, an answer's place is when it came, not what it claims."""
    bot.sync()
    await bot.announce(NEW + " | capacity 1")
    await bot.ask("!going 1", sender=SAM)
    assert await bot.ask("!going 1", sender=PAT) == [
        say("workshop.waiting_saved", number=1, position=1)
    ]
    an_hour_ago = bot.clock.time - timedelta(hours=1)
    lee = bot.message("!going 1", sender=LEE, at=an_hour_ago)
    kim = bot.message("!going 1", sender=KIM, at=bot.clock.time + timedelta(days=1))
    await bot.run()
    assert bot.replies_to(lee) == [say("workshop.waiting_saved", number=1, position=2)]
    assert bot.replies_to(kim) == [say("workshop.waiting_saved", number=1, position=3)]

    # Sam can't come: the place goes to Pat, who really asked first.
    await bot.ask("!cantgo 1", sender=SAM)
    assert bot.answers() == {SAM: "cantgo", PAT: "going", LEE: "waiting", KIM: "waiting"}


# ----- showing and listing ------------------------------------------------------------------------


async def test_listing_and_showing_workshops(bot: WorkshopBot) -> None:
    assert await bot.ask("!workshops", sender=SAM) == [say("workshop.none_coming")]
    await bot.announce(NEW + " | capacity 2")
    await bot.announce("!workshop new Basics | 5/6 10:00 | Online | training level 1")
    await bot.ask("!going 1", sender=SAM)
    await bot.ask("!maybe 1", sender=PAT)
    (listing,) = await bot.ask("!workshops", sender=LEE, room_id=OTHER_ROOM)
    assert listing.split("\n") == [
        say("workshop.list_intro"),
        say(
            "workshop.list_line",
            number=1,
            title="Planning the new day centre",
            when="Wednesday 3 June, 2pm",
            where="Oxford Town Hall",
        )
        + " "
        + say("workshop.list_places_left", count=1),
        say(
            "workshop.list_line_training",
            number=2,
            level=1,
            title="Basics",
            when="Friday 5 June, 10am",
            where="Online",
        ),
        say("workshop.list_more", number=1),
    ]
    (shown,) = await bot.ask("!workshop 1", sender=SAM)
    assert shown.split("\n")[-5:] == [
        "",
        say("workshop.counts", going=1, maybe=1, cantgo=0),
        say("workshop.places_left", count=1),
        say("workshop.you_said_going"),
        say("workshop.how_to_answer", number=1),
    ]
    assert await bot.ask("!workshop", sender=SAM) == [listing]
    assert await bot.ask("!workshop 9", sender=SAM) == [say("workshop.not_found", number=9)]

    await bot.ask("!workshop cancel 2", sender=CHRIS)
    (shown,) = await bot.ask("!workshop 2", sender=SAM)
    assert say("workshop.show_is_cancelled") in shown.split("\n")
    assert await bot.ask("!workshop calendar 2", sender=SAM) == [
        say("workshop.is_cancelled", number=2)
    ]


# ----- reminders ----------------------------------------------------------------------------------


def reminder_text(number: int = 1, when: str = "Wednesday 3 June, 2pm", **kw: str) -> str:
    return "\n".join(
        [
            say(
                "workshop.reminder",
                number=number,
                title=kw.get("title", "Planning the new day centre"),
                when=when,
            ),
            say("workshop.where", where=kw.get("where", "Oxford Town Hall")),
            say("workshop.reminder_cantgo", number=number),
        ]
    )


async def going_sam_and_pat(bot: WorkshopBot, number: int = 1) -> None:
    await bot.ask(f"!going {number}", sender=SAM)
    await bot.ask(f"!going {number}", sender=PAT)
    await bot.ask(f"!maybe {number}", sender=LEE)
    await bot.ask(f"!cantgo {number}", sender=KIM)
    await bot.tell_dm(SAM, "no")
    await bot.tell_dm(PAT, "no")


async def test_reminders_go_to_people_going_at_the_right_moments_once(bot: WorkshopBot) -> None:
    await bot.announce()
    await going_sam_and_pat(bot)
    day_before, hour_before = START - timedelta(days=1), START - timedelta(hours=1)

    bot.at(day_before - timedelta(seconds=1))
    mark = bot.mark()
    assert await bot.tick() == 0
    bot.at(day_before)
    assert await bot.tick() == 1
    for person in (SAM, PAT):
        assert bot.dms(person, mark) == [reminder_text()]
    assert bot.dms(LEE, mark) == bot.dms(KIM, mark) == []
    assert await bot.tick() == 0  # once only

    # Lee decides to go: Lee gets the second reminder too.
    await bot.ask("!going 1", sender=LEE)
    bot.at(hour_before)
    mark = bot.mark()
    assert await bot.tick() == 1
    assert [p for p in (SAM, PAT, LEE, KIM) if bot.dms(p, mark) == [reminder_text()]] == [
        SAM,
        PAT,
        LEE,
    ]
    bot.at(START + timedelta(days=1))
    assert await bot.tick() == 0
    assert {state for *_, state in bot.jobs()} == {"done"}


async def test_the_reminder_times_are_configurable(make_bot: Any) -> None:
    bot = make_bot(reminders=["2 days", "30 minutes"])
    await bot.announce()
    assert [(ref, due) for _, ref, due, _ in bot.jobs()] == [
        ("1:2 days", (START - timedelta(days=2)).timestamp()),
        ("1:30 minutes", (START - timedelta(minutes=30)).timestamp()),
    ]


async def test_a_reminder_already_past_at_the_announcement_is_not_made(bot: WorkshopBot) -> None:
    await bot.announce("!workshop new Soon | in 3 hours | Hall")
    assert [ref for _, ref, _, _ in bot.jobs()] == ["1:1 hour"]
    assert bot.workshop().reminders == ("1 hour",)


# Across the clocks changing in 2026: forward on Sunday 29 March, back on Sunday 25 October.
CLOCK_CHANGES = [
    # start (UK time), reminder, expected (UK time), hours before
    ((2026, 3, 29, 10, 0), "1 day", (2026, 3, 28, 10, 0), 23),
    ((2026, 3, 29, 10, 0), "1 hour", (2026, 3, 29, 9, 0), 1),
    ((2026, 3, 30, 10, 0), "1 day", (2026, 3, 29, 10, 0), 24),
    ((2026, 3, 29, 10, 0), "24 hours", (2026, 3, 28, 9, 0), 24),
    ((2026, 3, 29, 3, 30), "2 hours", (2026, 3, 29, 0, 30), 2),
    ((2026, 3, 30, 1, 30), "1 day", (2026, 3, 29, 2, 30), 23),  # 1:30am never happens that day
    ((2026, 10, 25, 10, 0), "1 day", (2026, 10, 24, 10, 0), 25),
    ((2026, 10, 25, 10, 0), "1 hour", (2026, 10, 25, 9, 0), 1),
    ((2026, 10, 26, 10, 0), "1 day", (2026, 10, 25, 10, 0), 24),
    ((2026, 10, 25, 10, 0), "1 week", (2026, 10, 18, 10, 0), 169),
    ((2026, 10, 25, 10, 0), "1 day 2 hours", (2026, 10, 24, 8, 0), 27),
]


@pytest.mark.parametrize(("start", "before", "expected", "hours"), CLOCK_CHANGES)
def test_reminder_times_across_clock_changes(
    start: tuple[int, ...], before: str, expected: tuple[int, ...], hours: int
) -> None:
    moment = reminder_time(london(*start), before, LONDON)
    assert moment == london(*expected)
    assert london(*start) - moment == timedelta(hours=hours)


def test_after_a_late_start_only_the_nearest_reminder_is_sent() -> None:
    start = london(2026, 6, 3, 14)
    both = ["1 day", "1 hour"]
    assert superseded(start, "1 day", both, start - timedelta(minutes=30), LONDON)
    assert not superseded(start, "1 day", both, start - timedelta(hours=2), LONDON)
    assert not superseded(start, "1 hour", both, start - timedelta(minutes=30), LONDON)


@pytest.mark.parametrize(
    ("capacity", "going", "waiting", "waits"),
    [(None, 500, 0, False), (2, 1, 0, False), (2, 2, 0, True), (2, 1, 1, True)],
)
def test_who_joins_the_waiting_list(
    capacity: int | None, going: int, waiting: int, waits: bool
) -> None:
    """Full, or others already waiting (they come first); no limit, no list."""
    assert joins_waiting_list(capacity, going, waiting) is waits


def test_help_lists_the_workshop_commands_in_their_order() -> None:
    """The commands live in several modules; help shows them as one section, in order."""
    names = [c.name for c in build_registry() if c.section == "workshops"]
    assert names == [
        "workshop new", "workshops", "workshop", "workshop calendar", "workshop needs",
        "workshop cancel", "workshop move", "going", "maybe", "cantgo", "needs",
        "attended", "myteam", "training", "mytraining",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("announced", "when", "start", "day_before", "said"),
    [
        (
            datetime(2026, 3, 20, 12, 0, tzinfo=UTC),
            "Sun 29 March 10am",
            london(2026, 3, 29, 10, 0),
            london(2026, 3, 28, 10, 0),
            "Sunday 29 March, 10am",
        ),
        (
            datetime(2026, 10, 20, 12, 0, tzinfo=UTC),
            "Sun 25 October 10am",
            london(2026, 10, 25, 10, 0),
            london(2026, 10, 24, 10, 0),
            "Sunday 25 October, 10am",
        ),
    ],
    ids=["clocks-go-forward", "clocks-go-back"],
)
async def test_reminders_across_the_last_sunday_of_march_and_october(
    bot: WorkshopBot,
    announced: datetime,
    when: str,
    start: datetime,
    day_before: datetime,
    said: str,
) -> None:
    bot.at(announced)
    await bot.announce(f"!workshop new Planning | {when} | Hall")
    assert bot.workshop().start == start
    await bot.ask("!going 1", sender=SAM)
    text = reminder_text(when=said, title="Planning", where="Hall")
    for due in (day_before, start - timedelta(hours=1)):
        bot.at(due - timedelta(seconds=1))
        mark = bot.mark()
        assert await bot.tick() == 0
        bot.at(due)
        assert await bot.tick() == 1
        assert bot.dms(SAM, mark) == [text]


async def test_a_restart_between_the_answer_and_the_reminder(bot: WorkshopBot) -> None:
    await bot.announce()
    await going_sam_and_pat(bot)
    bot.restart()
    bot.at(START - timedelta(days=1))
    mark = bot.mark()
    assert await bot.tick() == 1
    assert bot.dms(SAM, mark) == bot.dms(PAT, mark) == [reminder_text()]
    bot.restart()
    assert await bot.tick() == 0  # sent once, even across a restart


async def test_a_reminder_that_fell_due_while_the_bot_was_down(bot: WorkshopBot) -> None:
    await bot.announce()
    await going_sam_and_pat(bot)
    bot.restart()  # down at the day-before reminder; back up three hours later
    bot.at(START - timedelta(hours=21))
    mark = bot.mark()
    assert await bot.tick() == 1
    assert bot.dms(SAM, mark) == [reminder_text()]


async def test_down_past_both_reminders_sends_one(bot: WorkshopBot) -> None:
    await bot.announce()
    await going_sam_and_pat(bot)
    bot.restart()
    bot.at(START - timedelta(minutes=30))  # both reminders fell due meanwhile
    mark = bot.mark()
    assert await bot.tick() == 2
    assert bot.dms(SAM, mark) == [reminder_text()]


async def test_down_until_after_the_start_sends_none(bot: WorkshopBot) -> None:
    await bot.announce()
    await going_sam_and_pat(bot)
    bot.restart()
    bot.at(START + timedelta(minutes=1))
    mark = bot.mark()
    assert await bot.tick() == 2
    assert bot.dms(SAM, mark) == []
    assert {state for *_, state in bot.jobs()} == {"done"}


# ----- cancelling and moving ----------------------------------------------------------------------


async def test_cancelling_tells_everyone_who_answered(bot: WorkshopBot) -> None:
    await bot.announce(NEW + " | capacity 2")
    await going_sam_and_pat(bot)
    await bot.ask("!going 1", sender=ALICE)  # on the waiting list
    mark = bot.mark()
    assert await bot.ask(
        "!workshop cancel 1 The room flooded.", sender=CHRIS, room_id=OTHER_ROOM
    ) == [say("workshop.cancel_done", number=1, count=5)]
    words = dict(number=1, title="Planning the new day centre", when="Wednesday 3 June, 2pm")
    for person in (SAM, PAT, LEE, KIM, ALICE):
        assert bot.dms(person, mark) == [
            say("workshop.cancelled_dm", **words)
            + "\n"
            + say("workshop.cancel_reason", reason="The room flooded.")
        ]
    assert bot.said_in(GROUP, mark) == [
        say("workshop.cancelled_room", **words)
        + "\n"
        + say("workshop.cancel_reason", reason="The room flooded.")
    ]
    assert bot.workshop().state == "cancelled"
    assert {state for *_, state in bot.jobs()} == {"cancelled"}
    bot.at(START - timedelta(hours=1))
    assert await bot.tick() == 0
    assert await bot.ask("!workshop cancel 1", sender=CHRIS) == [
        say("workshop.already_cancelled", number=1)
    ]
    assert await bot.ask("!workshops", sender=SAM) == [say("workshop.none_coming")]


async def test_moving_tells_everyone_and_moves_the_reminders(bot: WorkshopBot) -> None:
    await bot.announce()
    await going_sam_and_pat(bot)
    mark = bot.mark()
    assert await bot.ask("!workshop move 1 Fri 5 June 3pm", sender=CHRIS) == [
        say("workshop.move_done", number=1, when="Friday 5 June, 3pm", count=4)
    ]
    new_start = london(2026, 6, 5, 15, 0)
    words = dict(
        number=1,
        title="Planning the new day centre",
        when="Friday 5 June, 3pm",
        before="Wednesday 3 June, 2pm",
    )
    assert bot.dms(SAM, mark) == bot.dms(PAT, mark) == [say("workshop.moved_dm_going", **words)]
    assert bot.dms(LEE, mark) == [say("workshop.moved_dm_maybe", **words)]
    assert bot.dms(KIM, mark) == [say("workshop.moved_dm_cantgo", **words)]
    assert bot.said_in(GROUP, mark) == [say("workshop.moved_room", **words)]
    (file,) = bot.files(GROUP, mark)
    event = read_calendar(file)
    assert (event.decoded("dtstart"), int(event["sequence"])) == (new_start, 1)

    jobs = bot.jobs()
    assert [(ref, state) for _, ref, _, state in jobs] == [
        ("1:1 day", "cancelled"),
        ("1:1 hour", "cancelled"),
        ("1:1 day", "pending"),
        ("1:1 hour", "pending"),
    ]
    assert [due for _, _, due, state in jobs if state == "pending"] == [
        (new_start - timedelta(days=1)).timestamp(),
        (new_start - timedelta(hours=1)).timestamp(),
    ]
    bot.at(START - timedelta(days=1))
    assert await bot.tick() == 0  # the old time: nothing
    bot.at(new_start - timedelta(days=1))
    mark = bot.mark()
    assert await bot.tick() == 1
    assert bot.dms(SAM, mark) == [reminder_text(when="Friday 5 June, 3pm")]


@pytest.mark.parametrize(
    ("command", "key", "values"),
    [
        ("!workshop move 1", "workshop.move_how", {}),
        ("!workshop move 1 yesterday 2pm", "when.not_understood", {"text": "yesterday 2pm"}),
        ("!workshop move 1 1/6/2026 9am", "when.in_the_past", {"text": "1/6/2026 9am"}),
        ("!workshop move 1 3/6 14:00", "workshop.same_time", {"number": 1}),
        ("!workshop move 2 4/6 14:00", "workshop.not_found", {"number": 2}),
    ],
)
async def test_bad_moves_change_nothing(
    bot: WorkshopBot, command: str, key: str, values: dict[str, object]
) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    before = (bot.workshop(), bot.jobs())
    assert await bot.ask(command, sender=CHRIS) == [say(key, **values)]
    assert (bot.workshop(), bot.jobs()) == before


async def test_someone_elses_workshop(bot: WorkshopBot) -> None:
    await bot.announce()
    for command in ("!workshop cancel 1", "!workshop move 1 4/6 14:00", "!attended 1 @sam:x.y"):
        assert await bot.ask(command, sender=DANA) == [say("workshop.not_yours", number=1)]
        assert await bot.ask(command, sender=SAM) == [
            say("errors.not_allowed", who=say("roles.champion"))
        ]
    assert bot.workshop().state == "open"
    # The team can act on any workshop.
    assert await bot.ask("!workshop move 1 4/6 14:00", sender=ALICE) == [
        say("workshop.move_done_nobody", number=1, when="Thursday 4 June, 2pm")
    ]


async def test_a_workshop_that_has_started_cannot_be_moved_or_cancelled(bot: WorkshopBot) -> None:
    await bot.announce()
    bot.at(START)
    assert await bot.ask("!workshop cancel 1", sender=CHRIS) == [say("workshop.over", number=1)]
    assert await bot.ask("!workshop move 1 Fri 5 June 3pm", sender=CHRIS) == [
        say("workshop.over", number=1)
    ]
    assert bot.workshop().state == "open"


# ----- who came, and training ---------------------------------------------------------------------


async def test_attendance_and_training_records(bot: WorkshopBot) -> None:
    await bot.announce("!workshop new Basics | 3/6 14:00 | Online | training level 1")
    await bot.announce("!workshop new Next steps | 3/6 16:00 | Online | training level 2")
    await bot.announce()
    assert await bot.ask(f"!attended 1 {SAM}", sender=CHRIS) == [
        say("workshop.not_started_yet", number=1)
    ]
    assert await bot.ask("!myteam Adult Social Care", sender=SAM) == [
        say("workshop.myteam_saved", team="Adult Social Care")
    ]
    await bot.ask("!myteam  adult   social care ", sender=PAT)
    bot.at(datetime(2026, 6, 3, 17, 0, tzinfo=UTC))
    mark = bot.mark()
    assert await bot.ask(f"!attended 1 {SAM}, {PAT} {LEE} {SAM}", sender=CHRIS) == [
        say("workshop.attended_saved", number=1, count=3)
    ]
    for person in (SAM, PAT):
        assert bot.dms(person, mark) == [say("workshop.training_done", level=1)]
    # Lee has not said a team: Lee is told how, in case Lee works for the council.
    assert bot.dms(LEE, mark) == [
        say("workshop.training_done", level=1) + "\n" + say("workshop.training_team_ask")
    ]
    await bot.ask("!myteam Children's Services", sender=LEE)
    assert await bot.ask(f"!attended 1 {SAM} {KIM}", sender=CHRIS) == [
        say("workshop.attended_saved", number=1, count=1)
        + "\n"
        + say("workshop.attended_already", count=1)
    ]
    await bot.ask(f"!attended 2 {SAM}", sender=ALICE)
    mark = bot.mark()
    await bot.ask(f"!attended 3 {SAM} {PAT}", sender=CHRIS)
    assert bot.dms(SAM, mark) == []  # a workshop is not training: no message

    (report,) = await bot.ask("!training", sender=ALICE)
    assert report.split("\n") == [
        say("workshop.training_title"),
        say("workshop.training_report_level", level=1, count=4),
        say("workshop.training_report_level", level=2, count=1),
        say("workshop.training_report_level", level=3, count=0),
        say("workshop.training_by_team"),
        say("workshop.training_team_line", team="Adult Social Care", one=2, two=1, three=0),
        say("workshop.training_team_line", team="Children's Services", one=1, two=0, three=0),
        say("workshop.training_no_team", count=1),
    ]
    assert await bot.ask("!training", sender=CHRIS) == [
        say("errors.not_allowed", who=say("roles.team"))
    ]

    mark = bot.mark()
    assert await bot.ask("!mytraining", sender=SAM) == [say("workshop.sent_privately")]
    assert bot.dms(SAM, mark) == [
        "\n".join(
            [
                say("workshop.mytraining_title"),
                say("workshop.mytraining_done", level=1, date="Wednesday 3 June 2026"),
                say("workshop.mytraining_done", level=2, date="Wednesday 3 June 2026"),
                say("workshop.mytraining_not_yet", level=3),
                say("workshop.mytraining_others", count=1),
                say("workshop.mytraining_next"),
            ]
        )
    ]


async def test_saying_and_removing_a_team(bot: WorkshopBot) -> None:
    assert await bot.ask("!myteam", sender=SAM) == [say("workshop.myteam_how")]
    assert await bot.ask("!myteam " + "x" * 101, sender=SAM) == [
        say("workshop.myteam_too_long", most=100)
    ]
    assert profiles.get(bot.db, SAM) is None
    await bot.ask("!myteam Adult Social Care", sender=SAM)
    assert profiles.get(bot.db, SAM).staff_team == "Adult Social Care"  # type: ignore[union-attr]
    assert await bot.ask("!myteam remove", sender=SAM) == [say("workshop.myteam_removed")]
    assert profiles.get(bot.db, SAM).staff_team == ""  # type: ignore[union-attr]


async def test_no_training_yet(bot: WorkshopBot) -> None:
    assert await bot.ask("!training", sender=ALICE) == [say("workshop.training_none")]


@pytest.mark.parametrize(
    ("command", "key", "values"),
    [
        ("!attended 1", "workshop.attended_how", {}),
        ("!attended 1 Sam", "workshop.attended_bad_id", {"text": "Sam"}),
        (f"!attended 1 {SAM} sam@council.test", "workshop.attended_bad_id",
         {"text": "sam@council.test"}),
    ],
)  # fmt: skip
async def test_bad_attendance_changes_nothing(
    bot: WorkshopBot, command: str, key: str, values: dict[str, object]
) -> None:
    await bot.announce()
    bot.at(START + timedelta(hours=1))
    assert await bot.ask(command, sender=CHRIS) == [say(key, **values)]
    assert bot.count("workshop_attendance") == 0


# ----- a person's own data ------------------------------------------------------------------------


async def test_forget_and_personal_data(bot: WorkshopBot) -> None:
    await bot.announce()
    await bot.ask("!going 1", sender=SAM)
    await bot.tell_dm(SAM, "1")
    bot.react(bot.announcement(), "🤔", sender=PAT)
    await bot.run()
    data = store.personal_data(bot.db, SAM)
    assert [r["answer"] for r in data["workshop_answers"]] == ["going"]
    assert [r["answer"] for r in data["workshop_rsvps"]] == ["going"]
    assert [json.loads(r["needs"]) for r in data["workshop_needs"]] == [["bsl"]]
    assert store.personal_data(bot.db, CHRIS)["workshops"][0]["title"] == (
        "Planning the new day centre"
    )

    with bot.store.write() as db:
        store.forget(db, SAM)
        store.forget(db, CHRIS)
    assert all(rows == [] for rows in store.personal_data(bot.db, SAM).values())
    assert store.personal_data(bot.db, CHRIS)["workshops"] == []
    assert bot.workshop().organiser != CHRIS
    assert bot.answers() == {PAT: "maybe"}


async def test_changes_by_the_organiser_always_need_the_number(bot: WorkshopBot) -> None:
    await bot.announce()
    for command in ("!workshop cancel", "!workshop move", "!workshop needs", "!attended"):
        assert await bot.ask(command, sender=CHRIS) == [say("workshop.which_one")]
    assert bot.workshop().state == "open"


def test_every_message_built_from_parts_is_in_the_catalogue() -> None:
    keys = [f"workshop.need.{code}" for code in NEEDS]
    keys += [f"workshop.{answer}_saved" for answer in store.ANSWERS]
    keys += [f"workshop.you_said_{answer}" for answer in store.ANSWERS]
    keys += [f"workshop.moved_dm_{answer}" for answer in store.ANSWERS]
    keys += [f"workshop.too_long_{field}" for field in LONGEST]
    keys += ["workshop.show_is_cancelled", "workshop.show_has_started"]
    assert [key for key in keys if key not in MESSAGES] == []
