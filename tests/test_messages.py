"""The plain-language gate for the messages catalogue (see shared/plain-language.md).

Every entry must format with its sample values, people-facing entries must be
easy to read (Flesch reading ease 60 each, 70 all together), nothing may carry
HTML or markdown, and every key the code uses must exist in the catalogue.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import textstat

from bot.dispatch import ROLE_NAMES
from bot.messages import Entry, Messages
from bot.roles import Role
from commands import build_registry

REPO = Path(__file__).resolve().parent.parent
CATALOGUE = Messages.load()

EACH_MIN = 60
ALL_MIN = 70
PREFIX = "!"

HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
MARKDOWN_EMPHASIS = re.compile(
    r"(\*\*|__|~~)\S.*?\1"  # **bold**, __bold__, ~~struck~~
    r"|(?<![\w*])\*(?!\s)[^*\n]+(?<!\s)\*(?![\w*])"  # *italic*
    r"|(?<![\w_])_(?!\s)[^_\n]+(?<!\s)_(?![\w_])"  # _italic_ (not snake_case)
    r"|`[^`\n]+`"  # `code`
)


# ----- the checks, as one function the gate (and its own test) can call ------------------


def filled(entry: Entry, form: str | None = None) -> str:
    """The entry's text (or another of its forms) with its sample values, as a
    person would see it."""
    return (form or entry.text).format_map({"prefix": PREFIX, **entry.sample})


def catalogue_problems(messages: Messages) -> list[str]:
    """Every way ``messages`` breaks the plain-language rules, one line each."""
    problems: list[str] = []
    people_texts: list[str] = []
    for entry in messages:
        unfilled = sorted(entry.placeholders - set(entry.sample) - {"prefix"})
        for name in unfilled:
            problems.append(f"{entry.key}: {{{name}}} has no sample value")
        if unfilled:
            continue
        for form in entry.forms:
            try:
                text = filled(entry, form)
            except (KeyError, IndexError, ValueError) as err:
                problems.append(f"{entry.key}: does not format with its samples ({err!r})")
                continue
            if HTML_TAG.search(form):
                problems.append(f"{entry.key}: contains an HTML tag")
            if MARKDOWN_EMPHASIS.search(form):
                problems.append(f"{entry.key}: contains markdown")
            if entry.audience == "staff":
                continue
            people_texts.append(text)
            score = textstat.flesch_reading_ease(text)
            if score < EACH_MIN:
                problems.append(
                    f"{entry.key}: reading ease {score:.0f} is below {EACH_MIN}: {text}"
                )
    if people_texts:
        score = textstat.flesch_reading_ease("\n".join(people_texts))
        if score < ALL_MIN:
            problems.append(f"all people-facing messages: reading ease {score:.0f} < {ALL_MIN}")
    return problems


def test_the_catalogue_is_plain() -> None:
    assert catalogue_problems(CATALOGUE) == []


def test_the_catalogue_is_not_empty() -> None:
    assert sum(1 for e in CATALOGUE if e.audience != "staff") >= 5


@pytest.mark.parametrize("entry", list(CATALOGUE), ids=lambda e: e.key)
def test_each_entry_formats_with_its_samples(entry: Entry) -> None:
    assert entry.placeholders <= set(entry.sample) | {"prefix"}
    text = filled(entry)
    assert "{" not in text and "}" not in text


def test_a_count_of_one_reads_as_one() -> None:
    entry = Entry(
        "n", "{count} people have answered.", {"count": "3"}, one="1 person has answered."
    )
    messages = Messages({"n": entry})
    assert messages.get("n", count=1) == "1 person has answered."
    assert messages.get("n", count=2) == "2 people have answered."
    assert problems_with(Entry("bad", "Hello there.", one="Hello <b>there</b>, you.")) == [
        "bad: contains an HTML tag"
    ]


def test_audience_is_people_or_staff() -> None:
    assert {e.audience for e in CATALOGUE} <= {"people", "staff"}


# ----- no placeholders or jargon shown to people --------------------------------------------

# Text that looks like a form to fill in, or words only a developer knows.
NOT_FOR_PEOPLE = re.compile(
    r"<[A-Za-z][^<>\n]{0,40}>"  # <number>
    r"|\[[a-z][a-z ]{0,30}\]"  # [number]
    r"|@name:server|\bpseudonyms?\b|\bCSV, JSON\b",
    re.IGNORECASE,
)


def not_for_people(text: str) -> list[str]:
    """Placeholder-looking or jargon bits of ``text`` a person would see."""
    return NOT_FOR_PEOPLE.findall(text)


def test_no_message_shows_placeholders_or_jargon() -> None:
    found = {e.key: not_for_people(filled(e, f)) for e in CATALOGUE for f in e.forms}
    assert {key: bits for key, bits in found.items() if bits} == {}


def test_the_placeholder_check_can_fail() -> None:
    assert not_for_people("!going <number>: x. !poll results [number]. Pseudonyms.") == [
        "<number>",
        "[number]",
        "Pseudonyms",
    ]
    assert not_for_people("!champion add @name:server") == ["@name:server"]
    assert not_for_people("!going 2: Say you are going. Reply 1, 2 or 3. [1] <3") == []


# ----- a count of 1 reads as one -----------------------------------------------------------

NUMBER_THEN_WORDS = re.compile(r"\{(\w+)\}((?:\s+[\w']+){1,2})")
NOT_PLURAL = {"is", "was", "has", "this", "yes", "us", "plus", "its", "as", "his", "does"}


def _plural(word: str) -> bool:
    word = word.lower()
    return word in ("people", "children") or (
        word.endswith("s") and not word.endswith(("ss", "'s")) and word not in NOT_PLURAL
    )


def plural_problems(messages: Messages) -> list[str]:
    """People-facing entries where a number is followed by a plural word ("{count}
    people") but there is no ``one`` form for it, nor ``plural_only``."""
    problems = []
    for entry in messages:
        if entry.audience == "staff" or entry.plural_only:
            continue
        for name, after in NUMBER_THEN_WORDS.findall(entry.text):
            if not entry.sample.get(name, "").isdigit() or not any(map(_plural, after.split())):
                continue
            if entry.one is None or entry.one_for != name:
                problems.append(f"{entry.key}: {{{name}}}{after} needs a one form for {name} = 1")
    return problems


def test_a_number_followed_by_a_plural_has_a_form_for_one() -> None:
    assert plural_problems(CATALOGUE) == []


def test_the_plural_check_can_fail() -> None:
    entries = [
        Entry("bad", "{count} people have answered.", {"count": "3"}),
        Entry("good", "{count} people have answered.", {"count": "3"}, one="1 person has."),
        Entry("other", "{voters} of {members} people voted.", {"voters": "2", "members": "5"}),
        Entry(
            "picked",
            "{voters} of {members} people voted.",
            {"voters": "2", "members": "5"},
            one="{voters} of 1 person voted.",
            one_for="members",
        ),
        Entry("limit", "Keep it to {most} letters.", {"most": "300"}, plural_only=True),
        Entry("label", "Places left: {count}.", {"count": "3"}),
        Entry("staff", "{count} answers.", {"count": "3"}, audience="staff"),
        Entry("words", "{question} It closes soon.", {"question": "Which day?"}),
    ]
    assert plural_problems(Messages({e.key: e for e in entries})) == [
        "bad: {count} people have needs a one form for count = 1",
        "other: {members} people voted needs a one form for members = 1",
    ]
    picked = Messages({e.key: e for e in entries}).get("picked", voters=1, members=1)
    assert picked == "1 of 1 person voted."


# ----- the gate can fail ------------------------------------------------------------------

GOOD = Entry("good", "Thanks, Sam. I've saved what you said.")


def problems_with(*entries: Entry) -> list[str]:
    return catalogue_problems(Messages({e.key: e for e in [GOOD, *entries]}))


def test_gate_catches_a_placeholder_without_a_sample() -> None:
    problems = problems_with(Entry("bad", "Hello {name}. Type {prefix}help."))
    assert problems == ["bad: {name} has no sample value"]


def test_gate_catches_a_text_that_does_not_format() -> None:
    problems = problems_with(Entry("bad", "You have {count:d} replies.", {"count": "many"}))
    assert [p.split(":")[0] for p in problems] == ["bad"]
    assert "does not format" in problems[0]


def test_gate_catches_hard_words() -> None:
    hard = Entry(
        "bad",
        "Notwithstanding the aforementioned considerations, participation necessitates "
        "comprehensive acknowledgement of organisational accountability responsibilities.",
    )
    problems = problems_with(hard)
    assert any(p.startswith("bad: reading ease") for p in problems)


def test_gate_lets_staff_messages_be_harder() -> None:
    staff = Entry(
        "staff",
        "Export the consolidated participation statistics for the quarterly board report.",
        audience="staff",
    )
    assert textstat.flesch_reading_ease(filled(staff)) < EACH_MIN
    assert problems_with(staff) == []


def test_gate_catches_a_hard_catalogue_overall() -> None:
    # Each entry passes on its own, but together they are too hard.
    entries = [
        Entry("one", "Your comments are important to the council."),
        Entry("two", "We are looking at the community bus service."),
    ]
    scores = [textstat.flesch_reading_ease(e.text) for e in entries]
    overall = textstat.flesch_reading_ease("\n".join(e.text for e in entries))
    assert all(s >= EACH_MIN for s in scores) and overall < ALL_MIN, (scores, overall)
    problems = catalogue_problems(Messages({e.key: e for e in entries}))
    assert len(problems) == 1 and problems[0].startswith("all people-facing messages")


@pytest.mark.parametrize(
    "text",
    ["Hello <b>there</b>.", "See <a href='https://council.test'>this</a>.", "Line<br>more."],
)
def test_gate_catches_html(text: str) -> None:
    assert "bad: contains an HTML tag" in problems_with(Entry("bad", text))


@pytest.mark.parametrize(
    "text",
    ["Hello **there**.", "Hello __there__.", "Hello *there*.", "Hello _there_.", "Type `help`."],
)
def test_gate_catches_markdown(text: str) -> None:
    assert problems_with(Entry("bad", text)) == ["bad: contains markdown"]


@pytest.mark.parametrize(
    "text",
    [
        "Ask @sam_jones:council.test. It costs 2 * 3 pounds.",
        "Reply 1, 2 or 3. <3",
        "Hello {person}, type {prefix}help.",
    ],
)
def test_gate_allows_ordinary_symbols(text: str) -> None:
    entry = Entry("ok", text, {"person": "Sam"})
    assert problems_with(entry) == []


# ----- every key the code uses is in the catalogue ------------------------------------------

# Calls whose string arguments are message keys. For ``get`` only on ``messages``.
KEY_CALLS = {"reply", "text", "_say", "get", "UserError", "by_number_or_newest"}
# Files whose calls by these names are not about messages.
NOT_MESSAGES = {
    "bot/config.py": "_Section.text(key) reads a key of the TOML config",
    "bot/config_platforms.py": "Section.text(key) reads a key of the TOML config",
    "bot/config_ops.py": "Section.text(key) reads a key of the TOML config",
    "bot/config_web.py": "Section.text(key) reads a key of the TOML config",
}


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        if func.attr == "get":
            receiver = func.value
            named = receiver.attr if isinstance(receiver, ast.Attribute) else None
            named = receiver.id if isinstance(receiver, ast.Name) else named
            return "get" if named == "messages" else None
        return func.attr
    return None


def keys_in(path: Path, name: str) -> Iterator[tuple[str, str]]:
    """(where, key) for each string literal passed to a message-producing call."""
    tree = ast.parse(path.read_text(), filename=name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _call_name(node) not in KEY_CALLS:
            continue
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield f"{name}:{node.lineno}", arg.value


def keys_in_code() -> Iterator[tuple[str, str]]:
    for folder in ("bot", "commands"):
        for path in sorted((REPO / folder).glob("*.py")):
            name = path.relative_to(REPO).as_posix()
            if name not in NOT_MESSAGES:
                yield from keys_in(path, name)


def test_the_scan_finds_the_keys_in_use() -> None:
    found = {key for _, key in keys_in_code()}
    expected = {
        "dm.hint",
        "errors.unknown_command",
        "errors.not_allowed",
        "errors.internal",
        "help.intro",
        "help.line",
        "ping.pong",
        "champion.bad_id",
        "champion.added",
    }
    assert expected <= found


def test_the_scan_sees_every_kind_of_call(tmp_path: Path) -> None:
    code = tmp_path / "handler.py"
    code.write_text(
        "async def handler(ctx):\n"
        "    ctx.reply('a.reply')\n"
        "    ctx.reply_text(ctx.text('a.text', n=1))\n"
        "    self._say(out, db, msg, 'a.say')\n"
        "    self.dispatcher.messages.get('a.get', ref=1)\n"
        "    config.get('not.a.message')\n"
        "    raise UserError('a.user_error', text='x')\n"
    )
    keys = [key for _, key in keys_in(code, "handler.py")]
    assert sorted(keys) == ["a.get", "a.reply", "a.say", "a.text", "a.user_error"]


def test_every_key_used_in_code_is_in_the_catalogue() -> None:
    missing = [f"{where}: {key}" for where, key in keys_in_code() if key not in CATALOGUE]
    assert missing == []


def test_role_names_are_in_the_catalogue() -> None:
    assert [key for key in ROLE_NAMES.values() if key not in CATALOGUE] == []


def test_every_command_summary_is_in_the_catalogue() -> None:
    missing = [f"{c.name}: {c.summary}" for c in build_registry() if c.summary not in CATALOGUE]
    assert missing == []


def test_every_help_section_has_a_heading() -> None:
    sections = {c.section for c in build_registry()} - {"basics"}
    assert sections, "expected more than the basics"
    assert [s for s in sorted(sections) if f"help.section.{s}" not in CATALOGUE] == []


def test_command_summaries_have_no_placeholders_but_prefix() -> None:
    # help fills summaries with only {prefix}.
    for cmd in build_registry():
        entry = next(e for e in CATALOGUE if e.key == cmd.summary)
        assert entry.placeholders <= {"prefix"}, cmd.summary


# ----- the wordings issue 11 found -------------------------------------------------------


def test_the_wordings_seen_in_the_demo_read_well() -> None:
    def get(key: str, **values: object) -> str:
        return CATALOGUE.get(key, prefix=PREFIX, **values)

    assert get("poll.answered_so_far", count=1) == "1 person has answered so far."
    assert "tie" in get("poll.ended_tie", top="Tuesday morning, Thursday afternoon")
    assert get("ping.pong") != "pong" and textstat.lexicon_count(get("ping.pong")) >= 4
    assert get("workshop.cancel_done", number=3, count=1).endswith(
        "told the 1 person who answered."
    )
    assert get("workshop.move_done", number=3, when="Friday", count=2).endswith(
        "told the 2 people who answered."
    )
    assert "you asked for" in get("export.ready", format="CSV", what="all feedback", count=1)
    team = get("export.ready_team", format="CSV", what="all feedback", count=2)
    assert "someone in the team asked for" in team and "@" not in team


def test_every_part_with_more_for_organisers_says_so_in_help() -> None:
    """!help lists "!help polls: ..." for each part where champions or the team can do more."""
    registry = build_registry()
    organised = {c.section for c in registry if c.role is not Role.MEMBER}
    assert [s for s in sorted(organised) if f"help.more.{s}" not in CATALOGUE] == []
