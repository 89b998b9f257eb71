"""Accessible charts for the dashboard, drawn as SVG on the server: no JavaScript, no canvas.

``bar_chart`` draws horizontal bars, one per answer or theme, with its label and
its number as real text; ``weekly_chart`` draws responses per week as vertical
bars with text on both axes. Each returns one ``<svg role="img">`` whose
``aria-labelledby`` names its own ``<title>`` and ``<desc>``; their ids come from
the ``chart_id`` the page gives, so two charts on a page never share an id.
The page shows the same numbers in a table beside the chart: a chart is for
seeing the shape at a glance, the table is for reading.

What people wrote (answer labels, theme names) is data: every piece of text is
XML-escaped, characters XML cannot hold are left out, and the characters that
change the direction of text (bidi overrides, embeddings and isolates such as
U+202E) are removed, so a label reads as typed and cannot turn its neighbours
around. A label longer than ``LABEL_CHARS`` is shortened with "…" on the chart;
its full text is in the ``<title>`` of its bar (shown when pointed at).

Colours meet WCAG 2.2 on the chart's own white background: bars 5.2:1
(non-text contrast needs 3:1), text 19:1 (4.5:1 needed), axis lines 7:1. There
are no ``style`` attributes, so a strict Content-Security-Policy allows it.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta

from bot.when_words import MONTH_NAMES

WIDTH = 640
BACKGROUND = "#ffffff"
INK = "#0b0c0c"  # text: 19.4:1 on white
BAR = "#1d70b8"  # bars: 5.2:1 on white
AXIS = "#505a5f"  # axis lines and ticks: 7.0:1 on white
FONT = "Arial, Helvetica, sans-serif"
FONT_SIZE = 16
SMALL = 14
LABEL_CHARS = 24  # characters of a bar's label shown before "…"
ELLIPSIS = "…"

# Characters that change the direction of the text after them: LRE RLE PDF LRO RLO,
# LRI RLI FSI PDI, LRM RLM, ALM.
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# Characters XML 1.0 cannot hold, or that show as nothing: C0 controls (tab and line
# breaks become spaces below), lone surrogates, U+FFFE and U+FFFF.
_REMOVED = re.compile(
    f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\ud800-\\udfff\\ufffe\\uffff{_BIDI}]"
)
_SPACES = re.compile(r"\s+")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}  # zero width joiner, variation selectors


# ----- text --------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Text as the chart shows it: no direction changes, nothing XML cannot hold,
    runs of spaces and line breaks made one space."""
    return _SPACES.sub(" ", _REMOVED.sub("", text)).strip()


def shorten(text: str, most: int = LABEL_CHARS) -> str:
    """``text`` cut to at most ``most`` characters, "…" included, never inside an
    accent or an emoji sequence."""
    if len(text) <= most:
        return text
    cut = most - 1
    while cut > 0 and (unicodedata.combining(text[cut]) or text[cut] in _JOINERS):
        cut -= 1  # the character at ``cut`` belongs to the one before it
    while cut > 0 and text[cut - 1] in _JOINERS:
        cut -= 1  # do not end on a joiner
    return text[:cut].rstrip() + ELLIPSIS


def _x(text: str) -> str:
    """Cleaned and escaped for XML text or attribute values."""
    return html.escape(clean(text), quote=True)


def number(n: int) -> str:
    return f"{n:,}"


def _ids(chart_id: str) -> tuple[str, str]:
    """The ids of the chart's <title> and <desc>, from the page's ``chart_id``."""
    base = _ID_UNSAFE.sub("-", chart_id).strip("-") or "chart"
    if not base[0].isalpha():  # an XML id starts with a letter
        base = "chart-" + base
    return f"{base}-title", f"{base}-desc"


def _f(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _svg(title: str, description: str, chart_id: str, height: float, body: list[str]) -> str:
    title_id, desc_id = _ids(chart_id)
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
            f'aria-labelledby="{title_id} {desc_id}" viewBox="0 0 {WIDTH} {_f(height)}" '
            f'class="chart" font-family="{FONT}" font-size="{FONT_SIZE}" fill="{INK}">',
            f'<title id="{title_id}">{_x(title)}</title>',
            f'<desc id="{desc_id}">{_x(description)}</desc>',
            f'<rect width="{WIDTH}" height="{_f(height)}" fill="{BACKGROUND}"/>',
            *body,
            "</svg>",
        ]
    )


def _empty(note: str, y: float) -> list[str]:
    if not clean(note):
        return []
    return [f'<text x="{WIDTH / 2:g}" y="{_f(y)}" text-anchor="middle">{_x(note)}</text>']


def _check(counts: Sequence[int]) -> None:
    for n in counts:
        if n < 0:
            raise ValueError(f"a chart shows counts, not {n}")


# ----- horizontal bars ---------------------------------------------------------------------

ROW = 36  # height of one bar's row
BAR_HEIGHT = 24
PAD = 12  # above the first bar and below the last
LABEL_RIGHT = 222  # labels end here (right-aligned)
BARS_LEFT = 232
BARS_RIGHT = WIDTH - 80  # room for the number after the longest bar


