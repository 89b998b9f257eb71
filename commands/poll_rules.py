"""Quick polls, pure rules: read a champion's ``!poll`` command and count the votes.

Nothing here touches the database, the network or the clock. The lead module turns
a :class:`PollError` into a message with ``UserError(error.key, **error.values)``.

Counting follows the MSC3381 rules in ``shared/matrix-facts.md`` (latest input
wins, empty = take back, an unknown answer id spoils the response, extra choices
beyond ``max_selections`` are dropped, duplicates count once, nothing after the
close counts), extended to numbered replies and reactions for apps without polls.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.answers import parse_number
from bot.config import Config
from bot.roles import Role
from bot.when import WhenError, parse_when
from storage.polls import Poll, Vote  # what the rules count: a vote as it is stored

MIN_ANSWERS = 2
MAX_ANSWERS = 20  # the proposal's limit
MAX_QUESTION_LENGTH = 300
MAX_OPTION_LENGTH = 100
BAR_BLOCKS = 10
BAR_FULL = "█"
BAR_EMPTY = "░"

YES_NO = ("Yes", "No", "Not sure")
AGREE_SCALE = (
    "Strongly agree",
    "Agree",
    "Neither agree nor disagree",
    "Disagree",
    "Strongly disagree",
)

VOTE_KINDS = frozenset({"response", "reply", "react", "unreact", "retract"})
# How a person answered, for saying so at the end: their last input's kind.
SOURCES = {"response": "response", "reply": "reply", "react": "react", "unreact": "react"}


class PollError(ValueError):
    """A problem with the champion's command: ``key`` names the catalogue message."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values: dict[str, object] = values


def who_may_start(config: Config) -> Role:
    return Role.MEMBER if config.polls.members_can_start else Role.CHAMPION


@dataclass(frozen=True)
class PollSpec:
    question: str
    options: tuple[str, ...]
    max_selections: int = 1
    closes: str | None = None  # the closing-time text, unparsed
    disclosed: bool = True
    secret: bool = False


# ----- parsing --------------------------------------------------------------------------------

