"""What the project commands mean, and the rules they follow (pure logic).

Reading ``!project new``, ``!project set``, ``!stage`` and ``!invite``; who may
change a project; what an invitation to someone already asked becomes; who may
join; when to look again at something still on its way. Nothing here reads the
database or the network: each rule is given what it decides on. A problem the
person can fix raises ``UserError`` with its catalogue key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from bot.context import UserError, UserId
from bot.roles import Role
from commands.common import read_people
from storage.projects import (
    ACCEPTED,
    ANSWERABLE,
    DECLINED,
    LEFT,
    NO_SUCH_PERSON,
    STAGES,
    UNDELIVERABLE,
    WAITING,
)

NAME_MOST = 60
SUMMARY_MOST = 300
DETAIL_MOST = {"contact": 100, "budget": 60, "about": SUMMARY_MOST}
DETAIL_EXAMPLES = {
    "stage": "deliver",
    "contact": "Jo Smith, 01865 000000",
    "budget": "£2,000 for the year",
    "about": "Making the bus fit day centre times",
}
RESERVED_FIRST_WORDS = ("new", "set")  # "!project new ..." and "!project set ..."
MOST_AT_ONCE = 50
SMALLEST_GROUP = 5  # smaller groups are shown as "fewer than 5"
FIRST_CHECK = timedelta(seconds=5)
LONGEST_CHECK = timedelta(minutes=5)
BUSY_WAIT = timedelta(minutes=10)  # they are answering another question: ask a little later
BUSY_LONGEST = timedelta(days=1)  # then the invitation goes, without taking their reply
LONG_REPLY = 6  # words: a longer reply to the yes / no question is probably something else
FINAL_STAGE = "done"  # nobody new joins; waiting invitations are withdrawn

_QUOTES = "\"'“”‘’"
_OPEN = {"open", "open to all", "open to everyone", "anyone can join"}
_INVITE_ONLY = {"invite only", "invitation only", "by invitation", "closed"}
_NOTHING = {"none", "no", "nothing", "-"}


@dataclass(frozen=True)
class NewProject:
    """What ``!project new`` asked for."""

    name: str
    summary: str
    stage: str = "design"
    contact: str | None = None
    budget: str | None = None
    open_to_all: bool = False


# ----- reading the commands -----------------------------------------------------


def clean_name(text: str) -> str:
    """A project's name as typed: quotes and extra spaces taken off."""
    return " ".join(text.strip().strip(_QUOTES).split())


def check_name(name: str) -> None:
    if len(name) > NAME_MOST:
        raise UserError("project.name_too_long", length=len(name), most=NAME_MOST)
    if "@" in name:
        raise UserError("project.name_has_at")
    first = name.split()[0].lower()
    if first in RESERVED_FIRST_WORDS:
        raise UserError("project.name_reserved", word=first)


def parse_stage(word: str) -> str:
    """A stage as typed ("Deliver."), or a kind message naming the problem."""
    stage = word.lower().strip(".")
    if stage not in STAGES:
        raise UserError("project.bad_stage", stage=word[:30])
    return stage


def parse_details(parts: list[str], *, first_part: int, changing: bool) -> dict[str, object]:
    """The optional details after the name and summary, each after a ``|``:
    ``stage deliver``, ``contact <who>``, ``budget <how much>``, ``open``,
    ``invite only``; when changing, also ``about <new summary>``. ``contact none``
    and ``budget none`` clear them."""
    allowed = ("stage", "contact", "budget", *(("about",) if changing else ()))
    found: dict[str, object] = {}
    for number, part in enumerate(parts, first_part):
        words = " ".join(part.split())
        if not words:
            raise UserError("project.detail_empty", number=number)
        lowered = words.lower()
        value: object
        if lowered in _OPEN or lowered in _INVITE_ONLY:
            key, value = "open", lowered in _OPEN
        else:
            first, _, rest = words.partition(" ")
            key = first.lower().rstrip(":")
            if key not in allowed:
                raise UserError(
                    "project.unknown_change" if changing else "project.unknown_detail",
                    detail=words[:40],
                )
            if not rest:
                raise UserError(
                    "project.detail_needs_words", detail=key, example=DETAIL_EXAMPLES[key]
                )
            if key == "stage":
                value = parse_stage(rest)
            elif key != "about" and rest.lower() in _NOTHING:
                value = None
            elif len(rest) > DETAIL_MOST[key]:
                raise UserError(
                    "project.detail_too_long", detail=key, length=len(rest), most=DETAIL_MOST[key]
                )
            else:
                value = rest
        if key in found:
            raise UserError("project.detail_twice", detail=key)
        found[key] = value
    return found


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_new(args: str) -> NewProject:
    """``!project new Better buses | Making buses fit | stage deliver | open``."""
    parts = args.split("|")
    name = clean_name(parts[0])
    if not name:
        raise UserError("project.new_how")
    check_name(name)
    summary = " ".join(parts[1].split()) if len(parts) > 1 else ""
    if not summary:
        raise UserError("project.summary_needed", project=name)
    if len(summary) > SUMMARY_MOST:
        raise UserError("project.summary_too_long", length=len(summary), most=SUMMARY_MOST)
    details = parse_details(parts[2:], first_part=3, changing=False)
    return NewProject(
        name=name,
        summary=summary,
        stage=str(details.get("stage") or "design"),
        contact=_text_or_none(details.get("contact")),
        budget=_text_or_none(details.get("budget")),
        open_to_all=bool(details.get("open", False)),
    )


