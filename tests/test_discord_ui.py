"""Discord's own controls, with the real ``DiscordAdapter`` against the fake Discord
and the real worker and dispatcher: slash commands made from the registry, and
questions with buttons or a menu, answered by a press or by typing as before."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from discordbot import Running, content, discord_server

from bot.context import Choice, Choices
from bot.discord.interactions import components, typed_answer
from bot.discord.sending import message_bodies
from bot.discord.slash import NAME, WORDS, slash_commands, typed_command
from bot.messages import Messages
from commands import build_registry
from fakediscord import FakeDiscord, Person
from fakediscord.model import Message as FakeMessage
from storage import feedback_consents, inbox, profiles, projects, workshops

MESSAGES = Messages.load()


def say(key: str, **values: object) -> str:
    return MESSAGES.get(key, prefix="!", **values)


# ----- the pure parts ---------------------------------------------------------


def test_slash_commands_cover_every_first_word_within_discords_limits() -> None:
    registry = build_registry()
    specs = slash_commands(registry, say)
    names = [s["name"] for s in specs]
    assert sorted(names) == sorted({c.words[0] for c in registry})
    for spec in specs:
        assert NAME.fullmatch(spec["name"]) and 1 <= len(spec["description"]) <= 100
        [option] = spec["options"]
        assert option["name"] == WORDS and option["type"] == 3 and not option["required"]
        assert len(option["description"]) <= 100
    ping = next(s for s in specs if s["name"] == "ping")
    assert ping["description"] == say("ping.summary")


def test_a_slash_command_reads_as_the_command_typed() -> None:
    data = {"name": "poll", "options": [{"name": WORDS, "type": 3, "value": "results 3"}]}
    assert typed_command("!", data) == "!poll results 3"
    assert typed_command("!", {"name": "ping"}) == "!ping"


def test_yes_and_no_are_two_labelled_buttons_for_the_person_asked() -> None:
    choices = Choices((Choice("yes", "Yes"), Choice("no", "No")))
    [row] = components("discord:42", choices)
    buttons = row["components"]
    assert [b["label"] for b in buttons] == ["Yes", "No"]
    assert {b["style"] for b in buttons} == {2}  # neither is pushed
    assert [typed_answer({"custom_id": b["custom_id"]}) for b in buttons] == ["yes", "no"]
    assert components("@sam:example.org", choices) == []  # not Discord's


def test_a_list_is_a_menu_and_a_long_one_is_typed() -> None:
    many = Choices(tuple(Choice(str(n), f"Project {n}") for n in range(1, 4)), from_list=True)
    [row] = components("discord:42", many)
    [menu] = row["components"]
    assert menu["type"] == 3 and [o["value"] for o in menu["options"]] == ["1", "2", "3"]
    assert typed_answer({"custom_id": menu["custom_id"], "values": ["2"]}) == "2"
    too_many = Choices(tuple(Choice(str(n), "x") for n in range(30)), from_list=True)
    assert components("discord:42", too_many) == []


# ----- against the fake Discord ---------------------------------------------


@dataclass
class World:
    fake: FakeDiscord
    bot: Running
    general: int
    sam: Person
    alex: Person
    team: Person


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    def team(people: dict[str, Person]) -> str:
        tess = f"discord:{people['tess'].id}"
        return f"[people]\nteam = {json.dumps([tess])}\n"

    async with discord_server(tmp_path, ("sam", "alex", "tess"), config=team) as server:
        fake, running = server.fake, server.bot
        await running.until(lambda: fake.world.interactions.commands, "the slash commands")
        sam, alex, tess = (server.people[n] for n in ("sam", "alex", "tess"))
        yield World(fake, running, server.general, sam, alex, tess)


def buttons(message: FakeMessage) -> dict[str, str]:
    """A posted message's buttons: {label: custom_id}."""
    return {
        b["label"]: b["custom_id"]
        for row in message.components
        for b in row["components"]
        if b["type"] == 2
    }


