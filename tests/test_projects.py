"""Projects through the real dispatcher, worker and scheduler, with a real SQLite file.

The bot is a ``LocalBot`` (see tests/localbot.py): people's messages go into the
inbox as the adapter's sync would store them and are handled by the real Worker;
what the bot says and does is read back from the outbox. Time is a fake clock the
scheduler reads. The only fakes are the adapter's network reads (``user_exists``,
``joined_members``). ``bot.deliver()`` stands in for the sender: it marks queued
items sent (or failed, as the homeserver would refuse them), opening direct chats
and project rooms with made-up IDs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.messages import Entry, Messages
from localbot import (
    ALICE,
    BOT,
    CHRIS,
    DANA,
    GROUP,
    LEE,
    MESSAGES,
    PAT,
    SAM,
    T0,
    LocalBot,
    make_bots,
    person_named,
    say,
)
from storage import conversations, profiles, rooms
from storage import projects as store
from storage import workshops as workshop_store

NOBODY = person_named("nobody")  # the homeserver says there is nobody by this ID
FAR = person_named("far", server="elsewhere.test")  # the homeserver cannot tell (another server)

AREAS = ["Cherwell", "Oxford", "South Oxfordshire", "Vale of White Horse", "West Oxfordshire"]

NAME = "Better buses"
SUMMARY = "Making the community bus fit day centre times"
NEW = f"!project new {NAME} | {SUMMARY}"


# ----- the bot, without a homeserver ---------------------------------------------------


class ProjectBot(LocalBot):
    """A bot with two champions, whose homeserver knows nobody by NOBODY's ID and
    cannot tell about FAR's."""

    champions = (CHRIS, DANA)

    def __init__(self, directory: Path, *, days: int = 3, areas: list[str] = AREAS) -> None:
        settings = f"[projects]\nreminder_after_days = {days}\nareas = {json.dumps(areas)}\n"
        super().__init__(directory, settings=settings)

    def start(self, messages: Messages = MESSAGES) -> None:
        super().start(messages)
        self.adapter.nobody = {NOBODY}
        self.adapter.cannot_tell = {FAR}

    async def answer(self, person: str, body: str) -> list[str]:
        """The person writes in their direct chat with the bot."""
        return await self.tell_dm(person, body)

    # --- what the bot did ---

    def told(self, person: str) -> list[str]:
        """Everything sent (or queued) to a person's direct chat, replies included."""
        where = {person, rooms.find_direct(self.db, person)}
        return [o.body for o in self.outbox() if o.action == "send" and o.room_id in where]

    def said_in(self, room_id: str) -> list[str]:
        return [o.body for o in self.outbox() if o.action == "send" and o.room_id == room_id]

    def project(self, name: str = NAME) -> store.Project:
        found = store.by_name(self.db, name)
        assert found is not None
        return found

    def invitation(self, person: str, name: str = NAME) -> store.Invitation:
        found = store.invitation_for(self.db, self.project(name).id, person)
        assert found is not None
        return found

    def jobs(self, kind: str | None = None) -> list[tuple[str, str, float, str]]:
        rows = self.db.execute("SELECT kind, ref, due_at, state FROM jobs ORDER BY id").fetchall()
        return [r for r in rows if kind is None or r[0] == kind]

    # --- shortcuts ---

    async def new_project(self, command: str = NEW, *, sender: str = CHRIS) -> str:
        """Start a project, let the room be made and noticed. Returns the room's ID."""
        assert await self.ask(command, sender=sender) == [
            say("project.created", project=command.split("|")[0].split(None, 2)[2].strip())
        ]
        self.deliver()
        self.later(seconds=5)
        await self.tick()
        project = store.listing(self.db)[-1]
        assert project.state == "ready" and project.room_id
        return project.room_id

    async def invite(self, *people: str, name: str = NAME, sender: str = CHRIS) -> list[str]:
        """``!invite``, the job that sends the invitations, and their delivery."""
        replies = await self.ask(f"!invite {name} {' '.join(people)}", sender=sender)
        await self.tick()
        self.deliver()
        return replies


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[Callable[..., ProjectBot]]:
    with make_bots(ProjectBot, tmp_path, jobs_may_fail=False) as make:
        yield make


@pytest.fixture
def bot(make_bot: Callable[..., ProjectBot]) -> ProjectBot:
    return make_bot()


def terms() -> str:
    return say("project.terms")


def question(inviter: str = CHRIS, stage: str = "design") -> str:
    return "\n\n".join(
        [
            say("project.invitation", inviter=inviter, project=NAME),
            say("project.invitation_about", summary=SUMMARY),
            say(f"project.involves.{stage}"),
            terms(),
            say("project.invitation_question"),
        ]
    )


def version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----- starting a project -------------------------------------------------------------


async def test_a_champion_starts_a_project_and_its_room(bot: ProjectBot) -> None:
    assert await bot.ask(NEW, sender=CHRIS) == [say("project.created", project=NAME)]
    create, welcome, reply = bot.outbox()
    assert (create.action, create.room_id) == ("create_room", "project:1")
    assert create.name == NAME
    assert create.topic == SUMMARY
    assert create.invite == (CHRIS,)
    assert (welcome.action, welcome.room_id) == ("send", "project:1")
    assert welcome.body == say(
        "project.room_welcome", project=NAME, stage=say("project.stage.design")
    )
    assert reply.room_id == GROUP
    project = bot.project()
    assert (project.state, project.stage, project.created_by, project.open) == (
        "setting_up",
        "design",
        CHRIS,
        False,
    )
    assert store.members(bot.db, project.id) == [CHRIS]

    # Until the room exists, the project says so, and nobody can be invited.
    (listing,) = await bot.ask("!projects")
    assert say("project.list_setting_up") in listing
    (shown,) = await bot.ask(f"!project {NAME}")
    assert say("project.show_setting_up") in shown
    assert await bot.ask(f"!invite {NAME} {SAM}", sender=CHRIS) == [
        say("project.being_set_up", project=NAME)
    ]
    assert bot.count("project_invitations") == 0

    sent = bot.deliver()
    room = sent[create.txn_id]
    assert bot.outbox()[1].room_id == room  # the welcome waited for the room
    bot.later(seconds=5)
    await bot.tick()
    assert (bot.project().state, bot.project().room_id) == ("ready", room)
    (listing,) = await bot.ask("!projects")
    assert listing.split("\n") == [
        say("project.list_intro"),
        say("project.list_line", project=NAME, stage=say("project.stage.design"), count=1)
        + " "
        + say("project.list_invite_only"),
        say("project.list_how_to_see"),
    ]


