"""Text normalisation for crisis matching: one canonical spelling for the many ways people type.

Each step is a small function (tested on its own); `normalize` runs them in SAFETY.md's order.
The normalised text lives only in memory, like the original; nothing here keeps or logs it.
"""

from __future__ import annotations

import re
import unicodedata

# Zero-width and invisible characters people (or keyboards) slip between letters; variation
# selectors go too, so ⚰️ and ⚰ are the same emoji.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff\ufe00-\ufe0f]")

_SMALL_KANA = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ")
# ぢ/づ sound like じ/ず and are typed for them (のんぢゃった, つずく): one spelling.
_YOTSUGANA = str.maketrans("ぢづ", "じず")

# Elongation marks: removed everywhere (しにたーーーい, ロープ → ろぷ) so text and lexicon
# agree; the lexicon is normalised by the same function.
_ELONGATION = re.compile("[ー‐−]+")

# Separators people put between characters to dodge filters (し・に・た・い, 死 に た い).
_SEPARATORS = "\\s・･、,._\\-/~〜*＊…‥'\"`^=+"
_JP = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆"
_BETWEEN_JAPANESE = re.compile(f"(?<=[{_JP}])[{_SEPARATORS}]+(?=[{_JP}])")
# s h i n i t a i: single ASCII letters spaced out. A letter with a diacritic counts as a
# letter, so the last letter of a Vietnamese or French word (muốn tự) is not taken for one.
_LETTER = "a-z\u00c0-\u024f\u1e00-\u1eff"
_SPACED_LETTERS = re.compile(f"(?<![{_LETTER}])([a-z])(?:[ ._\\-*]+(?=[a-z](?![{_LETTER}])))")
_SPACES = re.compile(r"[ \t\u3000]+")
# OD して, LINE で: a space between a Latin word and Japanese only separates scripts.
_BETWEEN_SCRIPTS = re.compile(
    f"(?<=[a-z0-9])[ \t\u3000]+(?=[{_JP}])|(?<=[{_JP}])[ \t\u3000]+(?=[a-z0-9])"
)

# A run of one non-ASCII character (kana, kanji, emoji) is read once: 死にたいいいい, 💊💊💊.
_REPEATED_NON_ASCII = re.compile(r"([^\x00-\x7f])\1+")
# ASCII letters keep two (kill, all), so dieeee → diee still holds "die".
_REPEATED_LETTER = re.compile(r"([a-z])\1{2,}")


# Phone keyboards type curly apostrophes (i’m, don’t); NFKC leaves them curly.
_APOSTROPHES = str.maketrans("\u2018\u2019\u02bc\uff07", "''''")