async def question(world: World, channel: int, count: int = 1) -> FakeMessage:
    """The ``count``-th message the bot posted in ``channel``, once it is there."""
    return (await world.fake.wait_posted(count, channel))[count - 1]


def words(person: Person, world: World) -> list[str]:
    rows = world.bot.db.execute(
        "SELECT text FROM feedback WHERE user_id = ?", [f"discord:{person.user.id}"]
    ).fetchall()
    return [r[0] for r in rows]


async def test_the_servers_slash_commands_come_from_the_registry(world: World) -> None:
    [(key, made)] = world.fake.world.interactions.commands.items()
    assert key[1] == world.fake.world.channel(world.general).guild_id
    names = {c["name"] for c in made}
    assert {"ping", "help", "feedback", "forget"} <= names


async def test_slash_ping_is_answered_in_time_and_once(world: World) -> None:
    used = world.sam.command(world.general, "ping")
    [reply] = await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    assert reply.content == content(say("ping.pong"))
    interaction = world.fake.interaction(used)
    assert interaction.response == 5  # deferred at once, then filled in
    assert interaction.answered_at is not None and interaction.answered_at - interaction.at < 3
    assert reply.interaction_id == used and len(world.fake.posted(world.general)) == 1
    stored = inbox.get(world.bot.db, f"discord:interaction:{used}")
    assert stored is not None and stored.platform == "discord"


async def test_a_slash_command_not_allowed_is_refused_as_with_the_prefix(world: World) -> None:
    world.sam.send(world.general, "!impact")
    [typed] = await world.fake.wait_posted(1, world.general)
    world.sam.command(world.general, "impact")
    slashed = (await world.fake.wait_posted(2, world.general))[1]
    assert slashed.content == typed.content
    assert typed.content == content(say("errors.not_allowed", who=say("roles.team")))


async def test_slash_help_shows_what_the_asker_may_do(world: World) -> None:
    world.sam.command(world.general, "help")
    for_sam = await question(world, world.general)
    world.team.command(world.general, "help")
    for_team = await question(world, world.general, 2)
    world.sam.send(world.general, "!help")
    typed = await question(world, world.general, 3)
    assert for_sam.content == typed.content
    assert say("help.staff_heading") not in for_sam.content
    assert for_team.content != for_sam.content


async def test_consent_by_button(world: World) -> None:
    world.sam.dm("The bus to the day centre is always late")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    assert list(buttons(asked)) == [
        say("choices.yes"),
        say("choices.no"),
        say("feedback.write_here"),
    ]
    press = world.sam.press(asked.id, buttons(asked)[say("choices.yes")])
    name = await question(world, dm, 2)
    assert name.content == content(say("feedback.ask_name"))
    assert world.fake.interaction(press).response == 6  # acknowledged, question unchanged
    world.sam.press(name.id, buttons(name)[say("choices.yes")])
    await question(world, dm, 3)
    await world.bot.settled()
    assert words(world.sam, world) == ["The bus to the day centre is always late"]
    assert feedback_consents.consent(world.bot.db, f"discord:{world.sam.user.id}") is True


async def test_consent_by_typed_yes_still_works(world: World) -> None:
    world.sam.dm("The library needs longer hours")
    dm = world.sam.dm_channel()
    await question(world, dm)
    world.sam.dm("yes")
    name = await question(world, dm, 2)
    assert name.content == content(say("feedback.ask_name"))
    world.sam.dm("no")  # kept without their name
    await question(world, dm, 3)
    await world.bot.settled()
    rows = world.bot.db.execute("SELECT text, user_id FROM feedback").fetchall()
    assert [tuple(r) for r in rows] == [("The library needs longer hours", None)]


