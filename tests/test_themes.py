"""Suggested themes: responses about the same thing land together, every time.

The corpus below is made up for this test: short plain-English feedback of the
kind a day-centre service gets, about four things (getting there by bus, the
café and its food, how kind the staff are, opening hours). The words overlap on
purpose ("centre", "lunch", "early", "time" turn up in several), as real
feedback does. The grouping is checked by purity, never by a fixed order.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter

import pytest

from web.themes import Suggestion, clean_text, suggest_themes

CORPUS: dict[str, list[str]] = {
    "transport": [
        "The bus to the day centre is always late",
        "The bus was late again so I missed lunch",
        "Our community bus never comes on time",
        "I waited an hour for the bus in the rain",
        "The bus driver would not wait while I got on with my frame",
        "Please put on an earlier bus from the village",
        "The bus stop has no seat and no shelter",
        "The minibus does not come to my road any more",
        "Taxi to the centre costs too much, I need a bus",
        "The bus is often full and late in the morning",
        "Buses stop running before the centre closes so I cannot get home",
    ],
    "food": [
        "The café food is cold by the time it reaches us",
        "Lunch in the café is lovely but the portions are small",
        "The café has nothing for people who cannot eat gluten",
        "I would like more hot food choices at lunch",
        "The café coffee is too expensive",
        "Soup in the café was cold again on Tuesday",
        "Lunch menu is the same every week, we want more choice",
        "The café food is good value and tasty",
        "Please have soft food for people who find chewing hard",
        "Hot lunch in the café is the best part of my day",
        "The tea and cake in the café are lovely",
    ],
    "staff": [
        "The staff are so kind and patient with my mum",
        "Staff always listen and make time for me",
        "The care staff are kind and treat us with respect",
        "One of the staff helped me fill in a form, very kind",
        "Staff are friendly but there are not enough of them",
        "Kind staff made me feel welcome on my first day",
        "The staff are patient when I get confused",
        "The new staff member was rude to my husband",
        "Staff remember my name and ask how I am",
        "The staff are kind and caring, thank you",
    ],
    "hours": [
        "The centre should open earlier in the morning",
        "Opening hours are too short, it closes at three",
        "Please open the centre on Saturdays",
        "It closes too early for carers who work",
        "Could the centre open later in the evening",
        "The opening hours changed and nobody told us",
        "Open on weekends please, Saturday and Sunday are lonely",
        "The centre closes at lunchtime on Fridays, too early",
        "Longer opening hours would help carers who work",
        "Open earlier so I can drop my dad off before work",
    ],
}
# A word each topic's own suggestion should be labelled with.
LABEL_WORDS = {
    "transport": {"bus", "late"},
    "food": {"café", "food", "lunch"},
    "staff": {"staff", "kind"},
    "hours": {"open", "opening", "hours", "closes"},
}


def numbered() -> tuple[list[tuple[int, str]], dict[int, str]]:
    """The corpus as (feedback id, text), ids 101 upwards, and each id's topic."""
    responses: list[tuple[int, str]] = []
    topic_of: dict[int, str] = {}
    for topic, texts in CORPUS.items():
        for text in texts:
            feedback_id = 101 + len(responses)
            responses.append((feedback_id, text))
            topic_of[feedback_id] = topic
    return responses, topic_of


def groups(suggestions: list[Suggestion]) -> set[frozenset[int]]:
    return {frozenset(s.feedback_ids) for s in suggestions}


def test_responses_about_the_same_thing_land_together() -> None:
    responses, topic_of = numbered()
    suggestions = suggest_themes(responses)

    assert 4 <= len(suggestions) <= 6, [s.label for s in suggestions]
    # Purity: most of each suggestion is about one thing.
    placed = [i for s in suggestions for i in s.feedback_ids]
    assert len(placed) == len(set(placed)), "a response is in one suggestion at most"
    assert len(placed) >= 0.9 * len(responses)
    majority = 0
    for s in suggestions:
        topics = Counter(topic_of[i] for i in s.feedback_ids)
        top, count = topics.most_common(1)[0]
        assert count / len(s.feedback_ids) >= 0.75, (s.label, topics)
        majority += count
    assert majority / len(placed) >= 0.9
    # And each thing mostly in one suggestion, labelled with its own words.
    for topic, label_words in LABEL_WORDS.items():
        share = {s.label: sum(topic_of[i] == topic for i in s.feedback_ids) for s in suggestions}
        label, most = max(share.items(), key=lambda item: item[1])
        assert most >= 0.5 * len(CORPUS[topic]), (topic, share)
        assert set(label.replace(",", " ").split()) & label_words, (topic, label)


