"""Each normalisation step the crisis lexicon relies on (SAFETY.md's list, in order)."""

from __future__ import annotations

import pytest

from routing.normalize import (
    compress_repeats,
    drop_small_elongation,
    flick_typos,
    fold_case,
    fold_small_kana,
    fold_width,
    join_broken_lines,
    normalize,
    strip_invisible,
    strip_separators,
    to_hiragana,
)


def test_nfkc_folds_half_width_kana_full_width_ascii_and_circled_digits() -> None:
    assert fold_width("ｼﾆﾀｲ") == "シニタイ"
    assert fold_width("ＯＤ") == "OD"
    assert fold_width("①") == "1"


def test_katakana_becomes_hiragana() -> None:
    assert to_hiragana("シニタイ") == "しにたい"
    assert to_hiragana("死ニタイ") == "死にたい"


def test_small_kana_are_folded_to_full_size() -> None:
    assert fold_small_kana("しにたぃ") == "しにたい"
    assert fold_small_kana("のんじゃった") == "のんじやつた"


def test_a_small_vowel_that_only_stretches_the_sound_is_dropped() -> None:
    assert drop_small_elongation("しにたぁい") == "しにたい"
    assert drop_small_elongation("しにたぃ") == "しにたぃ"


def test_zero_width_characters_are_removed() -> None:
    assert strip_invisible("し\u200bに\u200dた\ufeffい") == "しにたい"


@pytest.mark.parametrize(
    "text", ["し・に・た・い", "し に た い", "し　に　た　い", "し/に/た/い", "し.に.た.い"]
)
def test_separators_between_japanese_characters_are_removed(text: str) -> None:
    assert strip_separators(text) == "しにたい"


def test_spaced_out_latin_letters_are_joined_but_words_keep_their_spaces() -> None:
    assert strip_separators("s h i n i t a i") == "shinitai"
    assert strip_separators("i want  to die") == "i want to die"


def test_a_letter_with_a_diacritic_ends_a_word_so_vietnamese_keeps_its_spaces() -> None:
    assert strip_separators("tôi muốn tự tử") == "tôi muốn tự tử"


def test_a_word_broken_over_short_lines_is_joined_but_sentences_on_lines_stay_apart() -> None:
    assert join_broken_lines("OD\nした") == "ODした"
    assert join_broken_lines("し\nに\nた\nい") == "しにたい"
    assert join_broken_lines("今日はいい天気\n明日は会議") == "今日はいい天気\n明日は会議"


def test_elongation_and_repeats_are_compressed() -> None:
    assert compress_repeats("しにたーーーい") == "しにたい"
    assert compress_repeats("死にたいいいい") == "死にたい"
    # Pills keep a count of "many": one pill is one, a row of them reads as two.
    assert compress_repeats("💊💊💊") == "💊💊"
    assert compress_repeats("💊") == "💊"
    assert compress_repeats("🔪🔪🔪") == "🔪"
    assert compress_repeats("dieeeee") == "diee"
    assert compress_repeats("kill all") == "kill all"


def test_ascii_is_case_folded() -> None:
    assert fold_case("I Want To DIE") == "i want to die"


def test_flick_typos_drop_a_dakuten_or_swap_neighbours_but_never_move_the_first_kana() -> None:
    assert "しさつ" in flick_typos("じさつ")
    assert "しにいた" in flick_typos("しにたい")
    assert "にしたい" not in flick_typos("しにたい")


@pytest.mark.parametrize(
    "text",
    ["ｼﾆﾀｲ", "シ・ニ・タ・イ", "しにたーい", "しにたぃぃぃ", "死にたい", "し　に　た　い"],
)
def test_every_spelling_normalises_to_one_form(text: str) -> None:
    assert normalize(text) in ("しにたい", "死にたい")


def test_curly_apostrophes_from_phone_keyboards_become_straight() -> None:
    assert fold_width("i’m gonna") == "i'm gonna"


def test_ji_and_zu_spelt_with_the_other_kana_read_alike() -> None:
    assert normalize("のんぢゃった") == normalize("のんじゃった")


def test_a_space_between_latin_and_japanese_only_separates_scripts() -> None:
    assert normalize("友達がOD して") == "友達がodして"
    assert normalize("i want to die") == "i want to die"


def test_a_message_in_romaji_is_read_in_kana_and_english_is_not() -> None:
    from routing.normalize import romaji_reading

    assert romaji_reading("kyou kusuri zenbu nonda") == "きょう くすり ぜんぶ のんだ"
    assert romaji_reading("odshita") == "odした"
    assert romaji_reading("i want to die") is None
    assert romaji_reading("死にたい shinitai") is None


def test_devoicing_keeps_the_length_so_positions_line_up() -> None:
    from routing.normalize import devoice

    assert devoice("くすりぜんぶのんだ") == "くすりせんふのんた"
    assert len(devoice("がぎぐげごぱ死")) == len("がぎぐげごぱ死")