async def test_a_press_by_someone_else_is_refused_privately(world: World) -> None:
    world.sam.dm("The lifts are broken")
    asked = await question(world, world.sam.dm_channel())
    pressed = world.alex.press(asked.id, buttons(asked)[say("choices.yes")])
    refusal = await world.fake.wait_for(
        lambda: [m for m in world.fake.posted() if m.interaction_id == pressed]
    )
    assert refusal[0].content == say("discord.not_yours") and refusal[0].flags & 64
    await world.bot.settled()
    assert inbox.get(world.bot.db, f"discord:interaction:{pressed}") is None
    assert feedback_consents.consent(world.bot.db, f"discord:{world.sam.user.id}") is None
    assert words(world.sam, world) == []


async def test_a_press_is_handled_once_across_a_crash(world: World) -> None:
    world.sam.dm("The park gates are locked early")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    pressed = world.sam.press(asked.id, buttons(asked)[say("choices.yes")])
    event_id = f"discord:interaction:{pressed}"
    await world.bot.until(lambda: inbox.get(world.bot.db, event_id), "the press stored")
    await world.bot.stop()  # a crash: the press may or may not have been handled
    await world.bot.start()
    await world.fake.wait_posted(2, dm)
    await world.bot.settled()
    assert len(world.fake.posted(dm)) == 2  # the consent question, then the name question
    assert words(world.sam, world) == ["The park gates are locked early"]
    count = world.bot.db.execute("SELECT COUNT(*) FROM inbox WHERE event_id = ?", [event_id])
    assert count.fetchone()[0] == 1


async def test_a_slash_reply_goes_once_across_a_crash(world: World) -> None:
    used = world.sam.command(world.general, "ping")
    event_id = f"discord:interaction:{used}"
    await world.bot.until(lambda: inbox.get(world.bot.db, event_id), "the command stored")
    await world.bot.stop()
    await world.bot.start()
    await world.fake.wait_posted(1, world.general)
    await world.bot.settled()
    assert [m.content for m in world.fake.posted(world.general)] == [content(say("ping.pong"))]


async def test_which_project_is_a_menu_with_a_typed_fallback(world: World) -> None:
    now = datetime.now(UTC)
    async with world.bot.store.writing() as db:  # type: ignore[union-attr]
        for name in ("Day centres", "Better buses"):
            number = projects.create(
                db,
                name=name,
                summary="s",
                created_by="x",
                created_in="y",
                command_event=None,
                at=now,
            )
            db.execute("UPDATE projects SET state = 'ready' WHERE id = ?", [number])
    world.sam.dm("The day centre is lovely")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    world.sam.press(asked.id, buttons(asked)[say("choices.yes")])
    which = await question(world, dm, 2)
    [row] = which.components
    [menu] = row["components"]
    labels = [o["label"] for o in menu["options"]]
    assert menu["type"] == 3 and labels == [
        "Day centres",
        "Better buses",
        say("feedback.choice_none"),
    ]
    world.sam.press(which.id, menu["custom_id"], ["2"])
    await question(world, dm, 3)
    await world.bot.settled()
    chosen = world.bot.db.execute("SELECT project_id FROM feedback").fetchone()[0]
    assert projects.get(world.bot.db, chosen).name == "Better buses"  # type: ignore[union-attr]


async def test_a_longer_piece_can_be_written_in_a_box(world: World) -> None:
    world.sam.dm("The bins were not emptied")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    write = buttons(asked)[say("feedback.write_here")]
    pressed = world.sam.press(asked.id, write)
    await world.fake.wait_for(lambda: world.fake.interaction(pressed).response == 9)
    opened = world.fake.interaction(pressed).modal or {}
    assert opened["title"] == say("feedback.write_here")
    world.sam.submit(write, words="They have not been emptied for three weeks.")
    posted = await world.fake.wait_for(
        lambda: [m for m in world.fake.posted(dm) if buttons(m) and m.id != asked.id]
    )
    again = posted[-1]  # still waiting for a yes, with the words kept for it
    world.sam.press(again.id, buttons(again)[say("choices.yes")])
    name = await world.fake.wait_for(
        lambda: [m for m in world.fake.posted(dm) if m.content == content(say("feedback.ask_name"))]
    )
    world.sam.press(name[0].id, buttons(name[0])[say("choices.yes")])
    await world.bot.until(lambda: words(world.sam, world), "the feedback saved")
    await world.bot.settled()
    assert words(world.sam, world) == [
        "The bins were not emptied\n\nThey have not been emptied for three weeks."
    ]