def bar_chart(
    title: str,
    description: str,
    bars: Sequence[tuple[str, int]],
    *,
    chart_id: str,
    empty_note: str = "",
) -> str:
    """Horizontal bars, in the order given: each with its label (shortened, full text
    in its <title>) and its number as text. ``empty_note`` is shown when there are no
    bars (say it in the page's words; nothing is shown if it is empty)."""
    _check([n for _, n in bars])
    if not bars:
        return _svg(title, description, chart_id, 64, _empty(empty_note, 38))
    height = 2 * PAD + ROW * len(bars)
    most = max(n for _, n in bars) or 1  # all zero: every bar is empty, nothing divides by 0
    span = BARS_RIGHT - BARS_LEFT
    body = [
        f'<line x1="{BARS_LEFT}" y1="{PAD}" x2="{BARS_LEFT}" y2="{height - PAD}" '
        f'stroke="{AXIS}" stroke-width="2"/>'
    ]
    for i, (label, n) in enumerate(bars):
        top = PAD + i * ROW + (ROW - BAR_HEIGHT) / 2
        middle = _f(top + BAR_HEIGHT / 2 + FONT_SIZE * 0.35)  # text baseline, centred
        length = span * n / most
        shown = shorten(clean(label))
        body += [
            '<g class="bar">',
            f"<title>{_x(label)}: {number(n)}</title>",
            f'<text x="{LABEL_RIGHT}" y="{middle}" text-anchor="end">'
            f"{html.escape(shown, quote=True)}</text>",
        ]
        if length > 0:
            body.append(
                f'<rect x="{BARS_LEFT}" y="{_f(top)}" width="{_f(length)}" '
                f'height="{BAR_HEIGHT}" fill="{BAR}"/>'
            )
        body += [f'<text x="{_f(BARS_LEFT + length + 8)}" y="{middle}">{number(n)}</text>', "</g>"]
    return _svg(title, description, chart_id, height, body)


# ----- responses per week ------------------------------------------------------------------

HEIGHT = 300
LEFT = 64  # room for the numbers on the vertical axis
RIGHT = 16
TOP = 24
BOTTOM = 52  # room for the dates
MOST_TICKS = 5
DATE_SPACE = 96  # at least this much room for each date shown along the bottom
NUMBERS_FROM = 30  # a week's bar is at least this wide: its number is shown above it


def weeks_from(weeks: Sequence[tuple[date, int]]) -> list[tuple[date, int]]:
    """Counts per week, each week starting on its Monday: dates in the same week are
    added up, and the weeks between the first and the last that have none are 0."""
    totals: dict[date, int] = {}
    for day, n in weeks:
        monday = day - timedelta(days=day.weekday())
        totals[monday] = totals.get(monday, 0) + n
    if not totals:
        return []
    first, last = min(totals), max(totals)
    count = (last - first).days // 7 + 1
    return [
        (first + timedelta(weeks=i), totals.get(first + timedelta(weeks=i), 0))
        for i in range(count)
    ]


def ticks(most: int) -> list[int]:
    """Round numbers for the vertical axis, from 0 to at least ``most``."""
    if most <= 0:
        return [0, 1]
    rough = most / (MOST_TICKS - 1)
    power = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= rough)
    step = max(1, int(step))
    top = -(-most // step) * step
    return list(range(0, top + 1, step))


def day_words(day: date, *, year: bool) -> str:
    words = f"{day.day} {MONTH_NAMES[day.month - 1][:3]}"
    return f"{words} {day.year}" if year else words


def weekly_chart(
    title: str,
    description: str,
    weeks: Sequence[tuple[date, int]],
    *,
    chart_id: str,
    empty_note: str = "",
) -> str:
    """Responses per week as vertical bars, with the numbers up the side and the weeks'
    dates (their Mondays) along the bottom; each bar's <title> has its date and
    number. ``empty_note`` is shown when there are no weeks."""
    _check([n for _, n in weeks])
    series = weeks_from(weeks)
    if not series:
        return _svg(title, description, chart_id, 64, _empty(empty_note, 38))
    marks = ticks(max(n for _, n in series))
    top_value = marks[-1]
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    base = TOP + plot_height
    slot = plot_width / len(series)

    def y(value: int) -> float:
        return base - plot_height * value / top_value

    body = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="{AXIS}" stroke-width="2"/>',
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
        f'stroke="{AXIS}" stroke-width="2"/>',
        f'<g class="axis" font-size="{SMALL}" text-anchor="end">',
    ]
    for mark in marks:
        at = _f(y(mark))
        body += [
            f'<line x1="{LEFT - 6}" y1="{at}" x2="{LEFT}" y2="{at}" stroke="{AXIS}"/>',
            f'<text x="{LEFT - 10}" y="{_f(y(mark) + SMALL * 0.35)}">{number(mark)}</text>',
        ]
    body.append("</g>")
    every = max(1, math.ceil(len(series) / max(1, plot_width // DATE_SPACE)))
    shown_year: int | None = None
    for i, (monday, n) in enumerate(series):
        middle = LEFT + slot * (i + 0.5)
        width = max(1.0, slot * 0.7)
        body += ['<g class="week">', f"<title>{day_words(monday, year=True)}: {number(n)}</title>"]
        if n > 0:
            body.append(
                f'<rect x="{_f(middle - width / 2)}" y="{_f(y(n))}" width="{_f(width)}" '
                f'height="{_f(base - y(n))}" fill="{BAR}"/>'
            )
        if slot >= NUMBERS_FROM:
            body.append(
                f'<text x="{_f(middle)}" y="{_f(y(n) - 6)}" text-anchor="middle" '
                f'font-size="{SMALL}">{number(n)}</text>'
            )
        if i % every == 0:
            words = day_words(monday, year=monday.year != shown_year)
            shown_year = monday.year
            body.append(
                f'<text x="{_f(middle)}" y="{base + 22}" text-anchor="middle" '
                f'font-size="{SMALL}">{words}</text>'
            )
        body.append("</g>")
    return _svg(title, description, chart_id, HEIGHT, body)
