"""Unit tests for the dispatcher and worker, with a real SQLite store.

People's messages go into the inbox as the adapter's sync would store them, the
real Worker handles them with the real adapter (built without logging in), and
replies are read back from the outbox table: a ``LocalBot``, see tests/localbot.py.
How Matrix events themselves are read (notices, display names) is in
tests/test_matrix_events.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_messages import not_for_people

from bot.context import Context, UserError
from bot.messages import Entry, Messages
from bot.registry import Command, CommandSet
from bot.roles import Role, role_of
from bot.scheduler import WAKE_ID, schedule
from bot.signals import Signals
from bot.worker import Worker
from commands import build_registry
from localbot import (
    ALICE,
    CHRIS,
    DM,
    EXAMPLES,
    GROUP,
    MESSAGES,
    PAT,
    SAM,
    LocalBot,
    Reply,
    make_bots,
    person_named,
    say,
)
from storage import roles as role_store

JO = person_named("jo")  # neither team nor champion, until a test makes them one


# ----- a bot without a homeserver ------------------------------------------------


class Bot(LocalBot):
    """A bot in a group room and a direct chat (with whom, it does not know)."""

    direct_chats = {DM: None}

    def audit(self) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.subject) for e in role_store.audit_log(self.db)]


MakeBot = Callable[..., Bot]


@pytest.fixture
def make_bot(tmp_path: Path) -> Iterator[MakeBot]:
    """``make_bot(team=..., champions=..., prefix=..., extra=..., messages=...)``."""
    with make_bots(Bot, tmp_path, handlers_may_fail=True) as make:
        yield make


@pytest.fixture
def bot(make_bot: MakeBot) -> Bot:
    return make_bot()


# ----- commands made up for these tests -------------------------------------------


class Crash(BaseException):
    """Stands in for the process dying in the middle of a batch."""


def extra_commands() -> CommandSet:
    cs = CommandSet("test")

    @cs.command("echo", summary="ping.summary")
    async def echo(ctx: Context) -> None:
        ctx.reply_text(f"args=[{ctx.args}]")

    @cs.command("champion", summary="ping.summary")
    async def champion(ctx: Context) -> None:
        ctx.reply_text(f"champion alone, args=[{ctx.args}]")

    @cs.command("note", summary="ping.summary")
    async def note(ctx: Context) -> None:
        role_store.audit(ctx.db, ctx.sender, "note", ctx.args)
        ctx.reply("ping.pong")

    @cs.command("note then fix", summary="ping.summary")
    async def note_then_user_error(ctx: Context) -> None:
        role_store.audit(ctx.db, ctx.sender, "note", ctx.args)
        ctx.reply("ping.pong")
        raise UserError("champion.bad_id", text=ctx.args)

    @cs.command("note then boom", summary="ping.summary")
    async def note_then_boom(ctx: Context) -> None:
        role_store.audit(ctx.db, ctx.sender, "note", ctx.args)
        ctx.reply("ping.pong")
        raise RuntimeError("database password is hunter2")

    crashes = itertools.count()

    @cs.command("note then crash", summary="ping.summary")
    async def note_then_crash(ctx: Context) -> None:
        """Dies the first time it runs, after writing and replying."""
        role_store.audit(ctx.db, ctx.sender, "note", ctx.args)
        ctx.reply("ping.pong")
        if next(crashes) == 0:
            raise Crash()

    return cs


@pytest.fixture
def test_bot(make_bot: MakeBot) -> Bot:
    """A bot with the real commands plus the test ones."""
    return make_bot(extra=extra_commands())


# ----- finding the command -----------------------------------------------------------


async def test_longest_command_wins(test_bot: Bot) -> None:
    assert await test_bot.ask("!champion list") == ["champion alone, args=[list]"]
    assert await test_bot.ask(f"!champion add {JO}", sender=ALICE) == [
        say("champion.added", person=JO)
    ]
    assert await test_bot.ask("!champions", sender=ALICE) == [
        say("champion.list", count=2, people=f"{CHRIS}, {JO}")
    ]


async def test_command_words_ignore_case_but_arguments_keep_it(test_bot: Bot) -> None:
    assert await test_bot.ask("!PING") == [say("ping.pong")]
    assert await test_bot.ask("!Echo Hello  World") == ["args=[Hello  World]"]
    assert await test_bot.ask("!Note Then FIX Keep This") == [
        say("champion.bad_id", text="Keep This")
    ]


async def test_arguments_may_span_lines(test_bot: Bot) -> None:
    assert await test_bot.ask("!echo first\nSecond line") == ["args=[first\nSecond line]"]


async def test_unknown_command(bot: Bot) -> None:
    assert await bot.ask("!xyzzy me") == [say("errors.unknown_command", command="!xyzzy")]


async def test_unknown_command_near_a_known_one_gets_a_suggestion(bot: Bot) -> None:
    assert await bot.ask("!hepl me") == [
        say("errors.did_you_mean", command="!hepl", suggestion="!help me")
    ]


async def test_unknown_command_is_shown_short(bot: Bot) -> None:
    (reply,) = await bot.ask("!" + "x" * 500)
    assert reply == say("errors.unknown_command", command="!" + "x" * 40)


async def test_replies_are_replies_in_the_same_room(bot: Bot) -> None:
    event_id = bot.message("!ping", room_id=GROUP)
    await bot.run()
    assert bot.replies() == [Reply(GROUP, say("ping.pong"), event_id)]
    assert bot.inbox_state(event_id) == "done"


# ----- messages that are not commands -----------------------------------------------------


async def test_plain_message_in_a_dm_is_feedback_and_consent_comes_first(bot: Bot) -> None:
    assert await bot.ask("hello there", room_id=DM) == []
    assert [r.text for r in bot.replies()] == [say("feedback.consent_intro")]
    assert bot.count("feedback") == 0  # nothing saved before a yes


async def test_a_direct_chat_someone_else_joined_is_not_private(bot: Bot) -> None:
    bot.joins(PAT, DM)
    assert await bot.ask("hello there", room_id=DM) == []
    assert bot.replies() == []  # not taken as private feedback: Pat would read it
    bot.leaves(PAT, DM)
    await bot.ask("hello again", room_id=DM)
    assert [r.text for r in bot.replies()] == [say("feedback.consent_intro")]


async def test_a_bare_prefix_gets_a_hint(bot: Bot) -> None:
    assert await bot.ask("!", room_id=DM) == [say("dm.hint")]


async def test_plain_message_in_a_group_gets_nothing(bot: Bot) -> None:
    event_id = bot.message("hello there", room_id=GROUP)
    await bot.run()
    assert bot.replies() == []
    assert bot.inbox_state(event_id) == "done"


# ----- permission -------------------------------------------------------------------------


async def test_member_may_not_run_a_team_command(bot: Bot) -> None:
    replies = await bot.ask(f"!champion add {JO}", sender=SAM)
    assert replies == [say("errors.not_allowed", who=say("roles.team"))]
    assert role_store.granted_role(bot.db, JO) is None
    assert bot.count("roles") == 0
    assert bot.count("audit_log") == 0


async def test_champion_may_not_run_a_team_command(bot: Bot) -> None:
    assert await bot.ask("!champions", sender=CHRIS) == [
        say("errors.not_allowed", who=say("roles.team"))
    ]


def test_role_of_order(make_bot: MakeBot) -> None:
    both = person_named("both")
    bot = make_bot(team=[ALICE, both], champions=[CHRIS, both])
    with bot.store.write() as db:
        role_store.grant(db, ALICE, "champion", actor=ALICE)
        role_store.grant(db, JO, "champion", actor=ALICE)
    assert role_of(bot.config, bot.db, ALICE) == Role.TEAM  # config team beats a grant
    assert role_of(bot.config, bot.db, both) == Role.TEAM  # team beats config champion
    assert role_of(bot.config, bot.db, CHRIS) == Role.CHAMPION
    assert role_of(bot.config, bot.db, JO) == Role.CHAMPION
    assert role_of(bot.config, bot.db, SAM) == Role.MEMBER


@pytest.mark.parametrize(
    "who",
    ["@Alice:council.test", "@alice:COUNCIL.test", "@alice:council.test ", "alice", "Alice"],
)
def test_role_of_needs_the_exact_id(bot: Bot, who: str) -> None:
    assert role_of(bot.config, bot.db, who) == Role.MEMBER


def test_only_champion_can_be_granted_in_chat(bot: Bot) -> None:
    with bot.store.write() as db:
        role_store.grant(db, SAM, "team", actor="@someone:council.test")
    assert role_of(bot.config, bot.db, SAM) == Role.MEMBER


# ----- errors inside handlers ------------------------------------------------------------


async def test_user_error_rolls_back_but_replies(test_bot: Bot) -> None:
    event_id = test_bot.message("!note then fix oops")
    await test_bot.run()
    assert test_bot.replies() == [Reply(GROUP, say("champion.bad_id", text="oops"), event_id)]
    assert test_bot.count("audit_log") == 0  # the handler's write was undone
    assert test_bot.inbox_state(event_id) == "done"


async def test_a_failing_handler_does_not_stop_the_bot(test_bot: Bot) -> None:
    boom = test_bot.message("!note then boom first")
    after = test_bot.message("!note second")
    await test_bot.run()

    assert test_bot.inbox_state(boom) == "failed"
    assert test_bot.inbox_state(after) == "done"
    ((ref, dead_event, error),) = test_bot.db.execute(
        "SELECT ref, event_id, error FROM dead_letters"
    ).fetchall()
    assert dead_event == boom
    assert "hunter2" in error  # the team can see what went wrong...

    apology = [r for r in test_bot.replies() if r.reply_to == boom]
    assert [r.text for r in apology] == [say("errors.internal", ref=ref)]
    assert ref in apology[0].text
    assert "hunter2" not in apology[0].text  # ...the person never does
    assert "RuntimeError" not in apology[0].text

    # Only the second note was kept; the first handler's write and reply were undone.
    assert test_bot.audit() == [(SAM, "note", "second")]
    assert [r.text for r in test_bot.replies() if r.reply_to == after] == [say("ping.pong")]


async def test_each_failure_has_its_own_reference(test_bot: Bot) -> None:
    test_bot.message("!note then boom 1")
    test_bot.message("!note then boom 2")
    await test_bot.run()
    refs = {row[0] for row in test_bot.db.execute("SELECT ref FROM dead_letters")}
    assert len(refs) == 2


async def test_a_crash_mid_batch_replays_everything_once(test_bot: Bot) -> None:
    before = test_bot.message("!note before")
    crash = test_bot.message("!note then crash now")
    with pytest.raises(Crash):
        await test_bot.run()
    # Nothing of the batch was kept: no notes, no replies, all still pending.
    assert test_bot.count("audit_log") == 0
    assert test_bot.replies() == []
    assert test_bot.inbox_state(before) == test_bot.inbox_state(crash) == "pending"

    # After a restart the same events are handled, once each.
    await test_bot.run()
    assert test_bot.audit() == [(SAM, "note", "now"), (SAM, "note", "before")]
    assert [r.reply_to for r in test_bot.replies()] == [before, crash]


async def test_replaying_changes_nothing(test_bot: Bot) -> None:
    event_id = test_bot.message("!note once")
    assert await test_bot.run() == 1
    outbox_before = test_bot.count("outbox")

    assert await test_bot.run() == 0  # the worker runs again over the same inbox
    assert test_bot.again(event_id) == 0  # and the same event arrives again from sync
    assert await test_bot.run() == 0

    assert test_bot.count("outbox") == outbox_before == 1
    assert test_bot.audit() == [(SAM, "note", "once")]


async def test_apology_may_use_the_prefix(make_bot: MakeBot) -> None:
    entries = {e.key: e for e in MESSAGES}
    entries["errors.internal"] = Entry(
        "errors.internal",
        "Sorry, something went wrong. Tell the team {ref}, or type {prefix}help.",
        {"ref": "3F9A1C"},
    )
    test_bot = make_bot(extra=extra_commands(), messages=Messages(entries))
    boom = test_bot.message("!note then boom")
    await test_bot.run()
    assert test_bot.inbox_state(boom) == "failed"
    (reply,) = test_bot.replies()
    assert reply.text.endswith("or type !help.")


# ----- champions --------------------------------------------------------------------------


async def test_champion_add(bot: Bot) -> None:
    assert await bot.ask(f"!champion add {JO}", sender=ALICE) == [say("champion.added", person=JO)]
    assert role_store.granted_role(bot.db, JO) == "champion"
    assert role_of(bot.config, bot.db, JO) == Role.CHAMPION
    assert bot.audit() == [(ALICE, "grant champion", JO)]


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ("Jo", "Jo"),
        ("", "nothing"),
        ("@Jo:council.test", "@Jo:council.test"),
        ("jo:council.test", "jo:council.test"),
        (f"{JO} {SAM}", JO),
    ],
    ids=["a name", "nothing", "capital letters", "no @", "two people"],
)
async def test_champion_add_needs_one_full_id(bot: Bot, args: str, shown: str) -> None:
    assert await bot.ask(f"!champion add {args}", sender=ALICE) == [
        say("champion.bad_id", text=shown)
    ]
    assert bot.count("roles") == 0
    assert bot.audit() == []


async def test_champion_add_twice(bot: Bot) -> None:
    await bot.ask(f"!champion add {JO}", sender=ALICE)
    assert await bot.ask(f"!champion add {JO}", sender=ALICE) == [
        say("champion.already", person=JO)
    ]
    assert bot.audit() == [(ALICE, "grant champion", JO)]


async def test_champion_add_someone_in_the_config(bot: Bot) -> None:
    assert await bot.ask(f"!champion add {CHRIS}", sender=ALICE) == [
        say("champion.already", person=CHRIS)
    ]
    assert bot.count("roles") == 0
    assert bot.audit() == []


async def test_champion_remove(bot: Bot) -> None:
    await bot.ask(f"!champion add {JO}", sender=ALICE)
    assert await bot.ask(f"!champion remove {JO}", sender=ALICE) == [
        say("champion.removed", person=JO)
    ]
    assert role_of(bot.config, bot.db, JO) == Role.MEMBER
    assert bot.audit() == [
        (ALICE, "revoke champion", JO),
        (ALICE, "grant champion", JO),
    ]


async def test_champion_remove_someone_in_the_config(bot: Bot) -> None:
    assert await bot.ask(f"!champion remove {CHRIS}", sender=ALICE) == [
        say("champion.in_config", person=CHRIS)
    ]
    assert role_of(bot.config, bot.db, CHRIS) == Role.CHAMPION
    assert bot.audit() == []


async def test_champion_remove_someone_who_is_not_one(bot: Bot) -> None:
    assert await bot.ask(f"!champion remove {SAM}", sender=ALICE) == [
        say("champion.not_one", person=SAM)
    ]
    assert bot.audit() == []


async def test_champion_remove_bad_id(bot: Bot) -> None:
    assert await bot.ask("!champion remove", sender=ALICE) == [
        say("champion.bad_id", text="nothing")
    ]


async def test_champion_remove_does_not_claim_success_while_config_keeps_them(
    make_bot: MakeBot,
) -> None:
    # Jo was made a champion in chat, and later also added to the config file.
    bot = make_bot(champions=[JO])
    with bot.store.write() as db:
        role_store.grant(db, JO, "champion", actor=ALICE)
    replies = await bot.ask(f"!champion remove {JO}", sender=ALICE)
    still = role_of(bot.config, bot.db, JO)
    assert still == Role.CHAMPION
    assert replies == [say("champion.in_config", person=JO)]


async def test_champions_list(bot: Bot) -> None:
    await bot.ask(f"!champion add {JO}", sender=ALICE)
    assert await bot.ask("!champions", sender=ALICE) == [
        say("champion.list", count=2, people=f"{CHRIS}, {JO}")
    ]


async def test_champions_list_when_there_are_none(make_bot: MakeBot) -> None:
    bot = make_bot(champions=[])
    assert await bot.ask("!champions", sender=ALICE) == [say("champion.none")]


# ----- help -------------------------------------------------------------------------------

# !help: what everyone can do, part by part, then (for champions and the team) one
# line per part where they can do more; !help <part> shows all of it they may run.
SECTIONS = sorted({c.section for c in build_registry()} - {"basics"})


def help_line(cmd: Command, prefix: str = "!") -> str:
    someone, someone_else = EXAMPLES
    usage = prefix + cmd.usage.format(someone=someone, someone_else=someone_else)
    return say("help.line", prefix, usage=usage, summary=say(cmd.summary, prefix))


def more_line(section: str, prefix: str = "!") -> str:
    summary = say(f"help.more.{section}", prefix)
    return say("help.line", prefix, usage=f"{prefix}help {section}", summary=summary)


HEADINGS = {say(f"help.section.{s}") for s in SECTIONS} | {
    say("help.more_intro"),
    say("help.staff_heading"),
}


def command_lines(help_text: str) -> list[str]:
    """The lines of a help answer that describe a command (not headings or gaps)."""
    lines = help_text.split("\n")
    return [line for line in lines if line and line not in HEADINGS and line != say("help.intro")]


async def every_part(bot: Bot, sender: str, prefix: str = "!") -> set[str]:
    """The command lines of ``!help <part>`` for every part."""
    shown: set[str] = set()
    for section in SECTIONS:
        (text,) = await bot.ask(f"{prefix}help {section}", sender=sender, room_id=DM)
        shown |= {line for line in command_lines(text) if not line.startswith(f"{prefix}help")}
    return shown


@pytest.mark.parametrize(
    ("sender", "role"), [(SAM, Role.MEMBER), (CHRIS, Role.CHAMPION), (ALICE, Role.TEAM)]
)
async def test_help_lists_exactly_what_the_asker_may_run(bot: Bot, sender: str, role: Role) -> None:
    registry = build_registry()
    allowed = [c for c in registry if c.required_role(bot.config) <= role]
    (text,) = await bot.ask("!help", sender=sender, room_id=DM)
    assert text.split("\n")[0] == say("help.intro")
    more = sorted({c.section for c in allowed if not c.for_everyone(bot.config)})
    everyone = [help_line(c) for c in allowed if c.for_everyone(bot.config)]
    assert sorted(command_lines(text)) == sorted(everyone + [more_line(s) for s in more])
    assert await every_part(bot, sender) | set(everyone) == {help_line(c) for c in allowed}


@pytest.mark.parametrize("sender", [SAM, CHRIS])
async def test_help_hides_team_commands_from_others(bot: Bot, sender: str) -> None:
    (text,) = await bot.ask("!help", sender=sender, room_id=DM)
    assert "!help" in text and "!ping" in text
    assert "champion" not in text
    assert say("help.section.team") not in text
    assert not any("champion" in line for line in await every_part(bot, sender))


async def test_help_for_the_team_has_a_team_section(bot: Bot) -> None:
    (text,) = await bot.ask("!help team", sender=ALICE)
    lines = text.split("\n")
    assert lines[0] == say("help.section.team")
    for cmd in ("champion add @sam:council.org", "champion remove @sam:council.org", "champions"):
        assert any(line.startswith(f"!{cmd}: ") for line in lines[1:]), cmd
    assert not any(line.startswith("!ping: ") for line in lines)


async def test_help_keeps_organisers_commands_apart(bot: Bot) -> None:
    """What everyone can do comes first; champions' and the team's is a short part after."""
    everyone = {help_line(c) for c in build_registry() if c.for_everyone(bot.config)}
    (member,) = await bot.ask("!help", sender=SAM, room_id=DM)
    (team,) = await bot.ask("!help", sender=ALICE, room_id=DM)
    assert team.startswith(member + "\n\n" + say("help.more_intro") + "\n")
    assert len(team.split("\n")) <= len(member.split("\n")) + 1 + len(SECTIONS)
    workshops = say("help.section.workshops")
    part = team.split(workshops + "\n", 1)[1].split("\n\n", 1)[0].split("\n")
    assert part and set(part) <= everyone  # "you can go to": nothing for organisers only
    (text,) = await bot.ask("!help workshops", sender=CHRIS, room_id=DM)
    first, organisers = text.split("\n\n" + say("help.staff_heading") + "\n")
    assert set(first.split("\n")[1:]) <= everyone
    assert "!workshop new" in organisers and "!going" not in organisers
    assert (await bot.ask("!help going", sender=CHRIS, room_id=DM)) == [text]  # by a command
    assert (await bot.ask("!help workshops", sender=SAM, room_id=DM)) == [first]
    assert (await bot.ask("!help bananas", sender=SAM, room_id=DM)) == [member]


async def test_help_uses_the_configured_prefix(make_bot: MakeBot) -> None:
    bot = make_bot(prefix="?")
    (text,) = await bot.ask("?help", sender=ALICE)
    assert "?ping" in text and "?help team" in text
    assert await every_part(bot, ALICE, "?") | set(command_lines(text)) >= {
        help_line(c, "?") for c in build_registry()
    }
    (team,) = await bot.ask("?help team", sender=ALICE)
    assert "?champion add @sam:council.org" in team
    assert "!" not in text + team
    assert await bot.ask("!help", room_id=GROUP) == []  # not a command with this prefix
    assert await bot.ask("?", room_id=DM) == [say("dm.hint", prefix="?")]
    assert await bot.ask("?nope", room_id=DM) == [
        say("errors.unknown_command", prefix="?", command="?nope")
    ]


async def test_help_puts_what_people_come_for_first(bot: Bot) -> None:
    (text,) = await bot.ask("!help", sender=ALICE, room_id=DM)
    lines = text.split("\n")
    assert lines[1:3] == [help_line(c) for c in build_registry() if c.section == "basics"]
    headings = [line for line in lines if line.endswith(":") and not line.startswith("!")]
    assert headings[:3] == [say("help.section.feedback"), say("help.section.polls"),
                            say("help.section.workshops")]  # fmt: skip
    assert headings[-1] == say("help.more_intro")
    more = [line.split(":")[0] for line in lines[lines.index(say("help.more_intro")) + 1 :]]
    assert more[-2:] == ["!help team", "!help export"]


@pytest.mark.parametrize("sender", [SAM, CHRIS, ALICE])
async def test_help_shows_no_placeholders_or_jargon(bot: Bot, sender: str) -> None:
    """Usage is written as an example (!going 2), in words a person knows."""
    texts = [await bot.ask(f"!help {part}", sender=sender, room_id=DM) for part in ["", *SECTIONS]]
    for (text,) in texts:
        assert not_for_people(text) == [], text


# ----- the worker's loop: woken through the shared signals --------------------------


async def test_the_worker_wakes_when_the_inbox_says_so_and_then_wakes_the_sender(
    bot: Bot,
) -> None:
    signals = Signals()
    worker = Worker(bot.store, bot.dispatcher, bot.adapter, signals=signals, now=bot.clock.now)
    running = asyncio.create_task(worker.run())
    try:
        event_id = bot.message("!ping", room_id=DM)
        signals.received.set()  # as the sync does once it has stored what came
        await asyncio.wait_for(signals.to_send.wait(), 10)
        assert signals.scheduled.is_set()  # the scheduler looks again for new jobs
        assert bot.replies_to(event_id) == [say("ping.pong")]
        assert not signals.received.is_set()  # taken: the next sync wakes it again
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_the_scheduler_wake_up_is_set_again_only_when_the_earliest_job_changes(
    bot: Bot,
) -> None:
    bot.clock.time = datetime.now(UTC) + timedelta(days=10)  # nothing falls due in the test
    bot.scheduler.start()
    try:
        aps = bot.scheduler._aps
        assert aps is not None
        armed = aps.get_job(WAKE_ID)  # for the daily jobs, a minute after the start
        bot.scheduler.refresh()  # as after a batch that added no job
        assert aps.get_job(WAKE_ID) is armed
        earlier = (bot.clock.time - timedelta(days=1)).replace(microsecond=0)
        with bot.store.write() as db:
            schedule(db, "poll_close", "1", earlier, platform=bot.adapter.name)
        bot.scheduler.refresh()
        assert aps.get_job(WAKE_ID).next_run_time == earlier
        aps.remove_job(WAKE_ID)  # as APScheduler does when it wakes the bot
        bot.scheduler.refresh()
        assert aps.get_job(WAKE_ID).next_run_time == earlier
    finally:
        bot.scheduler.stop()