async def test_the_room_is_seen_as_soon_as_it_exists(bot: ProjectBot) -> None:
    await bot.ask(NEW, sender=CHRIS)
    bot.deliver()  # the room is made; the job has not looked yet
    assert await bot.ask(f"!invite {NAME} {SAM}", sender=CHRIS) == [
        say("project.inviting", project=NAME, people=SAM)
    ]
    assert bot.project().state == "ready"


async def test_details_are_kept_and_shown(bot: ProjectBot) -> None:
    await bot.new_project(
        f"{NEW} | stage deliver | contact Jo Smith, 01865 000000 | budget £2,000 | open"
    )
    project = bot.project()
    assert (project.stage, project.contact, project.budget, project.open) == (
        "deliver",
        "Jo Smith, 01865 000000",
        "£2,000",
        True,
    )
    (shown,) = await bot.ask(f"!project {NAME.upper()}", sender=SAM)
    assert shown.split("\n") == [
        say("project.show_title", project=NAME),
        say("project.show_about", summary=SUMMARY),
        say("project.show_stage", name="deliver", stage=say("project.stage.deliver")),
        say("project.show_people", count=1),
        say("project.show_open", project=NAME),
        say("project.show_contact", contact="Jo Smith, 01865 000000"),
        say("project.show_budget", budget="£2,000"),
    ]
    # Whoever started it (and the team) also see how the invitations are going.
    (shown,) = await bot.ask(f"!project {NAME}", sender=CHRIS)
    assert shown.split("\n")[-1] == say(
        "project.show_invitations", waiting=0, yes=0, no=0, unreachable=0
    )
    assert shown.split("\n")[4] == say("project.show_you_are_in", project=NAME)


LONG = "x" * 61
PROJECT_MISTAKES = [
    ("", "project.new_how", {}),
    (f"| {SUMMARY}", "project.new_how", {}),
    (NAME, "project.summary_needed", {"project": NAME}),
    (f"{NAME} |  ", "project.summary_needed", {"project": NAME}),
    (f"{LONG} | {SUMMARY}", "project.name_too_long", {"length": 61, "most": 60}),
    (f"{NAME} | {'y' * 301}", "project.summary_too_long", {"length": 301, "most": 300}),
    (f"Buses @home | {SUMMARY}", "project.name_has_at", {}),
    (f"New buses | {SUMMARY}", "project.name_reserved", {"word": "new"}),
    (f"{NAME} | {SUMMARY} | colour blue", "project.unknown_detail", {"detail": "colour blue"}),
    (f"{NAME} | {SUMMARY} | stage planning", "project.bad_stage", {"stage": "planning"}),
    (f"{NAME} | {SUMMARY} | budget £1 | budget £2", "project.detail_twice", {"detail": "budget"}),
    (f"{NAME} | {SUMMARY} | | open", "project.detail_empty", {"number": 3}),
    (
        f"{NAME} | {SUMMARY} | contact",
        "project.detail_needs_words",
        {"detail": "contact", "example": "Jo Smith, 01865 000000"},
    ),
    (
        f"{NAME} | {SUMMARY} | contact {'z' * 101}",
        "project.detail_too_long",
        {"detail": "contact", "length": 101, "most": 100},
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "values"),
    PROJECT_MISTAKES,
    ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(PROJECT_MISTAKES)],
)
async def test_a_mistake_in_project_new_is_explained_and_nothing_is_made(
    bot: ProjectBot, text: str, key: str, values: dict[str, object]
) -> None:
    assert await bot.ask(f"!project new {text}", sender=CHRIS) == [say(key, **values)]
    assert bot.count("projects") == bot.count("project_members") == 0
    assert [o.action for o in bot.outbox()] == ["send"]  # the reply alone
    assert bot.jobs() == []


async def test_a_name_already_taken_in_any_case(bot: ProjectBot) -> None:
    await bot.new_project()
    before = len(bot.outbox())
    assert await bot.ask("!project new  better   BUSES | Something else", sender=DANA) == [
        say("project.name_taken", project=NAME)
    ]
    assert bot.count("projects") == 1
    assert len(bot.outbox()) == before + 1


async def test_members_cannot_run_champion_or_team_commands(bot: ProjectBot) -> None:
    await bot.new_project()
    not_champion = say("errors.not_allowed", who=say("roles.champion"))
    for command in (NEW.replace(NAME, "Mine"), f"!invite {NAME} {PAT}", f"!stage {NAME} deliver"):
        assert await bot.ask(command, sender=SAM) == [not_champion]
    assert await bot.ask(f"!project set {NAME} | open", sender=SAM) == [not_champion]
    assert await bot.ask("!impact", sender=CHRIS) == [
        say("errors.not_allowed", who=say("roles.team"))
    ]
    assert bot.count("projects") == 1 and bot.count("project_invitations") == 0
    assert bot.project().stage == "design" and not bot.project().open


async def test_only_whoever_started_it_or_the_team_can_change_it(bot: ProjectBot) -> None:
    await bot.new_project()
    assert await bot.ask(f"!stage {NAME} deliver", sender=DANA) == [
        say("project.not_yours", project=NAME)
    ]
    assert await bot.ask(f"!invite {NAME} {SAM}", sender=DANA) == [
        say("project.not_yours", project=NAME)
    ]
    assert bot.project().stage == "design" and bot.count("project_invitations") == 0
    assert await bot.ask(f"!stage {NAME} deliver", sender=ALICE) == [
        say("project.stage_changed", project=NAME, stage="deliver")
    ]


