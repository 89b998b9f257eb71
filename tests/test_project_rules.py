"""Projects: reading the commands, and who may do what (pure logic, no bot)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.context import UserError
from bot.roles import Role
from commands.project_rules import (
    FIRST_CHECK,
    LONGEST_CHECK,
    MOST_AT_ONCE,
    NAME_MOST,
    NewProject,
    check_again,
    clean_name,
    ends_invitations,
    join_is_a_yes,
    long_reply,
    may_ask_to_join,
    may_change,
    parse_details,
    parse_invite,
    parse_new,
    parse_set,
    parse_stage_command,
    shown_count,
    stored_changes,
    why_not_invite,
)
from storage.projects import (
    ACCEPTED,
    ASKED,
    CHECKING,
    DECLINED,
    LEFT,
    NO_SUCH_PERSON,
    REMINDED,
    WITHDRAWN,
)

_ID = re.compile(r"^@[a-z0-9._=/-]+:[a-z0-9.-]+$")


class People:
    """How a platform reads people's IDs (Matrix-like, for these pure rules)."""

    def person(self, text: str) -> str | None:
        return text if _ID.match(text) else None

    def meant_as_person(self, word: str) -> bool:
        return word.startswith("@")


PERSON = People()


def problem(call, *args, **kwargs) -> UserError:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError) as raised:
        call(*args, **kwargs)
    return raised.value


# ----- !project new ----------------------------------------------------------------


def test_a_new_project_with_every_detail() -> None:
    asked = parse_new(
        ' "Better  buses" | Making buses  fit | stage Deliver. | contact Jo, 01865 000000'
        " | budget £2,000 | open to all"
    )
    assert asked == NewProject(
        name="Better buses",
        summary="Making buses fit",
        stage="deliver",
        contact="Jo, 01865 000000",
        budget="£2,000",
        open_to_all=True,
    )


def test_a_new_project_needs_only_a_name_and_a_summary() -> None:
    assert parse_new("Better buses | Making buses fit") == NewProject(
        name="Better buses", summary="Making buses fit"
    )


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "project.new_how"),
        ("Better buses", "project.summary_needed"),
        ("Better buses |  ", "project.summary_needed"),
        ("x" * (NAME_MOST + 1) + " | s", "project.name_too_long"),
        ("Buses for @sam | s", "project.name_has_at"),
        ("New buses | s", "project.name_reserved"),
        ("Better buses | " + "s" * 301, "project.summary_too_long"),
        ("Better buses | s | colour red", "project.unknown_detail"),
        ("Better buses | s | about more", "project.unknown_detail"),
        ("Better buses | s | stage later", "project.bad_stage"),
        ("Better buses | s | contact", "project.detail_needs_words"),
        ("Better buses | s | budget " + "9" * 61, "project.detail_too_long"),
        ("Better buses | s | open | closed", "project.detail_twice"),
        ("Better buses | s | | open", "project.detail_empty"),
    ],
)
def test_what_is_wrong_with_project_new(args: str, key: str) -> None:
    assert problem(parse_new, args).key == key


def test_the_empty_detail_is_named_by_its_place() -> None:
    assert problem(parse_new, "Better buses | s | | open").values == {"number": 3}


# ----- !project set and !stage ------------------------------------------------------


def test_changing_the_summary_and_clearing_a_detail() -> None:
    name, changes = parse_set("Better buses | about Buses at the right time | contact none")
    assert name == "Better buses"
    assert changes == {"about": "Buses at the right time", "contact": None}
    assert stored_changes(changes) == {"contact": None, "summary": "Buses at the right time"}


def test_the_stage_is_not_a_stored_change() -> None:
    _, changes = parse_set("Better buses | stage review | invite only")
    assert changes == {"stage": "review", "open": False}
    assert stored_changes(changes) == {"open": False}


@pytest.mark.parametrize("args", ["Better buses", " | contact Jo"])
def test_project_set_needs_a_name_and_a_change(args: str) -> None:
    assert problem(parse_set, args).key == "project.set_how"