_NUMBER_WORDS = {
    word: n
    for n, word in enumerate(
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
        " fifteen sixteen seventeen eighteen nineteen twenty".split(),
        start=1,
    )
}
_UP_TO = re.compile(
    r"^(?P<verb>(?:choose|pick)\s+)?up\s+to\s+(?P<n>\S+)(?:\s+(?:choices?|answers?|options?))?$"
)
_CLOSES = re.compile(r"^(?:closes|close|closing)\s+(?P<when>.+)$", re.IGNORECASE | re.DOTALL)
_SECRET_PREFIX = re.compile(r"^secret(?:\s+(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL)
_YES_NO = re.compile(r"^yes\s*(?:/\s*)?no$")
_QUOTES = (('"', '"'), ("“", "”"))

_SEVERAL = {"several"}
_HIDDEN = {"hide results", "hidden", "results at the end"}
_SECRET = {"secret", "secret ballot"}
_AGREE_STRICT = {"agree scale"}  # 'agree' alone is a preset only as the sole option


def _tidy(text: str) -> str:
    """Strip, and fold runs of whitespace (newlines too) to one space."""
    return " ".join(text.split())


def _same(text: str) -> str:
    """The form two options are compared in: case- and space-insensitive."""
    return "".join(text.split()).casefold()


@dataclass
class _Draft:
    max_text: str | None = None  # the segment that set the number of choices
    max_selections: int | None = None  # None with max_text set = 'several'
    closes_text: str | None = None
    closes: str | None = None
    hidden_text: str | None = None
    secret_text: str | None = None


def _once(earlier: str | None, segment: str) -> str:
    if earlier is not None:
        raise PollError("poll.setting_twice", setting=segment, earlier=earlier)
    return segment


def _setting(draft: _Draft, segment: str) -> bool:
    """Apply ``segment`` if it is a setting; False if it is something else."""
    plain = _tidy(segment).casefold()
    if plain in _SEVERAL:
        draft.max_text = _once(draft.max_text, segment)
        draft.max_selections = None
        return True
    if match := _UP_TO.match(plain):
        given = match["n"]
        if (typed := parse_number(given)) is not None:
            number = typed
        elif given in _NUMBER_WORDS:
            number = _NUMBER_WORDS[given]
        elif match["verb"] or re.search(r"[0-9]", given):
            draft.max_text = _once(draft.max_text, segment)
            raise PollError("poll.max_not_number", given=given, setting=segment)
        else:
            return False  # "Up to you" is an answer, not a setting
        draft.max_text = _once(draft.max_text, segment)
        draft.max_selections = number
        return True
    if match := _CLOSES.match(_tidy(segment)):
        draft.closes_text = _once(draft.closes_text, segment)
        draft.closes = match["when"]  # as typed: the lead reads the time
        return True
    if plain in _HIDDEN:
        draft.hidden_text = _once(draft.hidden_text, segment)
        return True
    if plain in _SECRET:
        draft.secret_text = _once(draft.secret_text, segment)
        return True
    return False


def _preset(segment: str) -> tuple[str, ...] | None:
    plain = _tidy(segment).casefold()
    if _YES_NO.match(plain):
        return YES_NO
    if plain in _AGREE_STRICT or plain == "agree":
        return AGREE_SCALE
    return None


def _unquoted(segment: str) -> str | None:
    """The text inside a segment wholly in double quotes: always an answer, never a setting."""
    for first, last in _QUOTES:
        if len(segment) >= 2 and segment.startswith(first) and segment.endswith(last):
            return segment[1:-1].strip()
    return None


def parse_poll(text: str) -> PollSpec:
    """Read ``<question> | <option> | <option> ...`` (the text after ``!poll``).

    Raises :class:`PollError` for anything the champion should fix.
    """
    segments = [segment.strip() for segment in text.split("|")]
    while len(segments) > 1 and not segments[-1]:
        segments.pop()  # a trailing "|" is harmless
    question, rest = _tidy(segments[0]), segments[1:]
    draft = _Draft()
    if match := _SECRET_PREFIX.match(question):
        question = _tidy(match["rest"] or "")
        draft.secret_text = "secret"
    if not question:
        raise PollError("poll.no_question")
    if len(question) > MAX_QUESTION_LENGTH:
        raise PollError("poll.question_too_long", length=len(question), most=MAX_QUESTION_LENGTH)

    options: list[str] = []
    presets: list[tuple[str, tuple[str, ...]]] = []  # (as typed, answers)
    for segment in rest:
        quoted = _unquoted(segment)
        if quoted is not None:
            segment = quoted
        elif _setting(draft, segment):
            continue
        if not segment:
            raise PollError("poll.empty_option", number=len(options) + 1)
        options.append(_tidy(segment))
        if quoted is None and (found := _preset(segment)) is not None:
            presets.append((_tidy(segment), found))

    if presets:
        if len(presets) == 1 and len(options) == 1:
            options = list(presets[0][1])
        else:
            # A bare "Agree" next to other answers is just an answer ("Agree | Disagree").
            blocking = [typed for typed, _ in presets if typed.casefold() != "agree"]
            if blocking:
                raise PollError("poll.preset_mixed", preset=blocking[0])

    if len(options) < MIN_ANSWERS:
        raise PollError("poll.too_few_options", count=len(options), least=MIN_ANSWERS)
    if len(options) > MAX_ANSWERS:
        raise PollError("poll.too_many_options", count=len(options), most=MAX_ANSWERS)
    seen: dict[str, str] = {}
    for number, option in enumerate(options, start=1):
        if len(option) > MAX_OPTION_LENGTH:
            raise PollError(
                "poll.option_too_long",
                number=number,
                option=option,
                start=option[:40],
                length=len(option),
                most=MAX_OPTION_LENGTH,
            )
        if _same(option) in seen:
            raise PollError("poll.duplicate_option", option=option, earlier=seen[_same(option)])
        seen[_same(option)] = option

    max_selections = 1
    if draft.max_text is not None:
        max_selections = len(options) if draft.max_selections is None else draft.max_selections
        if not 1 <= max_selections <= len(options):
            raise PollError(
                "poll.max_out_of_range",
                given=max_selections,
                options=len(options),
                setting=draft.max_text,
            )
    return PollSpec(
        question=question,
        options=tuple(options),
        max_selections=max_selections,
        closes=draft.closes,
        disclosed=draft.hidden_text is None,
        secret=draft.secret_text is not None,
    )


def closing_time(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """When a poll closes, from the text after ``closes`` (UK time, after ``now``)."""
    try:
        return parse_when(text, now, tz)
    except WhenError as err:
        raise PollError(err.key, text=text[:60]) from None


# ----- counting -------------------------------------------------------------------------------


def still_open(poll: Poll, ts: int) -> bool:
    """Does an answer sent at ``ts`` (milliseconds) count: before the close?"""
    return poll.state != "closed" and (poll.cutoff is None or ts / 1000 <= poll.cutoff)


@dataclass(frozen=True)
class Result:
    counts: dict[str, int]  # every answer id -> people who chose it (0 included), answer order
    voters: int  # people with a non-empty valid selection
    selections: dict[str, tuple[str, ...]]  # voter -> counted selection (only non-empty)
    # how the people counted answered: 'response', 'reply' or 'react' -> people
    sources: dict[str, int] = field(default_factory=dict)


def _apply(selection: list[str], vote: Vote, known: Collection[str], most: int) -> list[str]:
    """The voter's selection after ``vote``."""
    if vote.kind in ("response", "reply"):
        if any(answer not in known for answer in vote.answers):
            return []  # spoiled: counts as no selection
        return list(dict.fromkeys(vote.answers))[:most]
    if vote.kind == "retract":
        return []
    if len(vote.answers) != 1 or vote.answers[0] not in known:
        return selection  # a reaction that is not one of the answers changes nothing
    answer = vote.answers[0]
    if vote.kind == "react":
        if most == 1:
            return [answer]
        if answer not in selection and len(selection) < most:
            return [*selection, answer]
        return selection
    return [chosen for chosen in selection if chosen != answer]  # unreact


def count(
    answer_ids: Sequence[str],
    max_selections: int,
    votes: Iterable[Vote],
    *,
    closed_at: int | None = None,
    eligible: Collection[str] | None = None,
) -> Result:
    """Count the votes: each person's state after their last input counts.

    Inputs are replayed per person in ``(ts, event_id)`` order; inputs after
    ``closed_at`` and people outside ``eligible`` (when given) are left out.
    """
    if max_selections < 1:
        raise ValueError(f"max_selections must be at least 1, not {max_selections}")
    if len(set(answer_ids)) != len(answer_ids):
        raise ValueError("answer ids must be unique")
    known = frozenset(answer_ids)
    history: dict[str, list[Vote]] = {}
    for vote in votes:
        if vote.kind not in VOTE_KINDS:
            raise ValueError(f"unknown vote kind {vote.kind!r}")
        if closed_at is not None and vote.ts > closed_at:
            continue
        if eligible is not None and vote.voter not in eligible:
            continue
        history.setdefault(vote.voter, []).append(vote)

    selections: dict[str, tuple[str, ...]] = {}
    sources: dict[str, int] = {}
    for voter in sorted(history):
        selection: list[str] = []
        inputs = sorted(history[voter], key=lambda v: (v.ts, v.event_id))
        for vote in inputs:
            selection = _apply(selection, vote, known, max_selections)
        if selection:
            selections[voter] = tuple(selection)
            source = SOURCES.get(inputs[-1].kind, "response")
            sources[source] = sources.get(source, 0) + 1

    counts = dict.fromkeys(answer_ids, 0)
    for chosen in selections.values():
        for answer in chosen:
            counts[answer] += 1
    return Result(counts=counts, voters=len(selections), selections=selections, sources=sources)


# ----- showing results ------------------------------------------------------------------------

# What may be shown of a poll's results now (``what_shows``).
FINAL = "final"  # closed: the totals counted at the close
HIDDEN = "hidden"  # results at the end: nothing until the close
TURNOUT_ONLY = "turnout"  # a secret ballot still open: how many have voted, nothing more
SO_FAR = "so_far"  # the count so far


def what_shows(poll: Poll) -> str:
    """What ``!poll results`` (and the dashboard) may show of ``poll`` now.

    A secret ballot shows no totals before the close: totals that change as each
    person votes would tell who chose what."""
    if poll.state == "closed":
        return FINAL
    if not poll.disclosed:
        return HIDDEN
    if poll.secret:
        return TURNOUT_ONLY
    return SO_FAR


def count_so_far(poll: Poll, votes: Iterable[Vote]) -> Result:
    """The count of an open poll, as it stands (nothing after its closing time)."""
    cutoff = int(poll.cutoff * 1000) if poll.cutoff else None
    return count(poll.answer_ids, poll.max_selections, votes, closed_at=cutoff)


def _percent(part: int, whole: int) -> int:
    """``part`` of ``whole`` as a whole percent, halves rounded up; 0 if ``whole`` is 0."""
    if whole <= 0:
        return 0
    return (200 * part + whole) // (2 * whole)


def turnout(voters: int, members: int) -> int:
    """Percent of members who voted (0 if there are no members; never above 100)."""
    return min(100, _percent(voters, members))


def bar(part: int, whole: int) -> str:
    """A 10-block text bar for ``part`` of ``whole``, e.g. ``"███░░░░░░░"``."""
    filled = 0 if whole <= 0 else min(BAR_BLOCKS, (2 * BAR_BLOCKS * part + whole) // (2 * whole))
    return BAR_FULL * filled + BAR_EMPTY * (BAR_BLOCKS - filled)


def results_text_parts(
    answer_labels: Sequence[str], result: Result, members: int
) -> list[tuple[str, int, int, str]]:
    """Per answer, in order: (label, count, percent of voters, bar).

    Percentages are of the people who voted, so with several choices they may add
    up to more than 100. ``members`` is not used for them: see :func:`turnout`.
    """
    if len(answer_labels) != len(result.counts):
        raise ValueError("one label per answer, please")
    return [
        (label, number, _percent(number, result.voters), bar(number, result.voters))
        for label, number in zip(answer_labels, result.counts.values(), strict=True)
    ]


def top_answers(result: Result) -> list[str]:
    """The answer ids with the most votes (ties kept, in answer order); empty if nobody voted."""
    most = max(result.counts.values(), default=0)
    if most == 0:
        return []
    return [answer for answer, number in result.counts.items() if number == most]