async def test_a_press_replayed_by_a_resume_is_handled_once(world: World) -> None:
    world.sam.dm("The crossing needs a longer green light")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    await world.fake.drop()
    pressed = world.sam.press(asked.id, buttons(asked)[say("choices.yes")])  # comes on RESUME
    await world.fake.wait_posted(2, dm)
    await world.bot.settled()
    assert len(world.fake.resumes()) == 1
    assert world.fake.interaction(pressed).response == 6
    assert len(world.fake.posted(dm)) == 2
    assert words(world.sam, world) == ["The crossing needs a longer green light"]


async def test_forget_me_offers_its_three_ways_as_buttons(world: World) -> None:
    world.sam.dm("!forget me")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    ways = [say(f"privacy.forget_choice_{k}") for k in ("all", "keep_words", "keep")]
    assert list(buttons(asked)) == ways
    world.sam.press(asked.id, buttons(asked)[say("privacy.forget_choice_keep")])
    answer = await question(world, dm, 2)
    assert answer.content == content(say("privacy.forget_cancelled"))
    assert answer.reply_to == asked.id


async def test_a_press_on_a_question_already_answered_is_not_taken(world: World) -> None:
    world.sam.dm("!forget me")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    world.sam.dm("0")  # typed: keep everything
    await question(world, dm, 2)
    pressed = world.sam.press(asked.id, buttons(asked)[say("privacy.forget_choice_all")])
    told = await world.fake.wait_for(
        lambda: [m for m in world.fake.posted() if m.interaction_id == pressed]
    )
    assert told[0].content == say("discord.not_waiting") and told[0].flags & 64
    await world.bot.settled()
    assert inbox.get(world.bot.db, f"discord:interaction:{pressed}") is None
    assert len([m for m in world.fake.posted(dm) if m.ephemeral_for is None]) == 2


async def test_about_me_offers_a_menu_to_choose_several_from(world: World) -> None:
    world.sam.dm("!aboutme")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    [row] = asked.components
    [menu] = row["components"]
    assert menu["type"] == 3 and menu["max_values"] == len(menu["options"]) > 2
    world.sam.press(asked.id, menu["custom_id"], ["1", "2"])
    await question(world, dm, 2)
    await world.bot.settled()
    profile = profiles.get(world.bot.db, f"discord:{world.sam.user.id}")
    assert profile is not None and len(profile.relationships) == 2


async def test_access_needs_can_be_chosen_from_a_menu(world: World) -> None:
    world.team.send(world.general, "!workshop new Planning | in 3 days | Town Hall")
    await question(world, world.general)
    world.sam.send(world.general, "!going 1")
    dm = world.sam.dm_channel()
    asked = await question(world, dm)
    [row] = asked.components
    [menu] = row["components"]
    assert menu["options"][-1] == {"label": say("workshop.need_nothing"), "value": "0"}
    world.sam.press(asked.id, menu["custom_id"], ["1", "3"])
    await question(world, dm, 2)
    await world.bot.settled()
    needs = workshops.needs(world.bot.db, 1, f"discord:{world.sam.user.id}")
    assert needs is not None and needs.codes == ("bsl", "step_free")


def test_a_long_question_has_its_buttons_on_its_first_message() -> None:
    row = {"type": 1, "components": [{"type": 2, "label": "Yes", "custom_id": "answer:1:yes"}]}
    bodies = message_bodies("copro-abc", {"content": "word " * 900, "components": [row]})
    assert len(bodies) == 3
    assert [("components" in b) for b in bodies] == [True, False, False]
