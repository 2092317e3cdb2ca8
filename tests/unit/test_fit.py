"""Fitting text under a byte limit between lines, with the rest summed up (issue 11)."""

from __future__ import annotations

from bot.cards.fit import MORE, clip, fit_lines, size


def test_a_list_that_fits_is_left_alone() -> None:
    assert fit_lines("头", ["一", "二"], 100) == "头\n一\n二"


def test_a_long_list_keeps_whole_lines_and_says_how_many_are_left() -> None:
    lines = [f"{i}. 某某小区道路破损严重需要维修处理" for i in range(1, 101)]
    text = fit_lines("【办理提醒】您有100件留言需要关注：", lines, 2048)
    assert size(text) <= 2048
    *shown, footer = text.split("\n")[1:]
    assert shown == lines[: len(shown)] and footer == MORE(100 - len(shown))
    # the next line would not have fitted
    assert (
        size("\n".join(["【办理提醒】您有100件留言需要关注：", *lines[: len(shown) + 1], MORE(99 - len(shown))])) > 2048
    )


def test_lines_left_out_by_the_caller_are_counted() -> None:
    assert fit_lines("头", ["一"], 100, hidden=3) == "头\n一\n" + MORE(3)


def test_clip_cuts_between_lines_and_marks_it() -> None:
    text = "\n".join(["行" * 300] * 5)  # 900 bytes a line
    cut = clip(text, 2048)
    assert size(cut) <= 2048 and cut.split("\n")[:2] == ["行" * 300] * 2 and cut.endswith("未完）")
    one_line = "字" * 1000
    assert size(clip(one_line, 2048)) <= 2048 and clip("短", 10) == "短"
