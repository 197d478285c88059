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
# Quotation brackets go too: 「次に逃げたら殺す」と言われた reads 殺すと言われた.
_SEPARATORS = "\\s・･、,._\\-/~〜*＊…‥'\"`^=+「」『』【】"
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

# A run of one non-ASCII character (kana, kanji, emoji) is read once: 死にたいいいい. Pills are
# the exception: 💊💊💊 says "many", so any run of them is read as two (💊💊), one pill as one.
_REPEATED_NON_ASCII = re.compile(r"([^\x00-\x7f💊])\1+")
_REPEATED_PILLS = re.compile("💊{2,}")
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
    text = _REPEATED_PILLS.sub("💊💊", text)
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
    if len(stem) >= 4:
        # A flick one step too far on the same key: しにたう, しぬたい (the vowel after).
        for i in range(1, len(stem)):
            slipped = _NEXT_ON_KEY.get(stem[i])
            if slipped is not None:
                variants.add(stem[:i] + slipped + stem[i + 1 :])
    # All the dakuten left off at once, as people who skip them do: しんでしまいたい → しんてしまいたい.
    variants.add("".join(c for c in unicodedata.normalize("NFD", stem) if c not in _DAKUTEN))
    variants.discard(stem)
    return {unicodedata.normalize("NFC", normalize_pattern(v)) for v in variants}


def _next_on_key() -> dict[str, str]:
    """Each kana and the one a flick further on its key gives (あ→い, い→う, う→え, え→お)."""
    rows = ["あいうえお", "かきくけこ", "さしすせそ", "たちつてと", "なにぬねの", "はひふへほ",
            "まみむめも", "らりるれろ", "がぎぐげご", "ざじずぜぞ", "だぢづでど", "ばびぶべぼ"]  # fmt: skip
    return {row[i]: row[i + 1] for row in rows for i in range(len(row) - 1)}


_NEXT_ON_KEY = _next_on_key()


def devoice(text: str) -> str:
    """Every kana without its (han)dakuten, same length: くすりぜんぶのんだ → くすりせんふのんた."""
    return unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", text) if c not in _DAKUTEN)
    )


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


# ---------------------------------------------------------------- romaji read as kana
# People without a Japanese keyboard (or hiding from someone reading over their shoulder) type
# whole messages in romaji: "kyou kusuri zenbu nonda". Rather than a romaji copy of the
# lexicon, such a message is also read in kana and matched with the Japanese patterns.
_ROMAJI: dict[str, str] = {}


def _romaji_table() -> dict[str, str]:
    vowels = {"a": "あ", "i": "い", "u": "う", "e": "え", "o": "お"}
    rows = {
        "k": "かきくけこ", "g": "がぎぐげご", "s": "さしすせそ", "z": "ざじずぜぞ",
        "t": "たちつてと", "d": "だぢづでど", "n": "なにぬねの", "h": "はひふへほ",
        "b": "ばびぶべぼ", "p": "ぱぴぷぺぽ", "m": "まみむめも", "r": "らりるれろ",
        "y": "や-ゆ-よ", "w": "わ---を",
    }  # fmt: skip
    table = dict(vowels)
    for consonant, kana in rows.items():
        for vowel, char in zip("aiueo", kana, strict=True):
            if char != "-":
                table[consonant + vowel] = char
    table.update(
        {"shi": "し", "chi": "ち", "tsu": "つ", "fu": "ふ", "ji": "じ", "si": "し", "ti": "ち",
         "tu": "つ", "hu": "ふ", "zi": "じ", "di": "ぢ", "du": "づ", "wo": "を", "nn": "ん",
         "n'": "ん", "la": "ぁ", "li": "ぃ", "lu": "ぅ", "le": "ぇ", "lo": "ぉ", "xa": "ぁ",
         "xi": "ぃ", "xu": "ぅ", "xe": "ぇ", "xo": "ぉ", "ltu": "っ", "xtu": "っ",
         "ye": "いぇ", "she": "しぇ", "je": "じぇ", "che": "ちぇ", "fa": "ふぁ", "fi": "ふぃ",
         "fe": "ふぇ", "fo": "ふぉ", "va": "ゔぁ", "vi": "ゔぃ", "vu": "ゔ"}
    )  # fmt: skip
    for head, i_kana in {"k": "き", "g": "ぎ", "n": "に", "h": "ひ", "b": "び", "p": "ぴ",
                         "m": "み", "r": "り"}.items():  # fmt: skip
        for vowel, small in (("a", "ゃ"), ("u", "ゅ"), ("o", "ょ")):
            table[head + "y" + vowel] = i_kana + small
    for head, i_kana in (("sh", "し"), ("ch", "ち"), ("j", "じ"), ("sy", "し"), ("ty", "ち"),
                         ("zy", "じ"), ("jy", "じ"), ("cy", "ち")):  # fmt: skip
        for vowel, small in (("a", "ゃ"), ("u", "ゅ"), ("o", "ょ")):
            table[head + vowel] = i_kana + small
    return table


_ROMAJI.update(_romaji_table())
_ROMAJI_LONGEST = max(len(k) for k in _ROMAJI)
_LATIN_WORD = re.compile(r"[a-z][a-z']*")
_CONSONANTS = set("bcdfghjklmpqrstvwxyz")


def romaji_word(word: str) -> str | None:
    """One romaji word in hiragana (shinitai → しにたい), or None if it is not romaji.

    A doubled consonant is a small っ (itta → いった), n before a consonant or at the end is ん.
    `od` in front (odshita) stays as it is: the lexicon knows OD as a Latin word."""
    out: list[str] = []
    i = 0
    if word.startswith("od") and len(word) > 3:
        out.append("od")
        i = 2
    while i < len(word):
        for size in range(min(_ROMAJI_LONGEST, len(word) - i), 0, -1):
            kana = _ROMAJI.get(word[i : i + size])
            if kana is not None:
                out.append(kana)
                i += size
                break
        else:
            c = word[i]
            nxt = word[i + 1 : i + 2]
            if c == "n" and (not nxt or nxt in _CONSONANTS):
                out.append("ん")
            elif c in _CONSONANTS and nxt == c and c != "n":
                out.append("っ")
            else:
                return None
            i += 1
    return "".join(out)


def romaji_reading(text: str) -> str | None:
    """The message in kana if it is written in romaji (most of its Latin words read as romaji
    and one of them is long enough to mean something), else None. English reads as English:
    want, the, my, with, just do not parse, so an English message stays None."""
    words = _LATIN_WORD.findall(text)
    if not words or any("\u3040" <= c <= "\u9fff" for c in text):
        return None
    read = {w: romaji_word(w.replace("'", "")) for w in set(words)}
    counted = [w for w in words if len(w) >= 2]
    if not counted:
        return None
    parsed = sum(1 for w in counted if read[w] is not None)
    if parsed / len(counted) < 0.75 or not any(
        len(k) >= 3 for w, k in read.items() if k is not None and w in counted
    ):
        return None
    return _LATIN_WORD.sub(lambda m: read[m.group()] or m.group(), text)
