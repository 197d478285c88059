"""The crisis lexicon alone, the statistical model alone, and the two together, on labelled files.

    python -m benchmarks.crisis_ensemble [files...]

Each file is a YAML list of {text, label, family?} (labels crisis / concern / none), like those in
tests/routing/data/. Without files, those sets are measured — but the shipped model was trained
on them and the lexicon tuned on them, so only files nobody has read say anything about new
authors. "combined" is max(lexicon, model): the model may raise a message to crisis when its
score reaches the threshold stored with its weights, and never lowers anything. "shipped" is
what routing.crisis.assess does: the same, except where a context rule of the lexicon set a
signal aside (an idiom, a benign sense, a hedge) or it found evasion spellings alone, which the
model does not overrule.

Message texts are never printed: only counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from routing.crisis_model import WEIGHTS_PATH, CrisisModel, load_model

DATA = Path(__file__).resolve().parent.parent / "tests" / "routing" / "data"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    label: str
    family: str | None = None


def load_cases(path: Path) -> list[Case]:
    """One labelled file, read with libyaml where present (the pure-Python reader is slow)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    return [Case(str(r["text"]), str(r["label"]), r.get("family")) for r in raw]


BLIND_PREFIXES = ("crisis_val_", "crisis_final_")
"""Sets kept for measuring, never learnt from: validation (the threshold was chosen on them) and
final (measured once)."""


def training_files(directory: Path = DATA) -> list[Path]:
    """The labelled sets the model learns from: every set but the blind ones."""
    return [p for p in sorted(directory.glob("*.yaml")) if not p.name.startswith(BLIND_PREFIXES)]


def blind_files(directory: Path = DATA) -> list[Path]:
    return [p for p in sorted(directory.glob("*.yaml")) if p.name.startswith(BLIND_PREFIXES)]


def fingerprint(paths: Sequence[Path]) -> str:
    """Which labelled data a model was trained on, without keeping any of it."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        # the messages and labels, not the bytes: a comment added to a file changes no model
        cases = [(case.text, case.label) for case in load_cases(path)]
        digest.update(path.name.encode() + b"\0")
        digest.update(json.dumps(cases, ensure_ascii=False).encode() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Scored:
    label: str
    lexicon_crisis: bool
    score: float
    set_aside: bool = False
    """The lexicon's reading is one the model may not raise (routing.crisis.second_opinion_may_raise):
    a context rule set a signal aside, or it found evasion spellings alone."""


def score_cases(cases: Sequence[Case], model: Callable[[str], float]) -> list[Scored]:
    """Each message read by the lexicon and scored by the model; the text is not kept."""
    # the lexicon alone (assess() also asks the model); compiled only when needed: it takes a while
    from routing.crisis import default_detector, second_opinion_may_raise
    from routing.model import RiskLevel

    lexicon = default_detector()
    scored = []
    for c in cases:
        found = lexicon.assess(c.text)
        crisis = found.level is RiskLevel.CRISIS
        set_aside = not crisis and not second_opinion_may_raise(found)
        scored.append(Scored(c.label, crisis, model(c.text), set_aside))
    return scored


@dataclass(frozen=True)
class Rates:
    crisis: int
    found: int
    none: int
    alarms: int
    """Ordinary (`none`) messages called crisis."""
    concern: int
    raised: int
    """Concern messages called crisis."""

    @staticmethod
    def of(scored: Sequence[Scored], says_crisis: Callable[[Scored], bool]) -> Rates:
        def count(label: str, only_flagged: bool) -> int:
            return sum(
                1 for s in scored if s.label == label and (not only_flagged or says_crisis(s))
            )

        return Rates(
            count("crisis", False),
            count("crisis", True),
            count("none", False),
            count("none", True),
            count("concern", False),
            count("concern", True),
        )

    @property
    def recall(self) -> float:
        return self.found / self.crisis if self.crisis else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.alarms / self.none if self.none else 0.0

    def cells(self) -> str:
        def rate(a: int, b: int) -> str:
            return f"{a / b:.3f} ({a}/{b})" if b else "-"

        return (
            f"{rate(self.found, self.crisis):>18} {rate(self.alarms, self.none):>16} "
            f"{rate(self.raised, self.concern):>16}"
        )


def detectors(threshold: float) -> dict[str, Callable[[Scored], bool]]:
    return {
        "lexicon": lambda s: s.lexicon_crisis,
        "model": lambda s: s.score >= threshold,
        "combined": lambda s: s.lexicon_crisis or s.score >= threshold,
        "shipped": lambda s: s.lexicon_crisis or (not s.set_aside and s.score >= threshold),
    }


def table(named: Sequence[tuple[str, Sequence[Scored]]], threshold: float) -> str:
    lines = [
        f"{'file':<34} {'detector':<9} {'crisis recall':>18} {'false alarms':>16} "
        f"{'concern→crisis':>16}"
    ]
    pooled = [s for _, scored in named for s in scored]
    rows = [*named, ("pooled", pooled)] if len(named) > 1 else list(named)
    for name, scored in rows:
        for detector, says in detectors(threshold).items():
            lines.append(f"{name:<34} {detector:<9} {Rates.of(scored, says).cells()}")
    return "\n".join(lines)


def latency(model: CrisisModel, cases: Sequence[Case], rounds: int = 5) -> tuple[float, float]:
    """Median and p99 µs per message for `score` (best of `rounds` each, as crisis_eval does)."""
    per_message = []
    for case in cases:
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            model.score(case.text)
            best = min(best, time.perf_counter() - start)
        per_message.append(best * 1e6)
    per_message.sort()
    return statistics.median(per_message), per_message[int(len(per_message) * 0.99)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="labelled YAML files")
    parser.add_argument("--weights", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--threshold", type=float, help="instead of the one stored")
    # `python -m benchmarks` calls main() bare: its own arguments are not files for this one.
    args = parser.parse_args([] if argv is None else argv)

    stored = json.loads(args.weights.read_text(encoding="utf-8"))
    model = load_model(args.weights)
    threshold = model.threshold if args.threshold is None else args.threshold
    files = args.files or blind_files() or training_files()
    print(
        f"weights {args.weights} ({args.weights.stat().st_size} bytes, "
        f"{len(model.weights)} weights), threshold {threshold:.4f}"
    )
    if stored.get("trained_on") != fingerprint(training_files()):
        print(
            "note: tests/routing/data/ changed since the weights were trained "
            "(rerun scripts/train_crisis_model.py to include it)"
        )
    if not args.files:
        print(
            "no files given: the blind sets (never learnt from, never tuned on)"
            if blind_files()
            else "no files given: measuring the training sets themselves (NOT blind figures)"
        )
    named = []
    everything: list[Case] = []
    for path in files:
        cases = load_cases(path)
        everything += cases
        named.append((path.name, score_cases(cases, model.score)))
    print(table(named, threshold))
    median, p99 = latency(model, everything)
    print(f"score() latency: median {median:.0f} µs, p99 {p99:.0f} µs per message")


if __name__ == "__main__":
    main(sys.argv[1:])
