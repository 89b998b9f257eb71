"""Charts: one accessible SVG each, real text, hostile labels shown safely, WCAG colours.

Every chart is parsed with xml.etree (so it is well-formed XML) and checked for
its structure, its text and its numbers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from web.charts import (
    ELLIPSIS,
    LABEL_CHARS,
    bar_chart,
    clean,
    shorten,
    ticks,
    weekly_chart,
    weeks_from,
)

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = [
    "<script>alert(1)</script>",
    'Tom & Jerry\'s "café"',
    "\u202egnp.exe",  # RIGHT-TO-LEFT OVERRIDE: "exe.png" shown backwards
    "a\u2066b\u2069c\u200fd",
    "]]><!-- -->&amp;",
    "bell\x07 null\x00 tab\tnew\nline",
    '<img src=x onerror="alert(1)">',
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def texts(root: ET.Element, where: str = "text") -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(NS + where)]


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(NS + "g") if g.get("class") == kind]


def title_of(group: ET.Element) -> str:
    title = group.find(NS + "title")
    assert title is not None
    return "".join(title.itertext())


def bars_of(root: ET.Element) -> list[tuple[str, str, float]]:
    """(shown label, shown number, bar length) for each bar."""
    out = []
    for g in groups(root, "bar"):
        label, value = ["".join(t.itertext()) for t in g.iter(NS + "text")]
        rect = g.find(NS + "rect")
        out.append((label, value, 0.0 if rect is None else float(rect.get("width", "0"))))
    return out


def labelled(root: ET.Element) -> tuple[str, str]:
    """The text of the <title> and <desc> that aria-labelledby names."""
    assert root.tag == NS + "svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    assert by_id[title_id].tag == NS + "title" and by_id[desc_id].tag == NS + "desc"
    assert root[0] is by_id[title_id] and root[1] is by_id[desc_id]  # first, for readers
    return "".join(by_id[title_id].itertext()), "".join(by_id[desc_id].itertext())


def weeks(start: date, counts: list[int]) -> list[tuple[date, int]]:
    return [(start + timedelta(weeks=i), n) for i, n in enumerate(counts)]


# ----- bar charts -------------------------------------------------------------------------


def test_a_bar_chart_has_its_labels_numbers_and_bars() -> None:
    svg = bar_chart(
        "Which day suits you?",
        "Monday 10, Tuesday 5, Wednesday 0",
        [("Monday", 10), ("Tuesday", 5), ("Wednesday", 0), ("Big", 12_345)],
        chart_id="poll-7",
    )
    root = parse(svg)
    assert labelled(root) == ("Which day suits you?", "Monday 10, Tuesday 5, Wednesday 0")
    assert root.get("aria-labelledby") == "poll-7-title poll-7-desc"
    shown = bars_of(root)
    assert [(label, value) for label, value, _ in shown] == [
        ("Monday", "10"),
        ("Tuesday", "5"),
        ("Wednesday", "0"),
        ("Big", "12,345"),
    ]
    lengths = [length for *_, length in shown]
    assert lengths[0] == pytest.approx(2 * lengths[1], abs=0.02)
    assert lengths[2] == 0 and lengths[3] > lengths[0]
    titles = [title_of(g) for g in groups(root, "bar")]
    assert titles == ["Monday: 10", "Tuesday: 5", "Wednesday: 0", "Big: 12,345"]


def test_ids_are_unique_per_chart_and_always_valid() -> None:
    one = parse(bar_chart("A", "a", [("x", 1)], chart_id="poll-1"))
    two = parse(bar_chart("B", "b", [("x", 1)], chart_id="poll-2"))
    ids_one = {e.get("id") for e in one.iter() if e.get("id")}
    ids_two = {e.get("id") for e in two.iter() if e.get("id")}
    assert ids_one and ids_two and not ids_one & ids_two
    for odd in ['"><script>', "1 2", "", "ünï", "-"]:
        root = parse(bar_chart("A", "a", [("x", 1)], chart_id=odd))
        for name in root.get("aria-labelledby", "").split():
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name), (odd, name)
        labelled(root)


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_are_shown_safely(label: str) -> None:
    svg = bar_chart(label, label, [(label, 3), ("next", 1)], chart_id="hostile")
    root = parse(svg)  # well-formed: nothing broke out of its element
    assert "<script" not in svg and "<img" not in svg and "<!--" not in svg
    assert not re.search(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\x00-\x08]", svg)
    assert not [e for e in root.iter() if e.tag in (NS + "script", NS + "foreignObject")]
    assert not [a for e in root.iter() for a in e.attrib if a.startswith("on") or a == "style"]
    title, desc = labelled(root)
    assert title == desc == clean(label)
    (shown, value, _), (after, _, _) = bars_of(root)
    assert shown == shorten(clean(label)) and value == "3" and after == "next"
    first_title = groups(root, "bar")[0].find(NS + "title")
    assert first_title is not None and "".join(first_title.itertext()) == f"{clean(label)}: 3"


def test_clean_keeps_words_and_drops_direction_changes() -> None:
    assert clean("\u202egnp.exe") == "gnp.exe"
    assert clean("tab\tnew\nline  end ") == "tab new line end"
    assert clean("Diolch yn fawr ŵ 🚌 £5") == "Diolch yn fawr ŵ 🚌 £5"
    assert clean("שלום and English") == "שלום and English"  # right-to-left words stay


def test_long_labels_are_shortened_with_the_full_text_in_the_title() -> None:
    long = "The community bus from the village to the day centre on Tuesdays"
    root = parse(bar_chart("T", "D", [(long, 4)], chart_id="long"))
    ((shown, _, _),) = bars_of(root)
    assert shown.endswith(ELLIPSIS) and len(shown) <= LABEL_CHARS
    assert long.startswith(shown[:-1])
    title = groups(root, "bar")[0].find(NS + "title")
    assert title is not None and title.text == f"{long}: 4"


def test_shortening_never_splits_an_accent_or_an_emoji() -> None:
    combining = "e\u0301" * 30  # é as e and an accent
    cut = shorten(combining, 10)
    assert cut.endswith(ELLIPSIS) and not cut[:-1].endswith("e")
    family = "ab" + "👩\u200d👩\u200d👧" * 5
    cut = shorten(family, 6)
    assert not cut[:-1].endswith("\u200d")
    assert shorten("short", 10) == "short"


def test_no_bars_and_all_zero() -> None:
    root = parse(bar_chart("Nothing yet", "No answers", [], chart_id="empty"))
    assert labelled(root) == ("Nothing yet", "No answers")
    assert len(list(root.iter(NS + "rect"))) == 1  # the background
    assert texts(root) == []
    noted = parse(bar_chart("T", "D", [], chart_id="e", empty_note="No answers yet"))
    assert texts(noted) == ["No answers yet"]
    zero = bar_chart("T", "D", [("Yes", 0), ("No", 0)], chart_id="zero")
    assert "nan" not in zero.lower() and "inf" not in zero.lower()
    assert [(label, value, length) for label, value, length in bars_of(parse(zero))] == [
        ("Yes", "0", 0.0),
        ("No", "0", 0.0),
    ]


def test_counts_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        bar_chart("T", "D", [("x", -1)], chart_id="c")
    with pytest.raises(ValueError):
        weekly_chart("T", "D", [(date(2026, 1, 5), -2)], chart_id="c")


# ----- responses per week -----------------------------------------------------------------


def test_weeks_start_on_monday_and_gaps_are_zero() -> None:
    assert weeks_from([]) == []
    assert weeks_from(
        [
            (date(2026, 1, 7), 2),
            (date(2026, 1, 5), 1),
            (date(2026, 1, 11), 3),
            (date(2026, 1, 21), 4),
        ]
    ) == [(date(2026, 1, 5), 6), (date(2026, 1, 12), 0), (date(2026, 1, 19), 4)]


def test_ticks_are_round_and_reach_the_top() -> None:
    assert ticks(0) == [0, 1]
    assert ticks(3) == [0, 1, 2, 3]
    assert ticks(7) == [0, 2, 4, 6, 8]
    assert ticks(95) == [0, 50, 100]
    assert ticks(1234)[-1] >= 1234 and len(ticks(1234)) <= 6


def test_a_weekly_chart_has_text_axes_and_a_bar_per_week() -> None:
    counts = [3, 0, 7, 12, 5]
    svg = weekly_chart(
        "Responses per week", "From 29 December", weeks(date(2025, 12, 29), counts), chart_id="w"
    )
    root = parse(svg)
    assert labelled(root) == ("Responses per week", "From 29 December")
    week_groups = groups(root, "week")
    assert len(week_groups) == len(counts)
    titles = [title_of(g) for g in week_groups]
    assert titles == [
        "29 Dec 2025: 3",
        "5 Jan 2026: 0",
        "12 Jan 2026: 7",
        "19 Jan 2026: 12",
        "26 Jan 2026: 5",
    ]
    heights = [float(r.get("height", "0")) for g in week_groups for r in g.iter(NS + "rect")]
    assert len(heights) == 4  # the empty week has no bar
    assert heights[2] == pytest.approx(12 / 3 * heights[0], abs=0.02)
    shown = texts(root)
    axis = groups(root, "axis")[0]
    assert ["".join(t.itertext()) for t in axis.iter(NS + "text")] == ["0", "5", "10", "15"]
    # Dates along the bottom, the year where it starts and where it changes.
    assert "29 Dec 2025" in shown and "5 Jan 2026" in shown and "12 Jan" in shown
    # Few weeks: each bar has its number above it.
    for g, n in zip(week_groups, counts, strict=True):
        assert str(n) in ["".join(t.itertext()) for t in g.iter(NS + "text")]


def test_a_long_run_of_weeks_shows_some_dates_not_a_jumble() -> None:
    counts = [(i * 7) % 23 for i in range(104)]
    root = parse(weekly_chart("Two years", "D", weeks(date(2025, 1, 6), counts), chart_id="w"))
    week_groups = groups(root, "week")
    assert len(week_groups) == 104
    dates = [t for g in week_groups for t in ("".join(e.itertext()) for e in g.iter(NS + "text"))]
    assert 3 <= len(dates) <= 8  # no numbers above bars this thin, and a few dates
    assert any("2026" in d for d in dates) and dates[0] == "6 Jan 2025"


def test_no_weeks_and_all_zero_weeks() -> None:
    root = parse(weekly_chart("T", "D", [], chart_id="w", empty_note="Nothing yet"))
    labelled(root)
    assert texts(root) == ["Nothing yet"]
    zero = weekly_chart("T", "D", weeks(date(2026, 1, 5), [0, 0, 0]), chart_id="w")
    assert "nan" not in zero.lower() and "inf" not in zero.lower()
    assert len(groups(parse(zero), "week")) == 3


def test_hostile_titles_in_a_weekly_chart() -> None:
    for label in HOSTILE:
        svg = weekly_chart(label, label, weeks(date(2026, 1, 5), [1]), chart_id="w")
        assert labelled(parse(svg)) == (clean(label), clean(label))


# ----- colours ----------------------------------------------------------------------------


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_meet_wcag_contrast_on_the_chart_s_white() -> None:
    svgs = [
        bar_chart("T", "D", [("a", 1), ("b", 2)], chart_id="c"),
        weekly_chart("T", "D", weeks(date(2026, 1, 5), [1, 4, 2]), chart_id="w"),
    ]
    for svg in svgs:
        root = parse(svg)
        background = root.find(NS + "rect")
        assert background is not None and background.get("fill") == "#ffffff"
        assert background.get("width") == "640"
        text_colour = root.get("fill", "")  # every <text> inherits it
        assert contrast(text_colour, "#ffffff") >= 4.5
        assert not [t for t in root.iter(NS + "text") if t.get("fill")]
        for rect in list(root.iter(NS + "rect"))[1:]:
            assert contrast(rect.get("fill", ""), "#ffffff") >= 3.0
        for line in root.iter(NS + "line"):
            assert contrast(line.get("stroke", ""), "#ffffff") >= 3.0