async def test_a_room_that_cannot_be_made_leaves_no_project(bot: ProjectBot) -> None:
    event = bot.message(NEW, sender=CHRIS)
    await bot.run()
    bot.deliver(refuse=frozenset({"project:1"}))
    assert [o.state for o in bot.outbox()[:2]] == ["failed", "failed"]  # room and welcome
    # Until the job notices, it still shows as being set up; nothing can be done with it.
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [say("project.being_set_up", project=NAME)]
    bot.later(seconds=5)
    await bot.tick()
    assert bot.count("projects") == bot.count("project_members") == 0
    told = [o for o in bot.outbox() if o.reply_to == event]
    assert [o.body for o in told][-1] == say(
        "project.room_failed", project=NAME, reason="403 M_FORBIDDEN: not allowed"
    )
    assert told[-1].room_id == GROUP
    assert await bot.ask("!projects") == [say("project.none")]
    assert await bot.ask(f"!project {NAME}") == [say("project.not_found", name=NAME)]

    # The name is free again; the number is never given out twice.
    room = await bot.new_project()
    assert bot.project().id == 2 and room.startswith("!room")


async def test_the_room_job_waits_while_the_room_is_on_its_way(bot: ProjectBot) -> None:
    await bot.ask(NEW, sender=CHRIS)
    for _ in range(4):  # the homeserver is slow; the job looks again, less and less often
        bot.later(minutes=10)
        await bot.tick()
    checks = bot.jobs("project.room")
    assert [state for *_, state in checks] == ["done"] * 4 + ["pending"]
    assert checks[-1][2] - bot.clock.time.timestamp() == 300  # at most 5 minutes apart
    bot.deliver()
    bot.later(minutes=5)
    await bot.tick()
    assert bot.project().state == "ready"
    assert bot.jobs("project.room")[-1][3] == "done"


async def test_finding_projects_by_name(bot: ProjectBot) -> None:
    await bot.new_project()
    assert await bot.ask("!join Beter busses") == [
        say("project.not_found_like", name="Beter busses", project=NAME)
    ]
    assert await bot.ask("!join Knitting circle") == [
        say("project.not_found", name="Knitting circle")
    ]
    assert await bot.ask("!join") == [say("project.name_needed", command="join")]
    assert await bot.ask('!project "better buses"') != [say("project.not_found", name=NAME)]
    assert await bot.ask("!project") == await bot.ask("!projects")


# ----- inviting people in ---------------------------------------------------------------


async def test_three_invited_one_yes_one_no_one_silent(bot: ProjectBot) -> None:
    room = await bot.new_project()
    replies = await bot.ask(f"!invite {NAME} {SAM} {PAT}, {LEE}", sender=CHRIS)
    assert replies == [say("project.inviting", project=NAME, people=f"{SAM}, {PAT}, {LEE}")]
    assert {bot.invitation(p).state for p in (SAM, PAT, LEE)} == {"checking"}
    assert [o.action for o in bot.outbox() if o.room_id in (SAM, PAT, LEE)] == []  # not yet

    await bot.tick()  # the job checks each person exists, then asks them
    assert sorted(bot.adapter.lookups) == sorted([SAM, PAT, LEE])
    bot.deliver()
    for person in (SAM, PAT, LEE):
        assert bot.told(person) == [question()]
        invitation = bot.invitation(person)
        assert invitation.state == "asked"
        assert invitation.terms_version == version(terms())
        waiting = conversations.pending(bot.db, person)
        assert waiting is not None and waiting.kind == "project.consent"
    assert store.terms_text(bot.db, version(terms())) == terms()
    reminders = bot.jobs("project.remind")
    asked_at = bot.invitation(SAM).asked_at
    assert asked_at is not None
    assert [(due, state) for _, _, due, state in reminders] == [
        (asked_at + 3 * 24 * 3600, "pending")
    ] * 3

    # Yes: consent recorded, invited into the room.
    yes = bot.message("Yes please", sender=SAM, room_id=bot.direct_chat(SAM))
    await bot.run()
    assert bot.replies_to(yes) == [
        say("project.welcome_in", project=NAME) + "\n\n" + say("project.about_you_offer")
    ]
    (consent,) = store.consents(bot.db)
    assert (consent.user_id, consent.terms_key, consent.terms_version) == (
        SAM,
        "project.terms",
        version(terms()),
    )
    assert consent.answer_event == yes and consent.withdrawn_at is None
    assert consent.agreed_at.startswith("2026-06-01T09:00:")
    assert store.is_member(bot.db, bot.project().id, SAM)
    invites = [o for o in bot.outbox() if o.action == "invite"]
    assert [(o.room_id, o.user) for o in invites] == [(room, SAM)]
    assert conversations.pending(bot.db, SAM) is None

    # No: thanked, and nothing more.
    assert await bot.answer(PAT, "No thanks") == [say("project.no_thanks", project=NAME)]
    assert bot.invitation(PAT).state == "declined"

    # Silence: exactly one gentle reminder, after three days, then nothing.
    bot.clock.time = datetime.fromtimestamp(asked_at, UTC) + timedelta(days=3, seconds=-1)
    await bot.tick()  # only checks that the invitations went out
    bot.deliver()
    assert bot.told(LEE) == [question()]
    bot.later(seconds=1)
    assert await bot.tick() == 1
    bot.deliver()
    reminder = say("project.reminder", project=NAME, summary=SUMMARY)
    assert bot.told(LEE) == [question(), reminder]
    assert bot.invitation(LEE).state == "reminded"
    for _ in range(5):
        bot.later(days=30)
        await bot.tick()
    bot.deliver()
    assert bot.told(LEE) == [question(), reminder]
    assert bot.told(PAT) == [question(), say("project.no_thanks", project=NAME)]
    assert [state for *_, state in bot.jobs("project.remind")] == [
        "cancelled",
        "cancelled",
        "done",
    ]

    # How it is going, for whoever started it.
    (shown,) = await bot.ask(f"!project {NAME}", sender=CHRIS)
    assert say("project.show_invitations", waiting=1, yes=1, no=1, unreachable=0) in shown
    assert say("project.show_people", count=2) in shown

    # A late yes, after the reminder, still counts.
    await bot.answer(LEE, "yes")
    assert bot.invitation(LEE).state == "accepted"
    assert len(store.consents(bot.db)) == 2


