"""Statistical second opinions on crisis and concern: logistic regression over character
n-grams and words.

The lexicon (routing/crisis.py) knows the words it was taught; these models generalise a little
to paraphrase, typos and dialect. `routing.crisis.assess` asks the crisis model when the lexicon
finds no crisis, and the concern model when it finds nothing worth attention: each may *raise* a
message (to crisis, to concern), never lower one (`python -m benchmarks.crisis_ensemble`
compares the lexicon, the crisis model and both on any labelled files).

The weights are trained offline by scripts/train_crisis_model.py (scikit-learn, a dev-only
dependency) and read here in pure Python. The file holds n-grams of at most a few characters and
their weights, never a message. The text scored is held only for the call and never kept.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from routing.normalize import normalize

WEIGHTS_PATH = Path(__file__).resolve().parent / "data" / "crisis_model.json"
CONCERN_WEIGHTS_PATH = WEIGHTS_PATH.with_name("concern_model.json")
"""The same kind of model, trained to tell messages worth attention (crisis or concern) from
ordinary ones."""

CHAR_NGRAMS = (1, 4)
"""Shortest and longest character n-gram read from the normalised text."""

_WORD = re.compile(r"[a-z0-9']+")
_BLANK = re.compile(r"\s")


def parts(text: str) -> tuple[set[str], set[str]]:
    """What the models read of a message (its character n-grams and words): computed once when
    both models score the same message."""
    return _parts(normalize(text))


def features(text: str) -> set[str]:
    """The distinct features of one message: character n-grams of its normalised form, prefixed
    `c`, and English (or romaji) word unigrams and bigrams, prefixed `w`.

    Presence, not counts: a word said twice is no more a crisis than said once.
    """
    grams, words = _parts(normalize(text))
    return {"c" + g for g in grams} | {"w" + w for w in words}


def _parts(norm: str) -> tuple[set[str], set[str]]:
    """The character n-grams and the words of a normalised text, each without its prefix."""
    low, high = CHAR_NGRAMS
    grams = {norm[i : i + n] for n in range(low, high + 1) for i in range(len(norm) - n + 1)}
    if _BLANK.search(norm):  # a run of blanks says nothing (filtered only when there is one)
        grams = {g for g in grams if not g.isspace()}
    words = _WORD.findall(norm)
    return grams, {*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))}


@dataclass(frozen=True, slots=True)
class CrisisModel:
    """Weights of a trained model; `score` is its probability that a message is of the class it
    was trained to find (a crisis; for the concern model, worth attention)."""

    weights: dict[str, float]
    bias: float
    threshold: float
    """Scores at or above this raise a message (chosen on messages the model had not learnt from:
    see scripts/train_crisis_model.py)."""
    _by_kind: tuple[dict[str, float], dict[str, float]] = field(
        init=False, repr=False, compare=False
    )
    """The weights of character n-grams and of words, without their prefixes: a message's
    features are looked up without building a prefixed string for each."""

    def __post_init__(self) -> None:
        chars = {f[1:]: w for f, w in self.weights.items() if f.startswith("c")}
        words = {f[1:]: w for f, w in self.weights.items() if f.startswith("w")}
        object.__setattr__(self, "_by_kind", (chars, words))

    def score(self, text: str) -> float:
        return self.score_parts(*parts(text))

    def score_parts(self, grams: set[str], words: set[str]) -> float:
        n = len(grams) + len(words)
        if not n:
            return _sigmoid(self.bias)
        chars, known = self._by_kind
        char, word = chars.get, known.get
        # The feature vector is L2-normalised at training: every present feature counts 1/√n.
        total = sum(char(g, 0.0) for g in grams) + sum(word(w, 0.0) for w in words)
        return _sigmoid(self.bias + total / math.sqrt(n))

    def reaches(self, text: str) -> bool:
        return self.score(text) >= self.threshold

    def to_json(self, extra: dict[str, object] | None = None) -> str:
        data: dict[str, object] = {
            "version": 1,
            "char_ngrams": list(CHAR_NGRAMS),
            "bias": self.bias,
            "threshold": self.threshold,
            **(extra or {}),
            "weights": dict(sorted(self.weights.items())),
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class ModelFileError(ValueError):
    """The weights file is missing, unreadable or was made with other features."""


def load_model(path: Path = WEIGHTS_PATH) -> CrisisModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or tuple(data.get("char_ngrams", ())) != CHAR_NGRAMS:
        raise ModelFileError(
            f"{path}: trained on character n-grams "
            f"{data.get('char_ngrams') if isinstance(data, dict) else None}, "
            f"this code reads {list(CHAR_NGRAMS)}; rerun scripts/train_crisis_model.py"
        )
    # A broken file stops the service at start-up (routing.crisis loads it on import), with
    # its path named: better than a detector running without the second opinion unnoticed.
    try:
        return CrisisModel(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path}: not a model weights file ({exc!r})") from exc


@cache
def default_model() -> CrisisModel:
    return load_model()


@cache
def default_concern_model() -> CrisisModel:
    return load_model(CONCERN_WEIGHTS_PATH)


def score(text: str) -> float:
    """The shipped model's probability, in [0, 1], that this message is a crisis."""
    return default_model().score(text)


def weights_of(pairs: Iterable[tuple[str, float]], keep_above: float) -> dict[str, float]:
    """Only the weights that matter: the rest change no score by more than rounding."""
    return {f: round(w, 4) for f, w in pairs if abs(w) >= keep_above}