def test_a_detail_changes_only_when_changing() -> None:
    assert parse_details(["about more"], first_part=2, changing=True) == {"about": "more"}
    assert problem(parse_details, ["colour red"], first_part=2, changing=True).key == (
        "project.unknown_change"
    )


def test_the_stage_command() -> None:
    assert parse_stage_command("Better buses Review.") == ("Better buses", "review")
    assert problem(parse_stage_command, "review").key == "project.stage_how"
    assert problem(parse_stage_command, "Better buses soon").key == "project.bad_stage"


def test_only_done_ends_the_invitations() -> None:
    assert ends_invitations("done")
    assert not any(ends_invitations(s) for s in ("design", "deliver", "review"))


def test_names_lose_their_quotes_and_extra_spaces() -> None:
    assert clean_name(" “Better   buses” ") == "Better buses"


# ----- !invite ------------------------------------------------------------------------


def test_invite_reads_a_name_and_each_person_once() -> None:
    args = "Better buses @sam:council.org, @pat:council.org & @sam:council.org and @lee:c.org"
    assert parse_invite(args, PERSON) == (
        "Better buses",
        ["@sam:council.org", "@pat:council.org", "@lee:c.org"],
    )


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("Better buses", "project.invite_how"),
        ("@sam:council.org", "project.invite_how"),
        ("Better buses @sam", "project.bad_ids"),
        (
            "Better buses " + " ".join(f"@p{i}:council.org" for i in range(MOST_AT_ONCE + 1)),
            "project.too_many_people",
        ),
    ],
)
def test_what_is_wrong_with_invite(args: str, key: str) -> None:
    assert problem(parse_invite, args, PERSON).key == key


@pytest.mark.parametrize(
    ("state", "key"),
    [
        (None, None),
        (NO_SUCH_PERSON, None),
        (WITHDRAWN, None),
        (CHECKING, "project.already_invited"),
        (ASKED, "project.already_invited"),
        (REMINDED, "project.already_invited"),
        (DECLINED, "project.said_no"),
        (ACCEPTED, "project.left_before"),
        (LEFT, "project.left_before"),
    ],
)
def test_who_is_invited_again(state: str | None, key: str | None) -> None:
    assert why_not_invite(is_bot=False, is_member=False, earlier_state=state) == key


def test_the_bot_and_members_are_never_invited() -> None:
    assert why_not_invite(is_bot=True, is_member=False, earlier_state=None) == (
        "project.invite_not_me"
    )
    assert why_not_invite(is_bot=False, is_member=True, earlier_state=ACCEPTED) == (
        "project.already_in"
    )


# ----- who may do what -------------------------------------------------------------------


def test_the_team_and_whoever_started_it_may_change_a_project() -> None:
    assert may_change(Role.TEAM, "@pat:c.org", "@chris:c.org")
    assert may_change(Role.CHAMPION, "@chris:c.org", "@chris:c.org")
    assert not may_change(Role.CHAMPION, "@dana:c.org", "@chris:c.org")
    assert not may_change(Role.CHAMPION, "@dana:c.org", None)


def test_who_may_join() -> None:
    assert may_ask_to_join(invited_before=False, open_to_all=True)
    assert may_ask_to_join(invited_before=True, open_to_all=False)
    assert not may_ask_to_join(invited_before=False, open_to_all=False)
    assert join_is_a_yes(ASKED, terms_shown=True)
    assert join_is_a_yes(REMINDED, terms_shown=True)
    assert not join_is_a_yes(ASKED, terms_shown=False)
    assert not join_is_a_yes(DECLINED, terms_shown=True)
    assert not join_is_a_yes(None, terms_shown=False)


def test_a_long_reply_is_not_a_yes_or_no() -> None:
    assert not long_reply("yes I would like that")
    assert long_reply("what is this about and who else is in it")


def test_looking_again_soon_then_less_often() -> None:
    assert check_again(timedelta(0)) == FIRST_CHECK
    assert check_again(timedelta(minutes=4)) == timedelta(minutes=1)
    assert check_again(timedelta(days=1)) == LONGEST_CHECK


def test_groups_smaller_than_five_are_hidden() -> None:
    assert [shown_count(n) for n in (0, 4, 5, 12)] == [None, None, 5, 12]