def parse_set(args: str) -> tuple[str, dict[str, object]]:
    """``!project set Better buses | contact Sam Patel``: the name, and the changes."""
    parts = args.split("|")
    if len(parts) < 2 or not clean_name(parts[0]):
        raise UserError("project.set_how")
    return clean_name(parts[0]), parse_details(parts[1:], first_part=2, changing=True)


def stored_changes(changes: dict[str, object]) -> dict[str, object]:
    """The changes as the project's fields (``about`` is its summary); the stage
    is not among them, as moving a project on is a step of its own."""
    fields = {k: v for k, v in changes.items() if k in ("contact", "budget", "open")}
    if "about" in changes:
        fields["summary"] = changes["about"]
    return fields


def parse_stage_command(args: str) -> tuple[str, str]:
    """``!stage Better buses deliver``: the name, and the stage."""
    words = args.rsplit(None, 1)
    if len(words) < 2:
        raise UserError("project.stage_how")
    return words[0], parse_stage(words[1])


class ReadsPeople(Protocol):
    """What reading people's chat IDs needs of the platform."""

    def person(self, text: str) -> UserId | None: ...

    def meant_as_person(self, word: str) -> bool: ...


def parse_invite(args: str, platform: ReadsPeople) -> tuple[str, list[UserId]]:
    """``!invite Better buses`` and then people's chat IDs (separated by spaces, commas,
    "&" or "and"): the name, and the people (once each, in the order given)."""
    tokens = args.split()
    first = next((i for i, t in enumerate(tokens) if platform.meant_as_person(t)), None)
    if not first:  # None, or no project name before the first person
        raise UserError("project.invite_how")
    words = [t.strip(",;") for t in tokens[first:] if t.strip(",;&").lower() not in ("", "and")]
    people, wrong = read_people(words, platform.person)
    if wrong:
        wrong = list(dict.fromkeys(wrong))
        raise UserError("project.bad_ids", ids=", ".join(w[:60] for w in wrong[:3]))
    if len(people) > MOST_AT_ONCE:
        raise UserError("project.too_many_people", count=len(people), most=MOST_AT_ONCE)
    return " ".join(tokens[:first]), people


# ----- who may do what ------------------------------------------------------------


def may_change(role: Role, person: str, created_by: str | None) -> bool:
    """The team, and whoever started the project, may change it and invite to it."""
    return role >= Role.TEAM or person == created_by


def ends_invitations(stage: str) -> bool:
    """Moving to this stage withdraws the invitations still waiting."""
    return stage == FINAL_STAGE


def why_not_invite(*, is_bot: bool, is_member: bool, earlier_state: str | None) -> str | None:
    """The catalogue key of the note saying why this person is not invited now,
    or None: invite them."""
    if is_bot:
        return "project.invite_not_me"
    if is_member:
        return "project.already_in"
    if earlier_state in WAITING:
        return "project.already_invited"
    if earlier_state == DECLINED:
        return "project.said_no"
    if earlier_state in (ACCEPTED, LEFT):
        return "project.left_before"
    return None


def join_is_a_yes(earlier_state: str | None, terms_shown: bool) -> bool:
    """``!join`` while their invitation (and its terms) waits for an answer is a yes."""
    return earlier_state in ANSWERABLE and terms_shown


def may_ask_to_join(*, invited_before: bool, open_to_all: bool) -> bool:
    """Anyone may join an open project; an invite-only one, only those invited before
    (whatever they answered then)."""
    return invited_before or open_to_all


def long_reply(text: str) -> bool:
    """Too long to be a yes or no: probably something else."""
    return len(text.split()) > LONG_REPLY


def check_again(age: timedelta) -> timedelta:
    """When to look again at something still on its way: soon at first, then less often."""
    return min(LONGEST_CHECK, max(FIRST_CHECK, age / 4))


def shown_count(count: int) -> int | None:
    """A group's count as reported, or None for "fewer than 5"."""
    return count if count >= SMALLEST_GROUP else None


def shown_groups(counts: dict[str, int], known: list[str]) -> list[tuple[str, int | None]]:
    """Every group: ``known`` ones first (in their order, even with nobody), then any
    others by name; each with its count, or None if it is smaller than five."""
    groups = known + sorted(g for g in counts if g not in known)
    return [(group, shown_count(counts.get(group, 0))) for group in groups]


def invitation_summary(counts: dict[str, int]) -> dict[str, int]:
    """Invitations by state (``projects.invitation_counts``) as ``!project`` tells
    them: waiting for an answer, yes (even if they left since), no, unreachable."""
    return {
        "waiting": sum(counts.get(s, 0) for s in WAITING),
        "yes": counts.get(ACCEPTED, 0) + counts.get(LEFT, 0),
        "no": counts.get(DECLINED, 0),
        "unreachable": counts.get(NO_SUCH_PERSON, 0) + counts.get(UNDELIVERABLE, 0),
    }
