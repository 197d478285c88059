"""The statistical crisis second opinion (routing/crisis_model.py) and its shipped weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmarks import crisis_ensemble
from benchmarks.crisis_ensemble import load_cases, training_files
from routing.crisis_model import (
    CHAR_NGRAMS,
    CONCERN_WEIGHTS_PATH,
    WEIGHTS_PATH,
    CrisisModel,
    ModelFileError,
    default_concern_model,
    default_model,
    load_model,
    score,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "routing" / "data"

# Everyday sentences that share words with crises: the model must not raise them.
HARD_NEGATIVES = (
    "死ぬほど笑った",
    "スマホが死んだ",
    "包丁で指を切った",
    "推しが尊くて死ぬ",
    "ゲームで死んだわ",
    "バッテリーが死んでる",
    "七輪で焼肉した",
    "髪切った！",
    "薬局で風邪薬を買った",
    "明日の朝、病院に行きます",
)
CLEAR_CRISES = (
    "薬ぜんぶ飲んだ",
    "今から死にます",
    "手首切った",
    "i took all my pills",
)


def test_scores_are_probabilities() -> None:
    for text in (*HARD_NEGATIVES, *CLEAR_CRISES, "", "   ", "😀" * 50):
        assert 0.0 <= score(text) <= 1.0


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_everyday_sentences_with_crisis_words_stay_below_the_threshold(text: str) -> None:
    assert score(text) < default_model().threshold


@pytest.mark.parametrize("text", CLEAR_CRISES)
def test_clear_crises_reach_the_threshold(text: str) -> None:
    assert default_model().reaches(text)


def test_a_score_does_not_depend_on_what_was_scored_before() -> None:
    before = score("手首切った")
    for text in HARD_NEGATIVES:
        score(text)
    assert score("手首切った") == before


@pytest.mark.parametrize("path", [WEIGHTS_PATH, CONCERN_WEIGHTS_PATH], ids=["crisis", "concern"])
def test_the_weights_file_keeps_no_message(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    # Besides the weights: numbers, and a 16-character hash of the training data.
    assert set(data) == {
        *("version", "char_ngrams", "bias", "threshold", "C", "keep_above", "trained_on"),
        "weights",
    }
    assert isinstance(data["trained_on"], str) and len(data["trained_on"]) == 16
    keys = data["weights"]
    # Every key is a character n-gram of at most four characters, or one or two words: no
    # message longer than that can be in the file.
    assert all(k[:1] in ("c", "w") for k in keys)
    assert all(len(k) - 1 <= CHAR_NGRAMS[1] for k in keys if k.startswith("c"))
    assert all(len(k.split()) <= 2 for k in keys if k.startswith("w"))


def test_weights_made_with_other_features_are_refused(tmp_path: Path) -> None:
    data = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    data["char_ngrams"] = [2, 5]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFileError, match="rerun scripts/train_crisis_model.py"):
        load_model(path)


@pytest.mark.parametrize("broken", ["[]", '{"char_ngrams": [1, 4]}', "not json"])
def test_a_broken_weights_file_is_named_not_a_traceback(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(ModelFileError, match=str(path)):
        load_model(path)


def _train(out: Path, hash_seed: str) -> tuple[bytes, bytes]:
    concern_out = out.with_name("concern-" + out.name)
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run(
        [
            sys.executable,
            "scripts/train_crisis_model.py",
            "--threshold",
            str(default_model().threshold),
            "--out",
            out,
            "--concern-threshold",
            str(default_concern_model().threshold),
            "--concern-out",
            concern_out,
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return out.read_bytes(), concern_out.read_bytes()


SCORE_TOLERANCE = 0.01
"""How far a message's score from a fresh training may be from the shipped model's. liblinear
stops within its tolerance at a point that depends on the CPU's floating-point paths (the same
data gave weights 1e-4 apart on two machines of this kind), so the weights' bytes are not
portable; what a person gets from them, the score of each message, is compared instead."""


def test_training_is_deterministic_and_the_shipped_weights_are_what_it_makes(
    tmp_path: Path,
) -> None:
    fresh_path = tmp_path / "a.json"
    first = _train(fresh_path, "1")
    assert _train(tmp_path / "b.json", "2") == first, "the same data, the same weights"
    texts = [case.text for path in training_files() for case in load_cases(path)]
    for fresh_file, shipped_file in (
        (fresh_path, WEIGHTS_PATH),
        (fresh_path.with_name("concern-a.json"), CONCERN_WEIGHTS_PATH),
    ):
        # Weights left behind by a change to the labelled sets fail here: rerun the training.
        assert _trained_on(fresh_file) == _trained_on(shipped_file)
        fresh, shipped = load_model(fresh_file), load_model(shipped_file)
        assert fresh.threshold == shipped.threshold
        scores = [(fresh.score(text), shipped.score(text)) for text in texts]
        apart = [pair for pair in scores if abs(pair[0] - pair[1]) > SCORE_TOLERANCE]
        assert not apart, f"{len(apart)} of {len(texts)} messages scored differently"


def _trained_on(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["trained_on"])


def test_the_ensemble_benchmark_prints_counts_and_never_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "blind.yaml"
    cases = [
        {"label": "crisis", "text": "今日薬ぜんぶ飲んだ"},
        {"label": "concern", "text": "さみしくて眠れない"},
        {"label": "none", "text": "死ぬほど笑った"},
    ]
    path.write_text(yaml.safe_dump(cases, allow_unicode=True), encoding="utf-8")
    crisis_ensemble.main([str(path)])
    out = capsys.readouterr().out
    for detector in ("lexicon", "model", "combined"):
        assert f"{'blind.yaml':<34} {detector:<9}" in out
    assert "1.000 (1/1)" in out and "0.000 (0/1)" in out
    assert not any(case["text"] in out for case in cases)


def test_the_second_opinion_never_overrules_a_context_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from routing import crisis
    from routing.model import RiskLevel

    # A model that calls everything a crisis shows exactly where assess() lets it decide.
    always = CrisisModel(weights={}, bias=0.0, threshold=0.0)
    monkeypatch.setattr(crisis, "_SECOND_OPINION", always)
    raised = crisis.assess("もう全部どうでもよくなった、あとはよろしく")
    assert raised.level is RiskLevel.CRISIS and raised.signals == (crisis.MODEL_SIGNAL,)
    # what the lexicon read as concern, it may raise, and says so first among the signals
    wish = crisis.assess("消えたい")
    assert wish.level is RiskLevel.CRISIS and wish.signals[0] == crisis.MODEL_SIGNAL
    assert len(wish.signals) > 1  # the lexicon's own reading is kept beside it
    # what a context rule set aside stays set aside (an idiom), and an evasion spelling alone
    # only adds weight (SAFETY.md): the model does not decide either
    assert crisis.assess("死ぬほど笑った").level is RiskLevel.NONE
    assert crisis.assess("自サツ").level is RiskLevel.CONCERN
    never = CrisisModel(weights={}, bias=0.0, threshold=1.01)
    monkeypatch.setattr(crisis, "_SECOND_OPINION", never)
    assert crisis.assess("もう全部どうでもよくなった、あとはよろしく").level is not RiskLevel.CRISIS


def test_with_the_shipped_weights_the_levels_of_safety_md_hold() -> None:
    from routing import crisis
    from routing.model import RiskLevel

    # passive wishes and an evasion word alone stay concern; an idiom stays ordinary
    for text in ("消えたい", "いなくなりたいな", "楽になりたい", "高校のころは毎日死にたかった"):
        assert crisis.assess(text).level is RiskLevel.CONCERN, text
    assert crisis.assess("死ぬほど笑った").level is RiskLevel.NONE
    # joined with a means, a time or an act, a wish is a crisis
    for text in (
        "消えたい。ロープはもう買ってある",
        "消えたい、今夜やる",
        "消えたくて薬ぜんぶ飲んだ",
    ):
        assert crisis.assess(text).level is RiskLevel.CRISIS, text


def test_the_concern_model_raises_only_what_nothing_else_noticed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from routing import crisis
    from routing.model import RiskLevel

    # A concern model that flags everything shows exactly where assess() lets it decide.
    always = CrisisModel(weights={}, bias=0.0, threshold=0.0)
    monkeypatch.setattr(crisis, "_ATTENTION", always)
    raised = crisis.assess("明日の天気どう？")
    assert raised.level is RiskLevel.CONCERN and raised.signals == (crisis.CONCERN_MODEL_SIGNAL,)
    # it never lowers: a crisis stays a crisis, the lexicon's concern stays the lexicon's
    assert crisis.assess("薬ぜんぶ飲んだ").level is RiskLevel.CRISIS
    assert crisis.CONCERN_MODEL_SIGNAL not in crisis.assess("消えたい").signals
    # an idiom a context rule set aside stays ordinary
    assert crisis.assess("死ぬほど笑った").level is RiskLevel.NONE
    never = CrisisModel(weights={}, bias=0.0, threshold=1.01)
    monkeypatch.setattr(crisis, "_ATTENTION", never)
    assert crisis.assess("明日の天気どう？").level is RiskLevel.NONE


def test_with_the_shipped_concern_weights_plain_distress_is_noticed_and_errands_are_not() -> None:
    from routing import crisis
    from routing.model import RiskLevel

    # No lexicon word in these: grief and a lost job said plainly.
    for text in ("夫が亡くなってから毎晩ひとりでご飯を食べてる", "仕事が 見つからない"):
        found = crisis.assess(text)
        assert found.level is RiskLevel.CONCERN, text
        assert found.signals[0] == crisis.CONCERN_MODEL_SIGNAL
    for text in ("明日の天気どう？", "近くの図書館って何時まで？", "こんにちは", "hello"):
        assert crisis.assess(text).level is RiskLevel.NONE, text