def fold_width(text: str) -> str:
    """Unicode NFKC: half-width katakana, full-width ASCII and circled digits become plain;
    curly apostrophes become straight ones."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)


def to_hiragana(text: str) -> str:
    """Katakana → hiragana, so シニタイ and しにたい are one word."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def fold_small_kana(text: str) -> str:
    """Small kana become full size (しにたぃ → しにたい); ぢ and づ are read as じ and ず."""
    return text.translate(_SMALL_KANA).translate(_YOTSUGANA)


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def join_broken_lines(text: str) -> str:
    """A line of one or two characters is part of its neighbour (OD⏎した, し⏎に⏎た⏎い):
    people split words across lines; longer lines stay apart, as sentences."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    out = [lines[0]]
    for line in lines[1:]:
        if len(out[-1].strip()) <= 2 or len(line.strip()) <= 2:
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)


def strip_separators(text: str) -> str:
    """Drop separators between Japanese characters and between spaced-out ASCII letters."""
    text = join_broken_lines(text)
    text = _BETWEEN_JAPANESE.sub("", text)
    text = _SPACED_LETTERS.sub(r"\1", text)
    text = _BETWEEN_SCRIPTS.sub("", text)
    return _SPACES.sub(" ", text)


def _vowel_table() -> dict[str, str]:
    rows = {
        "a": "あかがさざただなはばぱまやらわ",
        "i": "いきぎしじちぢにひびぴみり",
        "u": "うくぐすずつづぬふぶぷむゆる",
        "e": "えけげせぜてでねへべぺめれ",
        "o": "おこごそぞとどのほぼぽもよろを",
    }
    return {kana: vowel for vowel, row in rows.items() for kana in row}


_VOWEL_OF = _vowel_table()
_SMALL_VOWEL = {"ぁ": "a", "ぃ": "i", "ぅ": "u", "ぇ": "e", "ぉ": "o"}
_ELONGATING_SMALL = re.compile("(?<=[\u3041-\u3096])[ぁぃぅぇぉ]+")


def drop_small_elongation(text: str) -> str:
    """A small vowel that repeats the vowel before it only stretches it: 死にたぁい → 死にたい.

    Any other small vowel (しにたぃ, typed for い) stays, to be folded to full size."""

    def one(m: re.Match[str]) -> str:
        before = _VOWEL_OF.get(text[m.start() - 1])
        return "".join(c for c in m.group() if _SMALL_VOWEL[c] != before)

    return _ELONGATING_SMALL.sub(one, text)


def compress_repeats(text: str) -> str:
    """Elongation and repeats: しにたーーーい → しにたい, 死にたいいいい → 死にたい."""
    text = _ELONGATION.sub("", text)
    text = _REPEATED_NON_ASCII.sub(r"\1", text)
    return _REPEATED_LETTER.sub(r"\1\1", text)


def fold_case(text: str) -> str:
    return text.lower()


def normalize(text: str) -> str:
    """The canonical form the crisis lexicon is matched against."""
    text = fold_width(text)
    text = strip_invisible(text)
    text = fold_case(text)
    text = to_hiragana(text)
    text = drop_small_elongation(text)
    text = fold_small_kana(text)
    # Separators go before elongation marks so し〜に〜た〜い and しにたーい end alike.
    text = strip_separators(text)
    return compress_repeats(text)


def normalize_pattern(pattern: str) -> str:
    """The same spelling rules applied to a lexicon regex, leaving regex syntax alone.

    Separators are not stripped (they may be regex syntax); every other step is safe on a
    pattern because it only touches kana, kanji, emoji and runs of three ASCII letters.
    """
    text = fold_width(pattern)
    text = strip_invisible(text)
    text = to_hiragana(text)
    text = drop_small_elongation(text)
    text = fold_small_kana(text)
    return compress_repeats(text)


_DAKUTEN = {"\u3099", "\u309a"}


def flick_typos(stem: str) -> set[str]:
    """Likely flick-input slips of a kana stem: a missing (han)dakuten, two neighbours swapped.

    A doubled kana needs no variant: `compress_repeats` already folds it. The first character
    never moves, so しにたい does not become にしたい (an everyday phrase).
    """
    variants: set[str] = set()
    for i, char in enumerate(stem):
        bare = "".join(c for c in unicodedata.normalize("NFD", char) if c not in _DAKUTEN)
        if bare != char:
            variants.add(stem[:i] + unicodedata.normalize("NFC", bare) + stem[i + 1 :])
    for i in range(1, len(stem) - 1):
        a, b = stem[i], stem[i + 1]
        if a != b and _is_kana(a) and _is_kana(b):
            variants.add(stem[:i] + b + a + stem[i + 2 :])
    variants.discard(stem)
    return {normalize_pattern(v) for v in variants}


def _is_kana(char: str) -> bool:
    return "\u3041" <= char <= "\u309f"


def english_typos(word: str) -> str:
    """An English word and its one-slip typos as one alternation: a letter dropped or two
    neighbours swapped (myslef, mysef, suicde). The first letter stays, and short words
    (under five letters) get no variants: 'die' would become 'de'."""
    variants = {word}
    if len(word) >= 5:
        for i in range(1, len(word)):
            variants.add(word[:i] + word[i + 1 :])
        for i in range(1, len(word) - 1):
            variants.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    return "(?:" + "|".join(sorted(variants, key=lambda v: (-len(v), v))) + ")"
