"""The load-time guard against regexes that backtrack exponentially."""

from __future__ import annotations

import pytest

from flywheel.rules.checks import compile_regex


@pytest.mark.parametrize(
    "pattern",
    [
        "(?i)lives at",
        r"\d{3}-\d{4}",
        r"(ab?)+",
        r"(foo|bar)+",
        r"(\d{1,3}\.){3}\d{1,3}",
        r"(?>\w+\s?)*$",
        r"(\w++\s?)*$",
        r"(?i)ignore (all )?previous instructions",
        r"(?=.*secret)",
    ],
)
def test_ordinary_and_possessive_patterns_compile(pattern):
    assert compile_regex(pattern).pattern == pattern


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+$", r"(\w+\s?)*$", r"(a|b*)*c", r"((ab)*c)+", r"(?:x+)+?y", r"(?=(a+)+b)", r"(a{2,})*"],
)
def test_a_repeat_inside_an_unbounded_repeat_is_refused(pattern):
    with pytest.raises(ValueError, match="exponential time"):
        compile_regex(pattern)
