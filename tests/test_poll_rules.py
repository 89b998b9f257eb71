"""Quick polls: reading the champion's command, and counting by the MSC3381 rules."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from commands.poll_rules import (
    AGREE_SCALE,
    MAX_ANSWERS,
    MAX_OPTION_LENGTH,
    MAX_QUESTION_LENGTH,
    YES_NO,
    PollError,
    PollSpec,
    Result,
    Vote,
    bar,
    count,
    parse_poll,
    results_text_parts,
    top_answers,
    turnout,
    what_shows,
)
from storage.polls import Poll

# ----- parsing: what works ---------------------------------------------------------------------

PARSED: list[tuple[str, dict[str, Any]]] = [
    (
        "Which day? | Tuesday | Thursday",
        {"question": "Which day?", "options": ("Tuesday", "Thursday")},
    ),
    # whitespace: around segments, inside them, and a trailing "|"
    (
        "  Which   day?  |Tuesday   morning|  Thursday |",
        {"question": "Which day?", "options": ("Tuesday morning", "Thursday")},
    ),
    ("Q\n| a\tb | c | |", {"question": "Q", "options": ("a b", "c")}),
    # several / up to N
    ("Q | a | b | c | several", {"max_selections": 3}),
    ("Q | a | b | c | SEVERAL", {"max_selections": 3}),
    ("Q | a | b | c | up to 2", {"max_selections": 2}),
    ("Q | a | b | c | Up To 1", {"max_selections": 1}),
    ("Q | a | b | c | choose up to 3", {"max_selections": 3}),
    ("Q | a | b | c | pick up to 2", {"max_selections": 2}),
    ("Q | a | b | c | pick  up  to two", {"max_selections": 2}),
    ("Q | a | b | c | choose up to 2 choices", {"max_selections": 2}),
    ("Q | up to 2 | a | b | c", {"max_selections": 2, "options": ("a", "b", "c")}),
    # "Up to you" is an answer, not a setting
    ("Where? | Library | Up to you", {"options": ("Library", "Up to you"), "max_selections": 1}),
    # closing time: the text is kept as typed, for the lead to read
    ("Q | a | b | closes in 3 days", {"closes": "in 3 days"}),
    ("Q | a | b | Closes Friday 5pm", {"closes": "Friday 5pm"}),
    ("Q | a | b | close tomorrow", {"closes": "tomorrow"}),
    ("Q | a | b | closing   on 6 June", {"closes": "on 6 June"}),
    ("Q | a | b | Close", {"options": ("a", "b", "Close"), "closes": None}),
    # hidden results
    ("Q | a | b | hide results", {"disclosed": False}),
    ("Q | a | b | Hidden", {"disclosed": False}),
    ("Q | a | b | results at the end", {"disclosed": False}),
    ("Q | a | b", {"disclosed": True, "secret": False, "closes": None, "max_selections": 1}),
    # secret ballot, as a setting or a prefix word
    ("Q | a | b | secret", {"secret": True}),
    ("Q | a | b | Secret Ballot", {"secret": True}),
    ("secret Which day? | a | b", {"secret": True, "question": "Which day?"}),
    ("SECRET   Which day? | a | b", {"secret": True, "question": "Which day?"}),
    ("Secretary: who? | a | b", {"secret": False, "question": "Secretary: who?"}),
    # presets
    ("Shall we? | yes/no", {"options": YES_NO}),
    ("Shall we? | Yes / No", {"options": YES_NO}),
    ("Shall we? | yes no", {"options": YES_NO}),
    ("Shall we? | YES/NO | several", {"options": YES_NO, "max_selections": 3}),
    ("Is it good? | agree", {"options": AGREE_SCALE}),
    ("Is it good? | Agree scale | closes Friday", {"options": AGREE_SCALE, "closes": "Friday"}),
    # a bare "Agree" among other answers is just an answer
    ("Is it good? | Agree | Disagree", {"options": ("Agree", "Disagree")}),
    # quotes make a segment an answer, even if it reads like a setting
    ('Café? | Keep it open | "Close it"', {"options": ("Keep it open", "Close it")}),
    ("Q | “several” | a", {"options": ("several", "a"), "max_selections": 1}),
    ('Q | "yes/no" | "maybe"', {"options": ("yes/no", "maybe")}),
    # HTML and markdown stay as plain text
    (
        "<b>Which</b> **day**? | <i>Tue</i> | `Thu` & _Fri_",
        {"question": "<b>Which</b> **day**?", "options": ("<i>Tue</i>", "`Thu` & _Fri_")},
    ),
    # everything together
    (
        "secret Which days? | Mon | Tue | Wed | up to 2 | closes Friday 5pm | hidden",
        {
            "question": "Which days?",
            "options": ("Mon", "Tue", "Wed"),
            "max_selections": 2,
            "closes": "Friday 5pm",
            "disclosed": False,
            "secret": True,
        },
    ),
    # the limits themselves are allowed
    ("Q | " + " | ".join(f"o{i}" for i in range(MAX_ANSWERS)), {"max_selections": 1}),
    ("q" * MAX_QUESTION_LENGTH + " | a | b", {"question": "q" * MAX_QUESTION_LENGTH}),
    ("Q | " + "o" * MAX_OPTION_LENGTH + " | b", {"options": ("o" * MAX_OPTION_LENGTH, "b")}),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse(text: str, expected: dict[str, Any]) -> None:
    spec = parse_poll(text)
    assert {name: getattr(spec, name) for name in expected} == expected


def test_parse_gives_a_full_spec() -> None:
    assert parse_poll("Which day? | Tue | Thu | up to 2 | closes Friday") == PollSpec(
        question="Which day?",
        options=("Tue", "Thu"),
        max_selections=2,
        closes="Friday",
        disclosed=True,
        secret=False,
    )


# ----- parsing: what the champion must fix -----------------------------------------------------

ERRORS: list[tuple[str, str, dict[str, object]]] = [
    ("", "poll.no_question", {}),
    ("   ", "poll.no_question", {}),
    ("| a | b", "poll.no_question", {}),
    ("secret | a | b", "poll.no_question", {}),
    ("secret   | a | b", "poll.no_question", {}),
    ("Q", "poll.too_few_options", {"count": 0, "least": 2}),
    ("Q | a", "poll.too_few_options", {"count": 1, "least": 2}),
    ("Q | a | several", "poll.too_few_options", {"count": 1, "least": 2}),
    (
        "Q | " + " | ".join(f"o{i}" for i in range(MAX_ANSWERS + 1)),
        "poll.too_many_options",
        {"count": 21, "most": 20},
    ),
    ("a || b | c", "poll.empty_option", {"number": 1}),
    ("Q | a |   | b", "poll.empty_option", {"number": 2}),
    ('Q | a | "" | b', "poll.empty_option", {"number": 2}),
    ("Q | a | b | A", "poll.duplicate_option", {"option": "A", "earlier": "a"}),
    (
        "Q | Bus stop | Train | bus  STOP ",
        "poll.duplicate_option",
        {"option": "bus STOP", "earlier": "Bus stop"},
    ),
    ("Q | Bus stop | busstop", "poll.duplicate_option", {"option": "busstop"}),
    (
        "q" * (MAX_QUESTION_LENGTH + 1) + " | a | b",
        "poll.question_too_long",
        {"length": 301, "most": 300},
    ),
    (
        "Q | a | " + "o" * (MAX_OPTION_LENGTH + 1),
        "poll.option_too_long",
        {"number": 2, "length": 101, "most": 100, "start": "o" * 40},
    ),
    ("Q | a | b | up to 3", "poll.max_out_of_range", {"given": 3, "options": 2}),
    ("Q | a | b | up to 0", "poll.max_out_of_range", {"given": 0, "options": 2}),
    ("Q | a | b | choose up to twenty", "poll.max_out_of_range", {"given": 20}),
    ("Q | yes/no | up to 4", "poll.max_out_of_range", {"given": 4, "options": 3}),
    ("Q | a | b | up to 2.5", "poll.max_not_number", {"given": "2.5"}),
    ("Q | a | b | up to -1", "poll.max_not_number", {"given": "-1"}),
    ("Q | a | b | choose up to lots", "poll.max_not_number", {"given": "lots"}),
    ("Q | a | b | pick up to you", "poll.max_not_number", {"given": "you"}),
    (
        "Q | a | b | several | up to 2",
        "poll.setting_twice",
        {"setting": "up to 2", "earlier": "several"},
    ),
    (
        "Q | a | b | closes Friday | closing Monday",
        "poll.setting_twice",
        {"setting": "closing Monday", "earlier": "closes Friday"},
    ),
    ("Q | a | b | hidden | hide results", "poll.setting_twice", {"setting": "hide results"}),
    ("Q | a | b | secret | secret ballot", "poll.setting_twice", {"earlier": "secret"}),
    ("secret Q | a | b | secret", "poll.setting_twice", {"setting": "secret"}),
    ("Q | a | b | up to 1 | up to x1", "poll.setting_twice", {"setting": "up to x1"}),
    ("Q | yes/no | maybe", "poll.preset_mixed", {"preset": "yes/no"}),
    ("Q | a | Yes / No", "poll.preset_mixed", {"preset": "Yes / No"}),
    ("Q | agree scale | other", "poll.preset_mixed", {"preset": "agree scale"}),
    ("Q | yes/no | agree", "poll.preset_mixed", {"preset": "yes/no"}),
    ("Q | agree | agree scale", "poll.preset_mixed", {"preset": "agree scale"}),
    ("Q | yes no | yes/no", "poll.preset_mixed", {"preset": "yes no"}),
]


@pytest.mark.parametrize(("text", "key", "values"), ERRORS)
def test_parse_errors(text: str, key: str, values: dict[str, object]) -> None:
    with pytest.raises(PollError) as caught:
        parse_poll(text)
    assert caught.value.key == key
    assert {name: caught.value.values.get(name) for name in values} == values


def test_every_error_key_is_tested() -> None:
    keys = {key for _, key, _ in ERRORS}
    assert keys == {
        "poll.no_question",
        "poll.too_few_options",
        "poll.too_many_options",
        "poll.empty_option",
        "poll.duplicate_option",
        "poll.question_too_long",
        "poll.option_too_long",
        "poll.max_out_of_range",
        "poll.max_not_number",
        "poll.setting_twice",
        "poll.preset_mixed",
    }


def test_error_values_name_the_limits() -> None:
    with pytest.raises(PollError) as caught:
        parse_poll("Q | a | " + "x" * 150)
    assert caught.value.values == {
        "number": 2,
        "option": "x" * 150,
        "start": "x" * 40,
        "length": 150,
        "most": MAX_OPTION_LENGTH,
    }
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == "poll.option_too_long"


# ----- counting: each rule on its own ----------------------------------------------------------

IDS = ("a1", "a2", "a3")


def v(voter: str, ts: int, kind: str, *answers: str, event_id: str | None = None) -> Vote:
    return Vote(voter, ts, event_id or f"${voter}{ts}", kind, answers)


def picks(
    votes: Iterable[Vote], most: int = 1, ids: Sequence[str] = IDS, **kw: Any
) -> dict[str, tuple[str, ...]]:
    return count(ids, most, votes, **kw).selections


COUNTED: list[tuple[str, int, list[Vote], dict[str, tuple[str, ...]]]] = [
    ("a response counts", 1, [v("@x", 1, "response", "a1")], {"@x": ("a1",)}),
    (
        "the latest response wins",
        1,
        [v("@x", 1, "response", "a1"), v("@x", 2, "response", "a2")],
        {"@x": ("a2",)},
    ),
    (
        "latest by time, not by arrival order",
        1,
        [v("@x", 5, "response", "a3"), v("@x", 2, "response", "a2")],
        {"@x": ("a3",)},
    ),
    (
        "same time: event id breaks the tie",
        1,
        [
            v("@x", 5, "response", "a3", event_id="$b"),
            v("@x", 5, "response", "a1", event_id="$a"),
        ],
        {"@x": ("a3",)},
    ),
    (
        "an empty response takes the vote back",
        1,
        [v("@x", 1, "response", "a1"), v("@x", 2, "response")],
        {},
    ),
    (
        "a spoiled latest response means no vote",
        1,
        [v("@x", 1, "response", "a1"), v("@x", 2, "response", "a2", "nope")],
        {},
    ),
    (
        "a spoiled earlier response is replaced by a later one",
        1,
        [v("@x", 1, "response", "zz"), v("@x", 2, "response", "a2")],
        {"@x": ("a2",)},
    ),
    (
        "too many choices: the first max_selections are kept",
        2,
        [v("@x", 1, "response", "a3", "a1", "a2")],
        {"@x": ("a3", "a1")},
    ),
    (
        "duplicates count once, before the limit is applied",
        2,
        [v("@x", 1, "response", "a2", "a2", "a1")],
        {"@x": ("a2", "a1")},
    ),
    ("single choice keeps the first", 1, [v("@x", 1, "response", "a2", "a1")], {"@x": ("a2",)}),
    ("a reaction votes", 1, [v("@x", 1, "react", "a2")], {"@x": ("a2",)}),
    (
        "single choice: a new reaction replaces the old",
        1,
        [v("@x", 1, "react", "a2"), v("@x", 2, "react", "a3")],
        {"@x": ("a3",)},
    ),
    (
        "several: reactions add up",
        3,
        [v("@x", 1, "react", "a2"), v("@x", 2, "react", "a1")],
        {"@x": ("a2", "a1")},
    ),
    (
        "several: a reaction beyond the limit is ignored",
        2,
        [v("@x", 1, "react", "a2"), v("@x", 2, "react", "a1"), v("@x", 3, "react", "a3")],
        {"@x": ("a2", "a1")},
    ),
    (
        "several: the same reaction twice counts once",
        2,
        [v("@x", 1, "react", "a2"), v("@x", 2, "react", "a2", event_id="$other")],
        {"@x": ("a2",)},
    ),
    (
        "a reaction to an unknown answer changes nothing",
        1,
        [v("@x", 1, "react", "a1"), v("@x", 2, "react", "a9")],
        {"@x": ("a1",)},
    ),
    (
        "removing the reaction takes that answer away",
        3,
        [v("@x", 1, "react", "a1"), v("@x", 2, "react", "a2"), v("@x", 3, "unreact", "a1")],
        {"@x": ("a2",)},
    ),
    (
        "removing a reaction not counted changes nothing",
        1,
        [v("@x", 1, "react", "a1"), v("@x", 2, "react", "a2"), v("@x", 3, "unreact", "a1")],
        {"@x": ("a2",)},
    ),
    (
        "removing the only reaction leaves no vote",
        1,
        [v("@x", 1, "react", "a1"), v("@x", 2, "unreact", "a1")],
        {},
    ),
    (
        "after a removal there is room again",
        2,
        [
            v("@x", 1, "react", "a1"),
            v("@x", 2, "react", "a2"),
            v("@x", 3, "unreact", "a1"),
            v("@x", 4, "react", "a3"),
        ],
        {"@x": ("a2", "a3")},
    ),
    (
        "a reaction adds to a replied selection",
        3,
        [v("@x", 1, "response", "a1"), v("@x", 2, "react", "a3")],
        {"@x": ("a1", "a3")},
    ),
    (
        "a later response replaces reactions",
        3,
        [v("@x", 1, "react", "a1"), v("@x", 2, "react", "a3"), v("@x", 3, "response", "a2")],
        {"@x": ("a2",)},
    ),
    (
        "a retraction takes the vote back",
        3,
        [v("@x", 1, "response", "a1", "a2"), v("@x", 2, "retract")],
        {},
    ),
    (
        "a vote after a retraction counts",
        1,
        [v("@x", 1, "response", "a1"), v("@x", 2, "retract"), v("@x", 3, "react", "a3")],
        {"@x": ("a3",)},
    ),
    (
        "people are counted separately",
        1,
        [v("@x", 1, "response", "a1"), v("@y", 2, "response", "a1"), v("@x", 3, "response")],
        {"@y": ("a1",)},
    ),
]


@pytest.mark.parametrize(
    ("most", "votes", "expected"), [c[1:] for c in COUNTED], ids=[c[0] for c in COUNTED]
)
def test_count_rules(most: int, votes: list[Vote], expected: dict[str, tuple[str, ...]]) -> None:
    assert picks(votes, most) == expected


def test_inputs_after_the_close_do_not_count() -> None:
    votes = [
        v("@x", 10, "response", "a1"),
        v("@x", 21, "response", "a2"),
        v("@y", 20, "response", "a3"),  # exactly at the close still counts
        v("@z", 25, "response", "a3"),
        v("@w", 10, "react", "a1"),
        v("@w", 30, "unreact", "a1"),
        v("@u", 10, "response", "a1"),
        v("@u", 30, "retract"),
    ]
    assert picks(votes, closed_at=20) == {
        "@u": ("a1",),
        "@w": ("a1",),
        "@x": ("a1",),
        "@y": ("a3",),
    }
    assert len(picks(votes)) == 3  # @u and @w took theirs back, @x changed


def test_only_eligible_people_count() -> None:
    votes = [v("@x", 1, "response", "a1"), v("@bot", 1, "response", "a2")]
    assert picks(votes, eligible={"@x"}) == {"@x": ("a1",)}
    assert picks(votes, eligible=()) == {}
    assert picks(votes, eligible=None) == {"@bot": ("a2",), "@x": ("a1",)}


def test_result_counts_every_answer_in_order() -> None:
    votes = [
        v("@x", 1, "response", "a3", "a1"),
        v("@y", 1, "response", "a3"),
        v("@z", 1, "response", "a9"),  # spoiled
        v("@w", 1, "response"),  # nothing
    ]
    result = count(IDS, 2, votes)
    assert list(result.counts.items()) == [("a1", 1), ("a2", 0), ("a3", 2)]
    assert result.voters == 2
    assert result.selections == {"@x": ("a3", "a1"), "@y": ("a3",)}


def test_nobody_voted() -> None:
    result = count(IDS, 1, [])
    assert result == Result(counts={"a1": 0, "a2": 0, "a3": 0}, voters=0, selections={})


@pytest.mark.parametrize(
    ("ids", "most", "votes"),
    [
        (IDS, 0, []),
        (("a1", "a1"), 1, []),
        (IDS, 1, [v("@x", 1, "vote", "a1")]),
    ],
)
def test_count_refuses_programming_mistakes(
    ids: Sequence[str], most: int, votes: list[Vote]
) -> None:
    with pytest.raises(ValueError):
        count(ids, most, votes)


# ----- counting: cross-checked against a plain reference ---------------------------------------


def reference_count(
    answer_ids: Sequence[str],
    most: int,
    votes: Sequence[Vote],
    closed_at: int | None,
    eligible: set[str] | None,
) -> tuple[list[int], dict[str, list[str]], dict[str, int]]:
    """A second counter, written plainly: one pass over all inputs in time order.
    Also returns how the people counted answered (the kind of their last input)."""
    ordered = list(votes)
    ordered.sort(key=lambda vote: vote.event_id)
    ordered.sort(key=lambda vote: vote.ts)  # stable: time first, then event id
    state: dict[str, list[str]] = {}
    last: dict[str, str] = {}
    for vote in ordered:
        if closed_at is not None and vote.ts > closed_at:
            continue
        if eligible is not None and vote.voter not in eligible:
            continue
        mine = state.get(vote.voter, [])
        last[vote.voter] = vote.kind
        if vote.kind == "retract":
            mine = []
        elif vote.kind == "response" or vote.kind == "reply":
            spoiled = False
            for answer in vote.answers:
                if answer not in answer_ids:
                    spoiled = True
            mine = []
            if not spoiled:
                for answer in vote.answers:
                    if answer not in mine and len(mine) < most:
                        mine.append(answer)
        elif vote.answers[0] in answer_ids:
            answer = vote.answers[0]
            if vote.kind == "unreact":
                mine = [kept for kept in mine if kept != answer]
            elif most == 1:
                mine = [answer]
            elif answer not in mine and len(mine) < most:
                mine = mine + [answer]
        state[vote.voter] = mine
    totals = []
    for answer in answer_ids:
        totals.append(sum(1 for chosen in state.values() if answer in chosen))
    ways: dict[str, int] = {}
    for voter, chosen in state.items():
        if chosen:
            way = "react" if last[voter] == "unreact" else last[voter]
            ways[way] = ways.get(way, 0) + 1
    return totals, {voter: chosen for voter, chosen in state.items() if chosen}, ways


def random_history(rng: random.Random, ids: Sequence[str], people: int = 40) -> list[Vote]:
    """Votes from ``people`` people: changes, take-backs, spoiled and over-full answers,
    reactions and removals, retractions, some after the close, some at the same time."""
    votes: list[Vote] = []
    serial = 0
    for person in range(people):
        voter = f"@p{person}:council.test"
        for _ in range(rng.randint(0, 8)):
            serial += 1
            ts = rng.randint(0, 100)  # few values, so ties happen
            event_id = f"${rng.randint(0, 10**6)}x{serial}"
            roll = rng.random()
            if roll < 0.35:
                size = rng.choice([0, 1, 1, 2, 3, len(ids) + 2])
                answers = [rng.choice(ids) for _ in range(size)]
                if rng.random() < 0.1:
                    answers.insert(rng.randint(0, len(answers)), "a99")
                kind = "reply" if serial % 3 == 0 else "response"  # a numbered reply
                votes.append(Vote(voter, ts, event_id, kind, tuple(answers)))
            elif roll < 0.65:
                answer = rng.choice([*ids, "zz"]) if rng.random() < 0.1 else rng.choice(ids)
                votes.append(Vote(voter, ts, event_id, "react", (answer,)))
            elif roll < 0.9:
                votes.append(Vote(voter, ts, event_id, "unreact", (rng.choice(ids),)))
            else:
                votes.append(Vote(voter, ts, event_id, "retract", ()))
    return votes


@pytest.mark.parametrize("seed", range(300))
def test_count_matches_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    ids = tuple(f"a{i}" for i in range(1, rng.randint(2, 6) + 1))
    most = rng.randint(1, len(ids))
    votes = random_history(rng, ids)
    closed_at = rng.choice([None, rng.randint(0, 100)])
    eligible = (
        None
        if rng.random() < 0.5
        else {f"@p{n}:council.test" for n in range(40) if rng.random() < 0.8}
    )

    result = count(ids, most, votes, closed_at=closed_at, eligible=eligible)
    totals, chosen, ways = reference_count(ids, most, votes, closed_at, eligible)

    assert list(result.counts) == list(ids)
    assert list(result.counts.values()) == totals
    assert {voter: list(s) for voter, s in result.selections.items()} == chosen
    assert result.voters == len(chosen)
    assert result.sources == ways
    assert all(1 <= len(s) <= most and len(set(s)) == len(s) for s in result.selections.values())
    assert sum(result.counts.values()) == sum(len(s) for s in result.selections.values())

    rng.shuffle(votes)  # arrival order must not matter
    assert count(ids, most, votes, closed_at=closed_at, eligible=eligible) == result


def test_random_histories_exercise_every_rule() -> None:
    """The cross-check is only worth something if the histories reach each rule."""
    seen: set[str] = set()
    for seed in range(300):
        rng = random.Random(seed)
        ids = tuple(f"a{i}" for i in range(1, rng.randint(2, 6) + 1))
        rng.randint(1, len(ids))
        for vote in random_history(rng, ids):
            if vote.kind in ("response", "reply"):
                if any(a not in ids for a in vote.answers):
                    seen.add("spoiled")
                elif not vote.answers:
                    seen.add("take back")
                elif len(set(vote.answers)) < len(vote.answers):
                    seen.add("duplicates")
                if len(vote.answers) > len(ids):
                    seen.add("too many")
            elif vote.kind == "react" and vote.answers[0] not in ids:
                seen.add("unknown reaction")
            seen.add(vote.kind)
    assert seen == {
        "spoiled",
        "take back",
        "duplicates",
        "too many",
        "unknown reaction",
        "response",
        "reply",
        "react",
        "unreact",
        "retract",
    }


# ----- showing results -------------------------------------------------------------------------


def test_results_text_parts() -> None:
    votes = [v(f"@p{n}", 1, "response", "a1" if n < 2 else "a2") for n in range(3)]
    result = count(("a1", "a2", "a3"), 1, votes)
    assert results_text_parts(["Tue", "Thu", "Sat"], result, members=10) == [
        ("Tue", 2, 67, "███████░░░"),
        ("Thu", 1, 33, "███░░░░░░░"),
        ("Sat", 0, 0, "░░░░░░░░░░"),
    ]


def test_results_text_parts_with_several_choices_and_nobody() -> None:
    votes = [v("@x", 1, "response", "a1", "a2"), v("@y", 1, "response", "a1")]
    parts = results_text_parts(["A", "B"], count(("a1", "a2"), 2, votes), members=2)
    assert [(p[1], p[2]) for p in parts] == [(2, 100), (1, 50)]
    assert parts[0][3] == "█" * 10
    empty = results_text_parts(["A", "B"], count(("a1", "a2"), 1, []), members=0)
    assert empty == [("A", 0, 0, "░" * 10), ("B", 0, 0, "░" * 10)]
    with pytest.raises(ValueError):
        results_text_parts(["A"], count(("a1", "a2"), 1, []), members=0)


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (0, 0, "░" * 10),
        (1, 8, "█░░░░░░░░░"),
        (1, 20, "█░░░░░░░░░"),
        (1, 40, "░" * 10),
        (3, 3, "█" * 10),
    ],
)
def test_bar(part: int, whole: int, expected: str) -> None:
    assert bar(part, whole) == expected
    assert len(bar(part, whole)) == 10


@pytest.mark.parametrize(
    ("voters", "members", "expected"),
    [
        (0, 0, 0),
        (5, 0, 0),
        (0, 10, 0),
        (1, 3, 33),
        (2, 3, 67),
        (1, 8, 13),
        (1, 200, 1),
        (10, 10, 100),
        (12, 10, 100),
    ],
)
def test_turnout(voters: int, members: int, expected: int) -> None:
    assert turnout(voters, members) == expected


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([], []),
        ([v("@x", 1, "response", "a2")], ["a2"]),
        ([v("@x", 1, "response", "a3"), v("@y", 1, "response", "a1")], ["a1", "a3"]),
        (
            [
                v("@x", 1, "response", "a3"),
                v("@y", 1, "response", "a3"),
                v("@z", 1, "response", "a1"),
            ],
            ["a3"],
        ),
        ([v("@x", 1, "response", "a3"), v("@x", 2, "retract")], []),
    ],
)
def test_top_answers(votes: list[Vote], expected: list[str]) -> None:
    assert top_answers(count(IDS, 1, votes)) == expected


# ----- what may be shown, by !poll results and the dashboard alike -----------------------------


def a_poll(state: str = "open", *, disclosed: bool = True, secret: bool = False) -> Poll:
    answers = (("a1", "Yes"), ("a2", "No"))
    return Poll(1, "!room", "@chris", "Q?", answers, 1, disclosed, secret, state,
                None, None, None, None, None, None, None)  # fmt: skip


@pytest.mark.parametrize(
    ("poll", "shows"),
    [
        (a_poll(), "so_far"),
        (a_poll("closing"), "so_far"),  # still counting: what has come so far
        (a_poll(disclosed=False), "hidden"),
        (a_poll(secret=True), "turnout"),
        (a_poll(disclosed=False, secret=True), "hidden"),
        (a_poll("closed", disclosed=False, secret=True), "final"),
        (a_poll("closed"), "final"),
    ],
)
def test_what_a_poll_shows(poll: Poll, shows: str) -> None:
    assert what_shows(poll) == shows
