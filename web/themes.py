"""Suggested themes from people's own words: offline, deterministic, suggestions only.

``suggest_themes`` reads a set of responses and groups them by the words they
share. Each response becomes a TF-IDF vector over its words (scikit-learn,
English stop words removed, single words that appear in at least two
responses), and NMF (non-negative matrix factorisation) splits those
vectors into a few topics. A topic's heaviest words give it a label ("bus,
late"), and each response goes to the topic it belongs to most. Nothing is
downloaded and nothing is random: NMF starts from an SVD of the words
(``init="nndsvd"``, a fixed ``random_state``), so the same responses always
give the same suggestions.

How many themes: from 2 up to ``most`` (and never more than a third of the
responses), one more at a time while the groups keep getting more distinct
(the silhouette score of the responses' TF-IDF vectors by cosine distance,
which rises while a new topic finds a new group and falls once topics start
splitting one); the first peak wins. Fewer than 3 responses give no suggestions, and 3 to 5 give at
most one. A topic no response belongs to most, or only one response does, is
left out: a theme groups what several people said.

These are suggestions for staff to accept, rename or merge; they never count
in reports until accepted. It uses the CPU for a moment (well under a second
for a few hundred responses): call it off the event loop for big sets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics import silhouette_score

MIN_RESPONSES = 3  # fewer give no suggestions
MIN_MEMBERS = 2  # responses a suggested theme must group
WORDS_KEPT = 6  # top words kept with each suggestion
SILHOUETTE_SAMPLE = 2_000  # responses scored when choosing the number of themes
RANDOM_STATE = 0

# Pieces of contractions and words people use in feedback about anything, on top
# of scikit-learn's English stop words: they never tell one theme from another.
EXTRA_STOP_WORDS = frozenset(
    "ca wo don doesn didn isn wasn aren weren haven hasn couldn wouldn shouldn "
    "im ive id ll ve just like really think thing things lot lots bit "
    "thank thanks want wanted need needs got dont cant wont".split()
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS)

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # <b>, </p>, <script src=...>: not words
_NOT = re.compile(r"n['’]t\b", re.IGNORECASE)  # "don't" -> "do not"
_CLITIC = re.compile(r"['’](?:s|re|ve|ll|d|m)\b", re.IGNORECASE)  # "café's" -> "café"
# A word: two or more letters or digits with at least one letter ("10am", not "10").
TOKEN_PATTERN = r"(?u)\b(?=\w*[^\W\d_])\w\w+\b"


class Sparse(Protocol):
    """The parts of scipy's sparse matrix (what TfidfVectorizer returns) used here."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def getnnz(self, axis: int) -> NDArray[np.int_]: ...

    def __getitem__(self, rows: NDArray[np.intp]) -> Sparse: ...


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested theme: a readable label, its top words, and its responses."""

    label: str  # two or three top words, "bus, late"
    words: tuple[str, ...]  # the topic's top words, heaviest first
    feedback_ids: tuple[int, ...]  # the responses whose strongest topic this is, in input order


def suggest_themes(responses: Sequence[tuple[int, str]], most: int = 8) -> list[Suggestion]:
    """Suggested themes for ``(feedback_id, text)`` responses, at most ``most`` of them,
    the biggest first. Too few responses, or no words in common, give ``[]``."""
    if most < 1 or len(responses) < MIN_RESPONSES:
        return []
    ids = [feedback_id for feedback_id, _ in responses]
    matrix, terms = _vectors([text for _, text in responses])
    if matrix is None:
        return []
    has_words = np.asarray(matrix.getnnz(axis=1) > 0)
    if int(has_words.sum()) < MIN_RESPONSES:
        return []
    weights, topics = _best_topics(matrix, has_words, most)
    placed = has_words & (weights.max(axis=1) > 0)  # NMF may give a response no weight
    strongest = np.where(placed, weights.argmax(axis=1), -1)
    suggestions = []
    for topic in range(topics.shape[0]):
        members = tuple(ids[i] for i in np.flatnonzero(strongest == topic))
        if len(members) < MIN_MEMBERS:
            continue
        words = _top_words(topics[topic], terms)
        if words:
            suggestions.append(Suggestion(_label(topics[topic], terms, words), words, members))
    suggestions.sort(key=lambda s: (-len(s.feedback_ids), s.label))
    return suggestions


def clean_text(text: str) -> str:
    """People's words as the vectoriser reads them: lower case, HTML tags and
    entities gone, contractions opened ("don't" -> "do not")."""
    text = html.unescape(_TAG.sub(" ", text))
    text = _NOT.sub(" not", text)
    return _CLITIC.sub("", text).lower()


def _vectors(texts: list[str]) -> tuple[Sparse | None, NDArray[np.str_]]:
    """The TF-IDF matrix of the texts and its terms; None if they share no word."""
    vectoriser = TfidfVectorizer(
        preprocessor=clean_text,
        token_pattern=TOKEN_PATTERN,
        stop_words=STOP_WORDS,
        # Single words: a short response rarely repeats a phrase, and pairs made
        # after stop words are gone ("café lovely") are not what anyone wrote.
        ngram_range=(1, 1),
        min_df=2,  # a word only one person used groups nobody
        sublinear_tf=True,  # a word said twice in one response is not twice the theme
        dtype=np.float64,
    )
    try:
        matrix: Sparse = vectoriser.fit_transform(texts)
    except ValueError:  # empty vocabulary: emoji, stop words, or nothing shared
        return None, np.array([], dtype=np.str_)
    return matrix, vectoriser.get_feature_names_out()


def _best_topics(
    matrix: Sparse, has_words: NDArray[np.bool_], most: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """NMF's response-topic weights and topic-term weights for the best number of topics:
    one more topic at a time, until the groups stop getting more distinct."""
    count = int(has_words.sum())
    rank = min(matrix.shape)
    highest = max(1, min(most, count // 3, rank))
    best = _factorise(matrix, 1 if highest == 1 else 2)
    if highest == 1:
        return best
    score = _distinctness(matrix, has_words, best[0])
    for k in range(3, highest + 1):
        tried = _factorise(matrix, k)
        tried_score = _distinctness(matrix, has_words, tried[0])
        if tried_score <= score:
            break
        best, score = tried, tried_score
    return best


def _factorise(matrix: Sparse, k: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    model = NMF(n_components=k, init="nndsvd", random_state=RANDOM_STATE, max_iter=1000)
    weights = model.fit_transform(matrix)
    return np.asarray(weights, dtype=np.float64), np.asarray(model.components_, np.float64)


def _distinctness(
    matrix: Sparse, has_words: NDArray[np.bool_], weights: NDArray[np.float64]
) -> float:
    """How well the responses fall into separate groups (silhouette, -1 to 1)."""
    rows = np.flatnonzero(has_words)
    labels = weights[rows].argmax(axis=1)
    groups = len(set(labels.tolist()))
    if groups < 2 or groups >= len(rows):
        return -1.0
    return float(
        silhouette_score(
            matrix[rows],
            labels,
            metric="cosine",
            sample_size=min(len(rows), SILHOUETTE_SAMPLE),
            random_state=RANDOM_STATE,
        )
    )


def _top_words(weights: NDArray[np.float64], terms: NDArray[np.str_]) -> tuple[str, ...]:
    """The topic's heaviest words (a tie in alphabetical order)."""
    order = sorted(range(len(terms)), key=lambda i: (-weights[i], terms[i]))
    return tuple(str(terms[i]) for i in order[:WORDS_KEPT] if weights[i] > 0)


def _label(weights: NDArray[np.float64], terms: NDArray[np.str_], words: tuple[str, ...]) -> str:
    """Two top words, and a third when it weighs at least half as much as the first."""
    weight = dict(zip(terms.tolist(), weights.tolist(), strict=True))
    label = list(words[:2])
    if len(words) > 2 and weight[words[2]] >= 0.5 * weight[words[0]]:
        label.append(words[2])
    return ", ".join(label)
