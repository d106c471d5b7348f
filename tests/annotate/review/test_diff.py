"""The line diff of a corrected answer against the model's answer."""

from __future__ import annotations

from annotate.review import DiffLine, line_diff


def test_the_same_text_has_no_diff_even_with_other_line_endings_or_trailing_space():
    assert line_diff("a\r\nb\n", "a\nb  ") == []


def test_a_changed_line_shows_as_removed_then_added_between_unchanged_lines():
    assert line_diff("Hello.\nIt shipped.\nBye.", "Hello.\nIt ships tomorrow.\nBye.") == [
        DiffLine(" ", "Hello."),
        DiffLine("-", "It shipped."),
        DiffLine("+", "It ships tomorrow."),
        DiffLine(" ", "Bye."),
    ]


def test_an_answer_written_from_nothing_is_all_added():
    assert line_diff("", "One.\nTwo.") == [DiffLine("+", "One."), DiffLine("+", "Two.")]


def test_very_long_texts_are_summarised_rather_than_diffed():
    out = line_diff("x\n" * 3000, "y\n" * 3000)
    assert [d.op for d in out] == ["-", "+"] and "too long" in out[1].text
