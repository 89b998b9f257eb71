"""The command registry: one decorator records a command's name, help and who may run it.

Help is generated from here, filtered by what the asker may do, so help and
code never drift apart. A module may also listen for other things people do
(reactions, removals, poll answers, plain messages) and handle scheduled jobs.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.roles import Role

if TYPE_CHECKING:
    from sqlite_utils import Database

    from bot.config import Config
    from bot.context import Context
    from bot.scheduler import Job
    from storage.conversations import Pending

Handler = Callable[["Context"], Awaitable[None]]
# A listener returns True when the event was for it; the next one is not asked.
Listener = Callable[["Context"], Awaitable[bool]]
JobHandler = Callable[["Job"], Awaitable[None]]
# Gets a person's reply to a question the bot asked (see Context.ask); returns
# True if it was an answer, False to let the reply be treated as anything else.
AnswerHandler = Callable[["Context", "Pending"], Awaitable[bool]]
Forgetter = Callable[["Database", str], None]
# What only the chat holds of a person (e.g. ballot answers not counted yet), for
# !forget me: read before their rows are forgotten, it returns what to queue once
# they are (queued earlier, forgetting them would stop it being sent).
ChatForgetter = Callable[["Context", str], Callable[[], None]]
# A feature's rows about a person, for !mydata: {table: [row, ...]}.
Sharer = Callable[["Database", str], dict[str, list[dict[str, Any]]]]
# Sees every event of its kind before anything else; cannot take it.
Watcher = Callable[["Context"], None]
# Told that a question of its kind was replaced, unanswered, by a newer one
# (whose kind is given: a feature's own next question is not an abandonment).
Abandoned = Callable[["Context", "Pending", str], None]
# Someone typed a command almost right, with words after it (in ctx.args), and the
# command they meant wants to look after those words (see CommandSet.near_miss).
NearMiss = Callable[["Context", "Command"], Awaitable[None]]
MAX_WORDS = 3
# How alike a typed word and a command must be to suggest it (difflib's ratio):
# "feedbak" and "feedback" are 0.93, "hepl" and "help" 0.75, "go" and "going" 0.57.
SIMILAR = 0.7


@dataclass(frozen=True)
class Command:
    name: str  # one or more words, lower case: "champion add"
    handler: Handler
    summary: str  # a key in the messages catalogue
    usage: str  # an example of what to type after the prefix, e.g. "going 2"
    section: str
    role: Role | Callable[[Config], Role]  # fixed, or decided by the config

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def required_role(self, config: Config) -> Role:
        return self.role if isinstance(self.role, Role) else self.role(config)

    def for_everyone(self, config: Config) -> bool:
        """Anyone may run it, not only champions or the team (help lists these first)."""
        return self.required_role(config) <= Role.MEMBER


class CommandSet:
    """The commands of one module, declared with ``@commands.command(...)``."""

    def __init__(self, section: str) -> None:
        self.section = section
        self.commands: list[Command] = []
        self.listeners: list[tuple[type, Listener]] = []
        self.jobs: dict[str, JobHandler] = {}
        self.daily_jobs: set[str] = set()
        self.answers: dict[str, AnswerHandler] = {}
        self.forgetters: list[Forgetter] = []
        self.chat_forgetters: list[ChatForgetter] = []
        self.sharers: list[Sharer] = []
        self.watchers: list[tuple[type, Watcher]] = []
        self.abandoned: dict[str, Abandoned] = {}
        self.near_misses: dict[str, NearMiss] = {}

    def near_miss(self, name: str) -> Callable[[NearMiss], NearMiss]:
        """Called instead of "Did you mean ...?" when someone types command ``name``
        almost right with words after it (e.g. "!feedbak the bus is late")."""

        def register(handler: NearMiss) -> NearMiss:
            self.near_misses[name] = handler
            return handler

        return register

    def shares(self, personal_data: Sharer) -> Sharer:
        """Declare this feature's rows about a person (used by ``!mydata``)."""
        self.sharers.append(personal_data)
        return personal_data

    def watch(self, kind: type) -> Callable[[Watcher], Watcher]:
        """See every event of this kind first (e.g. safeguarding); cannot consume it."""

        def register(watcher: Watcher) -> Watcher:
            self.watchers.append((kind, watcher))
            return watcher

        return register

    def on_abandoned(self, kind: str) -> Callable[[Abandoned], Abandoned]:
        """Called when a question of this kind is replaced by a newer one, unanswered."""

        def register(handler: Abandoned) -> Abandoned:
            self.abandoned[kind] = handler
            return handler

        return register

    def forgets(self, forget: Forgetter) -> Forgetter:
        """Declare how this feature erases a person (used by ``!forget me``)."""
        self.forgetters.append(forget)
        return forget

    def forgets_in_chat(self, forget: ChatForgetter) -> ChatForgetter:
        """Declare what ``!forget me`` deletes in the chat itself (see ChatForgetter)."""
        self.chat_forgetters.append(forget)
        return forget

    def daily(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        """A job that runs once a day, from the bot's first start on."""
        self.daily_jobs.add(kind)
        return self.job(kind)

    def answer(self, kind: str) -> Callable[[AnswerHandler], AnswerHandler]:
        """Handle people's replies to questions of this kind (asked with Context.ask)."""

        def register(handler: AnswerHandler) -> AnswerHandler:
            self.answers[kind] = handler
            return handler

        return register

    def on(self, kind: type) -> Callable[[Listener], Listener]:
        """Listen for an event kind from bot.context (Message, Reaction, Removal, PollAnswer).

        Message listeners see only messages that are not commands.
        """

        def register(listener: Listener) -> Listener:
            self.listeners.append((kind, listener))
            return listener

        return register

    def job(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        """Handle scheduled jobs of this kind (see bot.scheduler)."""

        def register(handler: JobHandler) -> JobHandler:
            self.jobs[kind] = handler
            return handler

        return register

    def command(
        self,
        name: str,
        *,
        summary: str,
        usage: str | None = None,
        role: Role | Callable[[Config], Role] = Role.MEMBER,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.commands.append(Command(name, handler, summary, usage or name, self.section, role))
            return handler

        return register


class Registry:
    def __init__(self, sets: Iterable[CommandSet]) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}
        self.listeners: list[tuple[type, Listener]] = []
        self.jobs: dict[str, JobHandler] = {}
        self.answers: dict[str, AnswerHandler] = {}
        self.daily_jobs: set[str] = set()
        self.forgetters: list[Forgetter] = []
        self.chat_forgetters: list[ChatForgetter] = []
        self.sharers: list[Sharer] = []
        self.watchers: list[tuple[type, Watcher]] = []
        self.abandoned: dict[str, Abandoned] = {}
        self.near_misses: dict[str, NearMiss] = {}
        for command_set in sets:
            self.listeners += command_set.listeners
            self.daily_jobs |= command_set.daily_jobs
            self.forgetters += command_set.forgetters
            self.chat_forgetters += command_set.chat_forgetters
            self.sharers += command_set.sharers
            self.watchers += command_set.watchers
            self.abandoned.update(command_set.abandoned)
            self.near_misses.update(command_set.near_misses)
            for kind, answer in command_set.answers.items():
                if kind in self.answers:
                    raise ValueError(f"answers to {kind!r} are handled twice")
                self.answers[kind] = answer
            for kind, handler in command_set.jobs.items():
                if kind in self.jobs:
                    raise ValueError(f"job kind {kind!r} is handled twice")
                self.jobs[kind] = handler
            for cmd in command_set.commands:
                if not 1 <= len(cmd.words) <= MAX_WORDS:
                    raise ValueError(f"command {cmd.name!r} must be 1 to {MAX_WORDS} words")
                if cmd.words in self._commands:
                    raise ValueError(f"command {cmd.name!r} is registered twice")
                self._commands[cmd.words] = cmd

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def find(self, words: list[str]) -> tuple[Command, int] | None:
        """The longest command matching the first words, and how many words it used."""
        lowered = [w.lower() for w in words]
        for n in range(min(len(lowered), MAX_WORDS), 0, -1):
            cmd = self._commands.get(tuple(lowered[:n]))
            if cmd is not None:
                return cmd, n
        return None

    def suggest(self, words: list[str], role: Role, config: Config) -> tuple[Command, int] | None:
        """The command someone probably meant by words that match none ("feedbak the bus"):
        the first word made the nearest first word of a command they may run. Returns
        the command and how many of the typed words it stands for, or None."""
        visible = self.visible_to(role, config)
        firsts = sorted({c.words[0] for c in visible})
        close = difflib.get_close_matches(words[0].lower(), firsts, n=1, cutoff=SIMILAR)
        if not close:
            return None
        found = self.find([close[0], *words[1:]])
        if found is not None and found[0] in visible:
            return found
        named = [c for c in visible if c.words[0] == close[0]]
        return min(named, key=lambda c: (len(c.words), c.words)), 1

    def watchers_for(self, event: object) -> list[Watcher]:
        return [watcher for kind, watcher in self.watchers if isinstance(event, kind)]

    def listeners_for(self, event: object) -> list[Listener]:
        return [listener for kind, listener in self.listeners if isinstance(event, kind)]

    def section_named(self, words: list[str]) -> str | None:
        """The help section these words name: a section ("polls") or a command in it
        ("going", "!workshop new")."""
        words = [w.lower().lstrip("!?/.") for w in words]
        if len(words) == 1 and words[0] in {c.section for c in self._commands.values()}:
            return words[0]
        found = self.find(words) if words else None
        return found[0].section if found else None

    def visible_to(self, role: Role, config: Config) -> list[Command]:
        return [c for c in self._commands.values() if c.required_role(config) <= role]