async def test_the_invitation_says_who_to_ask_and_what_the_stage_means(bot: ProjectBot) -> None:
    await bot.new_project(f"{NEW} | stage review | contact Jo Smith")
    await bot.invite(SAM)
    (text,) = bot.told(SAM)
    assert text.split("\n\n")[2:4] == [
        say("project.involves.review"),
        say("project.invitation_contact", contact="Jo Smith"),
    ]


async def test_an_unclear_answer_gets_a_hint_and_a_long_one_is_something_else(
    bot: ProjectBot,
) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    assert await bot.answer(SAM, "maybe") == [say("project.yes_or_no", project=NAME)]
    assert bot.invitation(SAM).state == "asked"
    # A longer message is not taken as an answer: it goes on to whoever else
    # listens in direct chats, and the invitation still waits.
    replies = await bot.answer(SAM, "I am not sure what this is about, can somebody ring me")
    assert say("project.yes_or_no", project=NAME) not in replies
    assert bot.invitation(SAM).state == "asked"
    assert store.consents(bot.db) == []


async def test_inviting_people_who_cannot_be_invited(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(PAT)
    await bot.answer(PAT, "no")
    await bot.invite(SAM)
    replies = await bot.ask(f"!invite {NAME} {CHRIS} {SAM} {PAT} {BOT} {LEE} {LEE}", sender=CHRIS)
    assert replies == [
        "\n".join(
            [
                say("project.inviting", project=NAME, people=LEE),
                say("project.already_in", person=CHRIS, project=NAME),
                say("project.already_invited", person=SAM),
                say("project.said_no", person=PAT, project=NAME),
                say("project.invite_not_me"),
            ]
        )
    ]
    assert bot.count("project_invitations") == 3


INVITE_MISTAKES = [
    (f"!invite {NAME}", "project.invite_how", {}),
    (f"!invite {SAM}", "project.invite_how", {}),
    (f"!invite {NAME} {SAM} @Sam Smith", "project.bad_ids", {"ids": "@Sam, Smith"}),
    (f"!invite {NAME} {SAM} sam:council.test", "project.bad_ids", {"ids": "sam:council.test"}),
    (f"!invite Beter busses {SAM}", "project.not_found_like", {"name": "Beter busses"}),
    (
        "!invite Better buses " + " ".join(f"@p{i}:council.test" for i in range(51)),
        "project.too_many_people",
        {"count": 51, "most": 50},
    ),
]


@pytest.mark.parametrize(
    ("command", "key", "values"),
    INVITE_MISTAKES,
    ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(INVITE_MISTAKES)],
)
async def test_a_mistake_in_invite_is_explained_and_nobody_is_invited(
    bot: ProjectBot, command: str, key: str, values: dict[str, object]
) -> None:
    await bot.new_project()
    extra = {"project": NAME} if key == "project.not_found_like" else {}
    assert await bot.ask(command, sender=CHRIS) == [say(key, **values, **extra)]
    assert bot.count("project_invitations") == 0
    assert bot.jobs("project.invite") == []


async def test_a_matrix_id_nobody_has(bot: ProjectBot) -> None:
    await bot.new_project()
    command = bot.message(f"!invite {NAME} {NOBODY}", sender=CHRIS)
    await bot.run()
    await bot.tick()
    assert bot.replies_to(command) == [
        say("project.inviting", project=NAME, people=NOBODY),
        say("project.no_such_person", person=NOBODY, project=NAME),
    ]
    assert bot.invitation(NOBODY).state == "no_such_person"
    assert [o for o in bot.outbox() if o.room_id == NOBODY] == []  # no chat was opened
    assert bot.jobs("project.remind") == []
    # Once the ID is right (or the account made), inviting again works.
    assert await bot.ask(f"!invite {NAME} {NOBODY}", sender=CHRIS) == [
        say("project.inviting", project=NAME, people=NOBODY)
    ]


async def test_a_homeserver_that_will_not_take_the_invitation(bot: ProjectBot) -> None:
    await bot.new_project()
    command = bot.message(f"!invite {NAME} {FAR}", sender=CHRIS)
    await bot.run()
    await bot.tick()  # the homeserver cannot tell whether they exist: try
    bot.deliver(refuse=frozenset({FAR}))
    bot.later(seconds=5)
    await bot.tick()
    assert bot.replies_to(command)[-1] == say("project.could_not_reach", person=FAR, project=NAME)
    assert bot.invitation(FAR).state == "undeliverable"
    assert conversations.pending(bot.db, FAR) is None
    assert [state for *_, state in bot.jobs("project.remind")] == ["cancelled"]
    bot.later(days=4)
    assert await bot.tick() == 0


