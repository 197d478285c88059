"""The crisis scanner only tries a pattern where it can start: it must never skip a real match."""

from __future__ import annotations

import re

import pytest

from benchmarks.crisis_eval import DEV, load_cases
from routing.crisis import _heads, _starts, default_detector
from routing.normalize import normalize


def _all_patterns() -> list[str]:
    lexicon = default_detector().lexicon
    patterns = [lexicon.expand(p) for s in lexicon.signals for p in s.patterns]
    patterns += [lexicon.expand(p) for c in lexicon.negative_contexts for p in c.patterns]
    return patterns


def test_every_match_in_the_labelled_messages_starts_where_the_scanner_looks() -> None:
    texts = [normalize(case.text) for case in load_cases(DEV)]
    missed = []
    for pattern in _all_patterns():
        starts = _starts(pattern)
        if starts is None:
            continue
        regex = re.compile(pattern, re.IGNORECASE)
        for text in texts:
            for m in regex.finditer(text):
                if m.start() < len(text) and text[m.start()] not in starts:
                    missed.append((pattern[:40], text[m.start()]))
    assert missed == []


@pytest.mark.parametrize(
    ("pattern", "starts"),
    [
        ("死にたい|しにたい", {"死", "し"}),
        ("(?<![a-z])od(した|中)", {"o"}),
        ("(今|いま)?から", {"今", "い", "か"}),
        ("x{0,3}y", {"x", "y"}),
        ("[0-9]{2,}錠", set("0123456789")),
        ("[A-C]x", {"a", "b", "c"}),
        (r"\d+錠", set("0123456789")),
        (r"[\]a]b", {"]", "a"}),
    ],
)
def test_the_start_characters_of_a_pattern_are_read_from_its_source(
    pattern: str, starts: set[str]
) -> None:
    assert _starts(pattern) == starts


@pytest.mark.parametrize("pattern", ["[^。]{0,3}死", ".死", "(?i)死", r"\w+死", "a?", "(死)*"])
def test_a_pattern_that_may_start_anywhere_is_tried_everywhere(pattern: str) -> None:
    assert _starts(pattern) is None


def test_every_match_in_the_labelled_messages_begins_with_a_pair_the_scanner_files_it_under() -> (
    None
):
    texts = [normalize(case.text) for case in load_cases(DEV)]
    missed = []
    for pattern in _all_patterns():
        heads = _heads(pattern)
        if heads is None:
            continue
        regex = re.compile(pattern, re.IGNORECASE)
        for text in texts:
            for m in regex.finditer(text):
                if text[m.start() : m.start() + 2] not in heads:
                    missed.append((pattern[:40], text[m.start() : m.start() + 2]))
    assert missed == []


@pytest.mark.parametrize(
    ("pattern", "heads"),
    [
        ("(死|し)にたい", {"死に", "しに"}),
        ("a?bc", {"ab", "bc"}),
        ("(?<![a-z])od(した|中)", {"od"}),
        ("(?:a|b)+c", {"aa", "ab", "ba", "bb", "ac", "bc"}),
        (r"\d錠", {f"{d}錠" for d in "0123456789"}),
    ],
)
def test_the_first_two_characters_of_a_pattern_are_read_from_its_parse(
    pattern: str, heads: set[str]
) -> None:
    assert _heads(pattern) == heads


@pytest.mark.parametrize("pattern", ["ab|c", "x*", ".死", "[^。]死", "死."])
def test_a_pattern_whose_first_two_characters_cannot_be_told_keeps_the_one_character_path(
    pattern: str,
) -> None:
    assert _heads(pattern) is None
