"""`tsunagari crisis-check`: JSON lines of levels and signal ids, never the person's words."""

from __future__ import annotations

import io
import json

from bot.commands.crisis import check_lines


def test_each_line_gets_one_json_answer_with_level_and_signal_ids() -> None:
    lines = ["死にたい", "今日はいい天気", "消えたい", ""]
    out = io.StringIO()
    assert check_lines(io.StringIO("\n".join(lines) + "\n"), out) == 4
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["level"] for a in answers] == ["crisis", "none", "concern", "none"]
    assert all(set(a) == {"level", "signals"} for a in answers)
    assert answers[0]["signals"] and answers[1]["signals"] == []


def test_the_answers_never_contain_the_persons_words() -> None:
    text = "もう死にたい、薬ぜんぶ飲んだ"
    out = io.StringIO()
    check_lines(io.StringIO(text + "\n"), out)
    assert "死にたい" not in out.getvalue() and "薬" not in out.getvalue()