def test_labels_and_words_are_people_s_words_and_readable() -> None:
    responses, _ = numbered()
    said = " ".join(clean_text(text) for _, text in responses)
    for s in suggest_themes(responses):
        parts = s.label.split(", ")
        assert 2 <= len(parts) <= 3 and parts == list(s.words[: len(parts)])
        assert 2 <= len(s.words) <= 6 and len(set(s.words)) == len(s.words)
        for word in s.words:
            assert word in said


def test_the_same_responses_give_the_same_suggestions() -> None:
    responses, _ = numbered()
    first = suggest_themes(responses)
    assert suggest_themes(list(responses)) == first
    assert suggest_themes(tuple(responses)) == first
    # In another order, the same groups (each suggestion keeps the input's order).
    shuffled = list(responses)
    random.Random(4).shuffle(shuffled)
    again = suggest_themes(shuffled)
    assert groups(again) == groups(first)
    assert {s.label for s in again} == {s.label for s in first}


def test_biggest_first_and_at_most_as_many_as_asked() -> None:
    responses, _ = numbered()
    suggestions = suggest_themes(responses)
    sizes = [len(s.feedback_ids) for s in suggestions]
    assert sizes == sorted(sizes, reverse=True)
    assert len(suggest_themes(responses, most=2)) <= 2
    assert suggest_themes(responses, most=0) == []
    ids = {i for i, _ in responses}
    for s in suggestions:
        assert set(s.feedback_ids) <= ids
        assert list(s.feedback_ids) == sorted(s.feedback_ids)  # the input's order


def test_suggestions_are_frozen() -> None:
    responses, _ = numbered()
    s = suggest_themes(responses)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.label = "something else"  # type: ignore[misc]


@pytest.mark.parametrize("count", [0, 1, 2])
def test_too_few_responses_give_no_suggestions(count: int) -> None:
    responses = [(n, "The bus is late again") for n in range(count)]
    assert suggest_themes(responses) == []


def test_a_few_responses_give_one_theme_at_most() -> None:
    responses = [
        (1, "The bus is late"),
        (2, "Late bus again today"),
        (3, "The bus was late and full"),
        (4, "I like the café"),
    ]
    suggestions = suggest_themes(responses)
    assert len(suggestions) == 1
    assert set(suggestions[0].feedback_ids) >= {1, 2, 3}
    assert "bus" in suggestions[0].words and "late" in suggestions[0].words


@pytest.mark.parametrize(
    "texts",
    [
        ["", "", "", ""],
        ["   ", "\n", "\t", ""],
        ["bus", "café", "staff", "hours"],  # one word each, none shared
        ["ok", "ok", "ok"],  # one shared word is not two topics, and not an error
        ["🚌", "🚌🚌", "😀 😀", "❤️"],
        ["The", "and", "it is", "was"],  # stop words only
        ["12", "3.50", "£4", "10 10"],  # numbers are not words
    ],
)
def test_odd_input_never_raises(texts: list[str]) -> None:
    suggestions = suggest_themes(list(enumerate(texts)))
    assert isinstance(suggestions, list)
    for s in suggestions:
        assert len(s.feedback_ids) >= 2


def test_html_tags_and_entities_are_not_words() -> None:
    responses = [
        (1, "<script>alert(1)</script> The bus is late"),
        (2, "<b>Late</b> bus &amp; no seat"),
        (3, '<a href="http://x.test">bus</a> late again'),
        (4, "<img src=x onerror=alert(1)> the bus was late"),
        (5, "<p>Staff are kind</p>"),
        (6, "kind staff &lt;3"),
    ]
    suggestions = suggest_themes(responses)
    words = {w for s in suggestions for term in s.words for w in term.split()}
    assert words, "the words between the tags still count"
    assert not words & {"script", "alert", "href", "http", "img", "src", "onerror", "amp", "lt"}
    assert "bus" in words


def test_clean_text() -> None:
    assert clean_text("Don't <b>CLOSE</b> the café's doors &amp; lights") == (
        "do not  close  the café doors & lights"
    )
    assert clean_text("I <3 the bus & the café > the pub") == "i <3 the bus & the café > the pub"
