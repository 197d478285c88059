"""Japanese verb forms for the crisis lexicon: one pattern per verb and aspect, not a list of forms.

`routing/data/verb_forms.yaml` holds the conjugation table and the aspects (done, doing, want,
volitional, …) as templates over a verb's bases; `verb_pattern("飲む/のむ:done+doing")` returns
one regex alternation of every form. A lexicon pattern writes it as `%v:飲む/のむ:done+doing%`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

VERB_FORMS_PATH = Path(__file__).parent / "data" / "verb_forms.yaml"

_I_ROW = set("いきぎしじちぢにひびぴみりゐ")
_E_ROW = set("えけげせぜてでねへべぺめれゑ")
_KANA = re.compile("[\u3041-\u309f]")
_BASE = re.compile(r"\{([a-z]+)\}")
# `%v:飲む/のむ:done+doing%` inside a lexicon pattern.
VERB_MACRO = re.compile(r"%v:([^%:]+):([a-z_+]+)%")


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    a: str
    i: str
    e: str
    o: str
    te: str
    ta: str


class VerbForms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    godan_ru: tuple[str, ...] = ()
    ichidan_ru: tuple[str, ...] = ()
    godan: dict[str, _Row]
    irregular: dict[str, dict[str, str]] = {}
    aspects: dict[str, tuple[str, ...]] = Field(min_length=1)

    def bases(self, verb: str) -> dict[str, str]:
        """The bases the aspect templates are written over, for one dictionary-form verb."""
        if verb in self.irregular:
            found = dict(self.irregular[verb])
        elif verb.endswith("する") and len(verb) > 2 and "する" in self.irregular:
            # A noun + する compound (注文する, 服用する) conjugates like する.
            noun = verb[:-2]
            found = {base: noun + form for base, form in self.irregular["する"].items()}
        elif verb.endswith("る") and len(verb) >= 2 and self._is_ichidan(verb):
            stem = verb[:-1]
            found = {
                "dict": verb,
                "neg": stem,
                "stem": stem,
                "e": stem + "れ",
                "vol": stem + "よ",
                "te": stem + "て",
                "ta": stem + "た",
                "pot": stem + "(ら)?れる",
                "caus": stem + "させ",
            }
        elif verb[-1:] in self.godan:
            base, row = verb[:-1], self.godan[verb[-1]]
            found = {
                "dict": verb,
                "neg": base + row.a,
                "stem": base + row.i,
                "e": base + row.e,
                "vol": base + row.o,
                "te": base + row.te,
                "ta": base + row.ta,
                "pot": base + row.e + "る",
                "caus": base + row.a + "せ",
            }
        else:
            raise ValueError(f"not a dictionary-form verb: {verb!r}")
        te = found["te"]
        voiced = te.endswith("で")
        found.setdefault("cha", te[:-1] + ("じゃ" if voiced else "ちゃ"))
        found.setdefault("chi", te[:-1] + ("じ" if voiced else "ち"))
        found.setdefault("to", te[:-1] + ("ど" if voiced else "と"))
        return found

    def _is_ichidan(self, verb: str) -> bool:
        if verb in self.godan_ru:
            return False
        if verb in self.ichidan_ru:
            return True
        before = verb[-2]
        if _KANA.match(before) is None:
            return False  # a kanji before る: 切る, 吊る, 乗る are godan; exceptions listed
        return before in _I_ROW or before in _E_ROW

    def forms(self, verb: str, aspect: str) -> tuple[str, ...]:
        """Every form of `verb` in `aspect`, as regex fragments."""
        if aspect not in self.aspects:
            raise ValueError(f"unknown verb aspect {aspect!r} (known: {', '.join(self.aspects)})")
        bases = self.bases(verb)

        def fill(m: re.Match[str]) -> str:
            if m.group(1) not in bases:
                raise ValueError(f"aspect {aspect!r}: unknown base {{{m.group(1)}}}")
            return bases[m.group(1)]

        return tuple(dict.fromkeys(_BASE.sub(fill, t) for t in self.aspects[aspect]))


@cache
def verb_forms(path: Path = VERB_FORMS_PATH) -> VerbForms:
    return VerbForms.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def verb_pattern(
    spec: str, table: VerbForms | None = None, fold: Callable[[str], str] | None = None
) -> str:
    """`"飲む/のむ:done+doing"` → one non-capturing alternation of all those forms.

    Longer forms first, so 飲んじゃった is tried before 飲んだ. `fold` spells each form as the
    text it is matched against will be spelled, *before* shared prefixes are factored out:
    normalised, つった reads つた, and factoring first (つ(?:った)) would keep a つ too many."""
    verbs, _, aspects = spec.rpartition(":")
    if not verbs or not aspects:
        raise ValueError(f"verb macro needs verbs:aspects, got {spec!r}")
    table = table or verb_forms()
    forms: dict[str, None] = {}
    for verb in verbs.split("/"):
        for aspect in aspects.split("+"):
            forms.update(dict.fromkeys(table.forms(verb.strip(), aspect)))
    if fold is not None:
        forms = dict.fromkeys(fold(form) for form in forms)
    return trie(list(forms))


_META = re.compile(r"[\\()\[\]?*+|{}.^$]")


def trie(forms: list[str]) -> str:
    """One alternation with shared prefixes factored out (飲ん(?:だ|じゃった|…)): `re` tries
    alternatives one by one, so a shared prefix is read once instead of once per form.
    Only the literal head of each form is factored; its regex tail stays whole."""
    heads: dict[str, list[str]] = {}
    for form in forms:
        m = _META.search(form)
        cut = m.start() if m else len(form)
        heads.setdefault(form[:1] if cut else "", []).append(form)
    branches: list[str] = []
    for first, group in sorted(heads.items(), key=lambda item: item[0]):
        if not first or len(group) == 1:
            branches.extend(group)
            continue
        rests = [form[1:] for form in group]
        tail = trie([rest for rest in rests if rest])
        branches.append(re.escape(first) + (tail if all(rests) else tail + "?"))
    # Longer alternatives first: 飲んじゃった before 飲んだ where neither is factored.
    branches.sort(key=len, reverse=True)
    return "(?:" + "|".join(branches) + ")"


def expand_verbs(
    pattern: str, table: VerbForms | None = None, fold: Callable[[str], str] | None = None
) -> str:
    """Replace every `%v:verbs:aspects%` in a lexicon pattern by its forms."""
    return VERB_MACRO.sub(
        lambda m: verb_pattern(f"{m.group(1)}:{m.group(2)}", table, fold), pattern
    )