async def test_the_delivery_check_waits_for_a_slow_homeserver(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.ask(f"!invite {NAME} {SAM}", sender=CHRIS)
    await bot.tick()
    for _ in range(3):
        bot.later(seconds=30)
        await bot.tick()
    assert [s for *_, s in bot.jobs("project.delivered")] == ["done"] * 3 + ["pending"]
    bot.deliver()
    bot.later(minutes=5)
    await bot.tick()
    assert [s for *_, s in bot.jobs("project.delivered")][-1] == "done"
    assert bot.invitation(SAM).state == "asked"


async def test_a_second_invitation_is_asked_after_the_first_answer(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.new_project("!project new Carers café | A monthly café run by carers")
    await bot.invite(SAM)
    await bot.invite(SAM, name="Carers café")
    # The newest question is the one their reply answers...
    assert await bot.answer(SAM, "yes") != []
    assert bot.invitation(SAM, "Carers café").state == "accepted"
    assert bot.invitation(SAM).state == "asked"
    # ...then the bot asks about the other one again.
    bot.deliver()
    assert bot.told(SAM)[-1] == say("project.next_invitation", project=NAME, summary=SUMMARY)
    assert await bot.answer(SAM, "no") == [say("project.no_thanks", project=NAME)]
    assert bot.invitation(SAM).state == "declined"


async def test_no_invitation_while_they_answer_another_question(bot: ProjectBot) -> None:
    await bot.new_project()
    with bot.store.write() as db:  # e.g. feedback asked "may we keep your name?"
        conversations.ask(db, SAM, "feedback.name", "7")
    await bot.invite(SAM)
    assert bot.invitation(SAM).state == "checking"
    assert bot.told(SAM) == []
    assert conversations.pending(bot.db, SAM).kind == "feedback.name"  # type: ignore[union-attr]
    with bot.store.write() as db:
        conversations.finish(db, SAM)
    bot.later(minutes=10)
    await bot.tick()
    bot.deliver()
    assert bot.told(SAM) == [question()]
    assert bot.invitation(SAM).state == "asked"


async def test_a_question_left_unanswered_does_not_hold_an_invitation_for_ever(
    bot: ProjectBot,
) -> None:
    await bot.new_project()
    with bot.store.write() as db:
        conversations.ask(db, SAM, "feedback.name", "7")
    await bot.invite(SAM)
    for _ in range(6 * 24):  # every ten minutes, for a day
        bot.later(minutes=10)
        await bot.tick()
    bot.deliver()
    # It goes, saying how to join, and their next reply is still for the other question.
    (text,) = bot.told(SAM)
    assert text == question().replace(
        say("project.invitation_question"), say("project.invitation_join_how", project=NAME)
    )
    assert conversations.pending(bot.db, SAM).kind == "feedback.name"  # type: ignore[union-attr]
    assert bot.invitation(SAM).terms_version == version(terms())
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [say("project.welcome_in", project=NAME)]
    (consent,) = store.consents(bot.db)
    assert consent.terms_version == version(terms())


async def test_the_reminder_does_not_take_over_another_question(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    with bot.store.write() as db:
        conversations.ask(db, SAM, "feedback.name", "7")
    bot.later(days=3, seconds=10)
    await bot.tick()
    bot.deliver()
    assert bot.told(SAM)[-1] == say("project.reminder_join", project=NAME, summary=SUMMARY)
    assert conversations.pending(bot.db, SAM).kind == "feedback.name"  # type: ignore[union-attr]
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [say("project.welcome_in", project=NAME)]
    assert bot.invitation(SAM).state == "accepted"


# ----- consent and the words of the terms --------------------------------------------------


async def test_consent_keeps_the_version_of_the_words_they_were_shown(
    bot: ProjectBot,
) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    old = terms()
    # The team edits the terms, and the bot restarts, before Sam answers.
    entries = {e.key: e for e in MESSAGES}
    new_words = "How we work together: we are equal partners. You can leave at any time."
    entries["project.terms"] = Entry("project.terms", new_words)
    bot.restart(Messages(entries))
    await bot.answer(SAM, "yes")
    await bot.invite(PAT)
    await bot.answer(PAT, "yes")
    sam, pat = store.consents(bot.db)
    assert (sam.user_id, sam.terms_version) == (SAM, version(old))
    assert (pat.user_id, pat.terms_version) == (PAT, version(new_words))
    assert store.terms_text(bot.db, sam.terms_version) == old
    assert store.terms_text(bot.db, pat.terms_version) == new_words
    assert new_words in bot.told(PAT)[0]


async def test_no_consent_without_its_record_and_no_record_without_consent(
    bot: ProjectBot,
) -> None:
    await bot.new_project()
    await bot.invite(SAM, PAT)
    await bot.answer(SAM, "yes")
    await bot.answer(PAT, "no")
    members = set(store.members(bot.db, bot.project().id)) - {CHRIS}
    consented = {c.user_id for c in store.consents(bot.db)}
    assert members == consented == {SAM}


# ----- a restart in the middle of an invitation ------------------------------------------


async def test_a_restart_before_the_invitation_goes_out_changes_nothing(
    bot: ProjectBot,
) -> None:
    await bot.new_project()
    await bot.ask(f"!invite {NAME} {SAM}", sender=CHRIS)
    bot.restart()
    await bot.tick()
    bot.restart()
    await bot.tick()
    bot.deliver()
    assert bot.told(SAM) == [question()]
    assert len(bot.jobs("project.remind")) == 1


async def test_a_restart_while_waiting_for_the_answer_changes_nothing(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM, LEE)
    bot.restart()
    assert await bot.tick() == 0
    await bot.answer(SAM, "yes")
    bot.restart()
    assert store.is_member(bot.db, bot.project().id, SAM)
    # Lee's reminder falls due while the bot is down: it is sent once, at start-up.
    bot.store.close()
    bot.later(days=5)
    bot.restart()
    assert await bot.tick() >= 1
    bot.restart()
    assert await bot.tick() == 0
    bot.deliver()
    assert bot.told(LEE) == [question(), say("project.reminder", project=NAME, summary=SUMMARY)]
    assert len(bot.told(SAM)) == 2  # the question and the welcome: nothing again
    assert [o.user for o in bot.outbox() if o.action == "invite"] == [SAM]


async def test_an_answer_handled_twice_after_a_crash_counts_once(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    bot.message("yes", sender=SAM, room_id=bot.direct_chat(SAM))
    bot.restart()  # the bot stopped before handling it
    await bot.run()
    bot.restart()
    await bot.run()
    assert len(store.consents(bot.db)) == 1
    assert [o.user for o in bot.outbox() if o.action == "invite"] == [SAM]


# ----- joining and leaving -------------------------------------------------------------------


async def test_anyone_can_join_an_open_project(bot: ProjectBot) -> None:
    room = await bot.new_project(f"{NEW} | open")
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [
        say("project.sent_you_a_message", project=NAME)
    ]
    bot.deliver()
    (text,) = bot.told(SAM)
    assert text.split("\n\n")[0] == say("project.join_intro", project=NAME)
    assert terms() in text
    assert bot.jobs("project.remind") == []  # they asked: no reminder
    await bot.answer(SAM, "yes")
    assert store.is_member(bot.db, bot.project().id, SAM)
    (consent,) = store.consents(bot.db)
    assert consent.terms_version == version(terms())
    assert [(o.room_id, o.user) for o in bot.outbox() if o.action == "invite"] == [(room, SAM)]
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [
        say("project.already_in_you", project=NAME)
    ]


async def test_joining_in_the_direct_chat_asks_there(bot: ProjectBot) -> None:
    await bot.new_project(f"{NEW} | open")
    await bot.invite(PAT)  # so Pat has a direct chat
    await bot.answer(PAT, "no")
    assert await bot.answer(PAT, f"!join {NAME}") == []  # the question is the answer
    bot.deliver()
    assert bot.told(PAT)[-1].startswith(say("project.join_intro", project=NAME))


async def test_an_invite_only_project_needs_an_invitation(bot: ProjectBot) -> None:
    await bot.new_project()
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [say("project.invite_only", project=NAME)]
    await bot.ask(f"!project set {NAME} | contact Jo Smith", sender=CHRIS)
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [
        say("project.invite_only_contact", project=NAME, contact="Jo Smith")
    ]
    assert bot.count("project_invitations") == 0


async def test_join_with_an_invitation_waiting_is_a_yes(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    assert await bot.ask(f"!join {NAME}", sender=SAM) == [say("project.welcome_in", project=NAME)]
    assert bot.invitation(SAM).state == "accepted"
    (consent,) = store.consents(bot.db)
    assert consent.terms_version == version(terms())
    assert conversations.pending(bot.db, SAM) is None


async def test_someone_who_said_no_can_still_join(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    await bot.answer(SAM, "no")
    await bot.ask(f"!join {NAME}", sender=SAM)
    bot.deliver()
    assert terms() in bot.told(SAM)[-1]
    await bot.answer(SAM, "yes")
    assert store.is_member(bot.db, bot.project().id, SAM)


async def test_leaving_is_easy_and_never_questioned(bot: ProjectBot) -> None:
    room = await bot.new_project()
    await bot.invite(SAM)
    await bot.answer(SAM, "yes")
    assert await bot.ask(f"!leave {NAME}", sender=SAM) == [say("project.left", project=NAME)]
    kick = [o for o in bot.outbox() if o.action == "kick"]
    assert [(o.room_id, o.user, o.reason) for o in kick] == [
        (room, SAM, say("project.kick_reason"))
    ]
    assert not store.is_member(bot.db, bot.project().id, SAM)
    (consent,) = store.consents(bot.db)
    assert consent.withdrawn_at is not None  # the record stays, with when they left
    assert bot.invitation(SAM).state == "left"
    assert await bot.ask(f"!leave {NAME}", sender=SAM) == [say("project.not_in", project=NAME)]
    assert await bot.ask(f"!invite {NAME} {SAM}", sender=CHRIS) == [
        say("project.left_before", person=SAM, project=NAME)
    ]
    # Coming back is one command.
    await bot.ask(f"!join {NAME}", sender=SAM)
    await bot.answer(SAM, "yes")
    assert store.is_member(bot.db, bot.project().id, SAM)
    assert len(store.consents(bot.db)) == 2


async def test_leaving_from_the_project_room_is_answered_privately(bot: ProjectBot) -> None:
    room = await bot.new_project()
    await bot.invite(SAM)
    await bot.answer(SAM, "yes")
    assert await bot.ask(f"!leave {NAME}", sender=SAM, room_id=room) == []
    bot.deliver()
    assert bot.told(SAM)[-1] == say("project.left", project=NAME)


async def test_leave_before_answering_is_a_no(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    assert await bot.ask(f"!leave {NAME}", sender=SAM) == [
        say("project.left_invitation", project=NAME)
    ]
    assert bot.invitation(SAM).state == "declined"
    assert conversations.pending(bot.db, SAM) is None
    assert [s for *_, s in bot.jobs("project.remind")] == ["cancelled"]
    assert [o.action for o in bot.outbox() if o.action == "kick"] == []


# ----- stages and details ------------------------------------------------------------------


async def test_moving_a_project_on_tells_its_room(bot: ProjectBot) -> None:
    room = await bot.new_project()
    assert await bot.ask(f"!stage {NAME} Deliver", sender=CHRIS) == [
        say("project.stage_changed", project=NAME, stage="deliver")
    ]
    assert bot.said_in(room)[-1] == say(
        "project.stage_told", project=NAME, stage=say("project.stage.deliver")
    )
    assert bot.project().stage == "deliver"
    assert await bot.ask(f"!stage {NAME} deliver", sender=CHRIS) == [
        say("project.same_stage", project=NAME, stage="deliver")
    ]
    assert await bot.ask(f"!stage {NAME}", sender=CHRIS) == [
        say("project.bad_stage", stage="buses")
    ]
    assert await bot.ask("!stage", sender=CHRIS) == [say("project.stage_how")]
    # In the project's own room, what the room is told is the answer.
    assert await bot.ask(f"!stage {NAME} review", sender=CHRIS, room_id=room) == []
    assert bot.said_in(room)[-1] == say(
        "project.stage_told", project=NAME, stage=say("project.stage.review")
    )


async def test_a_finished_project_takes_nobody_new(bot: ProjectBot) -> None:
    room = await bot.new_project(f"{NEW} | open")
    await bot.invite(SAM, PAT)
    await bot.ask(f"!stage {NAME} done", sender=CHRIS)
    assert bot.said_in(room)[-1] == say("project.stage_done_told", project=NAME)
    assert {bot.invitation(p).state for p in (SAM, PAT)} == {"withdrawn"}
    assert [s for *_, s in bot.jobs("project.remind")] == ["cancelled", "cancelled"]
    assert await bot.answer(SAM, "yes") == [say("project.finished_sorry", project=NAME)]
    assert store.consents(bot.db) == []
    assert await bot.ask(f"!join {NAME}", sender=LEE) == [say("project.finished", project=NAME)]
    assert await bot.ask(f"!invite {NAME} {LEE}", sender=CHRIS) == [
        say("project.finished", project=NAME)
    ]
    (listing,) = await bot.ask("!projects")
    assert listing.split("\n") == [
        say("project.list_none_going"),
        say("project.list_finished", count=1),
    ]


async def test_changing_the_details(bot: ProjectBot) -> None:
    room = await bot.new_project(f"{NEW} | contact Jo | budget £500")
    new_summary = "Bus times that fit the day centres"
    command = f"!project set {NAME} | about {new_summary} | contact none | open | budget £900"
    assert await bot.ask(command, sender=CHRIS) == [say("project.updated", project=NAME)]
    project = bot.project()
    assert (project.summary, project.contact, project.budget, project.open) == (
        new_summary,
        None,
        "£900",
        True,
    )
    (topic,) = [o for o in bot.outbox() if o.action == "state"]
    assert (topic.room_id, topic.kind, topic.topic) == (room, "topic", new_summary)
    await bot.ask(f"!project set {NAME} | invite only | stage deliver", sender=CHRIS)
    assert (bot.project().open, bot.project().stage) == (False, "deliver")
    assert bot.said_in(room)[-1] == say(
        "project.stage_told", project=NAME, stage=say("project.stage.deliver")
    )
    assert await bot.ask(f"!project set {NAME}", sender=CHRIS) == [say("project.set_how")]
    assert await bot.ask(f"!project set {NAME} | colour blue", sender=CHRIS) == [
        say("project.unknown_change", detail="colour blue")
    ]


# ----- telling us about yourself -------------------------------------------------------------


def area_question() -> str:
    options = [*AREAS, say("aboutme.rather_not_say")]
    lines = [say("aboutme.area_question")]
    lines += [say("aboutme.option", number=i, label=o) for i, o in enumerate(options, 1)]
    return "\n".join([*lines, "", say("aboutme.how_to_stop")])


def relationship_question() -> str:
    labels = ["aboutme.uses_services", "aboutme.carer", "aboutme.council_staff"]
    options = [*(say(k) for k in labels), say("aboutme.rather_not_say")]
    lines = [say("aboutme.relationship_question")]
    lines += [say("aboutme.option", number=i, label=o) for i, o in enumerate(options, 1)]
    return "\n".join([*lines, "", say("aboutme.how_to_stop")])


async def test_telling_us_about_yourself(bot: ProjectBot) -> None:
    assert await bot.ask("!aboutme", sender=SAM) == [say("aboutme.sent_you_a_message")]
    bot.deliver()
    assert bot.told(SAM) == [say("aboutme.intro") + "\n\n" + area_question()]
    assert await bot.answer(SAM, "2") == []
    bot.deliver()
    assert bot.told(SAM)[-1] == relationship_question()
    said = say("aboutme.said_area", area="Oxford") + " " + say("aboutme.said_carer")
    assert await bot.answer(SAM, "2") == [say("aboutme.saved", said=said)]
    assert profiles.get(bot.db, SAM) == profiles.Profile(SAM, "Oxford", ("carer",), None)

    # Changing it: what is saved now is shown first, and "cancel" changes nothing
    # ("stop" in a direct chat stops any question: tests/test_everyday_words.py).
    await bot.answer(SAM, "!aboutme")
    bot.deliver()
    assert bot.told(SAM)[-1].split("\n\n")[1] == say("aboutme.current", said=said)
    assert await bot.answer(SAM, "cancel") == [say("aboutme.stopped")]
    assert profiles.get(bot.db, SAM) == profiles.Profile(SAM, "Oxford", ("carer",), None)

    await bot.answer(SAM, "!aboutme")
    assert await bot.answer(SAM, "west oxfordshire") == []  # the name works too
    assert await bot.answer(SAM, "9") == [say("aboutme.not_understood", most=4)]
    assert await bot.answer(SAM, "1 and 3") != []
    assert profiles.get(bot.db, SAM) == profiles.Profile(
        SAM, "West Oxfordshire", ("uses services", "council staff"), None
    )

    # "Rather not say" to everything leaves nothing behind.
    await bot.answer(SAM, "!aboutme")
    assert await bot.answer(SAM, "6") == []
    assert await bot.answer(SAM, "4") == [say("aboutme.saved_nothing")]
    assert profiles.get(bot.db, SAM) is None


async def test_removing_what_you_told_us(bot: ProjectBot) -> None:
    assert await bot.ask("!aboutme remove", sender=SAM) == [say("aboutme.nothing_to_remove")]
    with bot.store.write() as db:
        profiles.save(db, SAM, area="Oxford", relationships=("carer",))
    assert await bot.ask("!aboutme remove", sender=SAM) == [say("aboutme.removed")]
    assert profiles.get(bot.db, SAM) is None


async def test_without_areas_only_the_second_question_is_asked(make_bot: Any) -> None:
    bot = make_bot(areas=[])
    await bot.ask("!aboutme", sender=SAM)
    bot.deliver()
    assert bot.told(SAM) == [say("aboutme.intro") + "\n\n" + relationship_question()]
    assert await bot.answer(SAM, "1") == [
        say("aboutme.saved", said=say("aboutme.said_uses_services"))
    ]


async def test_the_offer_to_say_more_is_made_once_and_only_in_private(bot: ProjectBot) -> None:
    await bot.new_project(f"{NEW} | open")
    with bot.store.write() as db:
        profiles.save(db, SAM, area="Oxford")
    await bot.invite(SAM)
    assert await bot.answer(SAM, "yes") == [say("project.welcome_in", project=NAME)]


async def test_an_invitation_waits_behind_telling_us_about_yourself(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.ask("!aboutme", sender=SAM)
    await bot.invite(SAM)
    assert bot.invitation(SAM).state == "checking"  # Sam is answering the bot already
    await bot.answer(SAM, "stop")
    bot.later(minutes=10)
    await bot.tick()
    bot.deliver()
    assert bot.told(SAM)[-1] == question()


# ----- the numbers the team reports ---------------------------------------------------------


async def test_impact_counts_and_hides_small_groups(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.new_project("!project new Carers café | A monthly café | stage deliver")
    await bot.new_project("!project new Day centres | Reviewing day centres | stage done")
    await bot.invite(SAM, PAT)
    await bot.answer(SAM, "yes")
    await bot.answer(PAT, "no")
    people = [f"@person{i}:council.test" for i in range(12)]
    now = T0.timestamp()
    with bot.store.write() as db:
        for i, person in enumerate(people):
            area = "Oxford" if i < 7 else "Cherwell"
            relationship = ("carer",) if i < 5 else ("uses services",)
            profiles.save(db, person, area=area, relationships=relationship)
        poll = db.execute(
            "INSERT INTO polls (room_id, creator, question, answers, state) "
            "VALUES (?, ?, 'Q?', '[]', 'closed')",
            [GROUP, CHRIS],
        ).lastrowid
        for voter in (SAM, people[0], BOT):
            db.execute(
                "INSERT INTO poll_votes (event_id, poll_id, voter, ts, kind, answers) "
                "VALUES (?, ?, ?, 1, 'response', '[]')",
                [f"$v{voter}", poll, voter],
            )
        for n, (user, state) in enumerate(
            [(people[1], "saved"), (None, "saved"), (people[2], "draft")]
        ):
            db.execute(
                "INSERT INTO feedback (text, created_at, user_id, source, state, event_id) "
                "VALUES ('words', '2026-06-01', ?, 'direct', ?, ?)",
                [user, state, f"$f{n}"],
            )
        held = workshop_store.create(
            db, room_id=GROUP, organiser=CHRIS, title="Held", starts_at=now - 3600, place="Hall"
        )
        workshop_store.create(
            db, room_id=GROUP, organiser=CHRIS, title="Later", starts_at=now + 3600, place="Hall"
        )
        gone = workshop_store.create(
            db, room_id=GROUP, organiser=CHRIS, title="Off", starts_at=now - 60, place="Hall"
        )
        workshop_store.cancel(db, gone, "rain")
        workshop_store.record_attendance(db, held, people[3], CHRIS)
        workshop_store.record_attendance(db, held, SAM, CHRIS)

    (text,) = await bot.ask("!impact", sender=ALICE)
    few = say("impact.fewer_than", least=5)
    stages = "design 1, deliver 1, review 0, done 1"
    assert text.split("\n") == [
        say("impact.title"),
        say("impact.projects", count=3, stages=stages),
        # Chris (started three projects), Sam (said yes, voted, came to a workshop),
        # person0 (voted), person1 (feedback with a name), person3 (came to a workshop).
        say("impact.people", count=5),
        say("impact.polls", count=1),
        say("impact.feedback", count=2),
        say("impact.workshops", count=1),
        "",
        say("impact.areas_title"),
        say("impact.group_line", group="Cherwell", count=5),
        say("impact.group_line", group="Oxford", count=7),
        say("impact.group_line", group="South Oxfordshire", count=few),
        say("impact.group_line", group="Vale of White Horse", count=few),
        say("impact.group_line", group="West Oxfordshire", count=few),
        "",
        say("impact.relationships_title"),
        say("impact.group_line", group=say("impact.uses_services"), count=7),
        say("impact.group_line", group=say("impact.carer"), count=5),
        say("impact.group_line", group=say("impact.council_staff"), count=few),
        "",
        say("impact.hidden_note", least=5),
    ]

    # A person leaving does not undo that they were involved.
    await bot.ask(f"!leave {NAME}", sender=SAM)
    (again,) = await bot.ask("!impact", sender=ALICE)
    assert say("impact.people", count=5) in again


async def test_impact_with_nothing_yet(bot: ProjectBot) -> None:
    (text,) = await bot.ask("!impact", sender=ALICE)
    assert text.split("\n")[1:3] == [say("impact.no_projects"), say("impact.people", count=0)]
    assert text.split("\n")[7:9] == [say("impact.areas_title"), say("impact.nobody_said")]


async def test_one_small_group_is_hidden_even_when_it_is_the_only_one(bot: ProjectBot) -> None:
    with bot.store.write() as db:
        profiles.save(db, SAM, area="Somewhere else")
    (text,) = await bot.ask("!impact", sender=ALICE)
    few = say("impact.fewer_than", least=5)
    assert say("impact.group_line", group="Somewhere else", count=few) in text.split("\n")
    assert "Somewhere else: 1" not in text


# ----- a person's own data ----------------------------------------------------------------


async def test_personal_data_and_forgetting(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM, PAT)
    await bot.answer(SAM, "yes")
    data = store.personal_data(bot.db, SAM)
    assert [r["project"] for r in data["project_members"]] == [NAME]
    assert [r["state"] for r in data["project_invitations"]] == ["accepted"]
    (consent,) = data["project_consents"]
    assert (consent["terms_version"], consent["terms"]) == (version(terms()), terms())
    assert [r["name"] for r in store.personal_data(bot.db, CHRIS)["projects"]] == [NAME]

    with bot.store.write() as db:
        store.forget(db, SAM)
        store.forget(db, CHRIS)
    assert all(rows == [] for rows in store.personal_data(bot.db, SAM).values())
    assert bot.count("project_consents") == 0
    assert bot.count("project_invitations", "user_id = ?", (PAT,)) == 1
    assert bot.project().created_by is None  # the project stays, without their name


async def test_forget_me_erases_projects_data_too(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    await bot.answer(SAM, "yes")
    await bot.answer(SAM, "!forget me")
    await bot.answer(SAM, "1")
    # Deleted by this feature's own forget, not merely renamed by the last pass.
    assert bot.count("project_consents") == bot.count("project_invitations") == 0
    assert store.members(bot.db, bot.project().id) == [CHRIS]


async def test_my_data_includes_projects(bot: ProjectBot) -> None:
    await bot.new_project()
    await bot.invite(SAM)
    await bot.answer(SAM, "yes")
    await bot.answer(SAM, "!mydata")
    (item,) = [o for o in bot.outbox() if o.action == "file"]
    assert item.file is not None
    with open(item.file, encoding="utf-8") as file:  # noqa: ASYNC230 (a test)
        stored = json.load(file)["stored"]
    assert [r["project"] for r in stored["project_members"]] == [NAME]
    assert [r["state"] for r in stored["project_invitations"]] == ["accepted"]
    assert stored["project_consents"][0]["terms"] == terms()
