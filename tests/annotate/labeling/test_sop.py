"""The SOP body: required sections, common errors, diffs between versions."""

# Chinese test data is written with the full-width punctuation Chinese text really uses.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

import annotate.labeling.sop as sop_module
from annotate.labeling import (
    DEFAULT_SOP_MARKDOWN,
    REQUIRED_SECTIONS,
    SectionKey,
    check_sections,
    common_errors,
    require_sections,
    sop_diff,
)
from flywheel.errors import InvalidInput

GOOD, REFUSALS, FORMAT, ERRORS = (section.title for section in REQUIRED_SECTIONS)

BODIES = {
    GOOD: "- Answers the question.",
    REFUSALS: "- Other people's addresses.",
    FORMAT: "- Plain text.",
    ERRORS: "- hallucinated facts\n- tone",
}


def sop(*, headings: dict[str, str] | None = None, level: int = 2, skip: str = "") -> str:
    """An SOP with the four sections under the given headings (default: canonical titles)."""
    headings = headings or {}
    parts = ["# SOP", "Intro."]
    for title, body in BODIES.items():
        if title != skip:
            parts += [f"{'#' * level} {headings.get(title, title)}", body]
    return "\n\n".join(parts) + "\n"


def test_the_default_sop_has_every_section():
    assert check_sections(DEFAULT_SOP_MARKDOWN) == []
    require_sections(DEFAULT_SOP_MARKDOWN)


def test_an_empty_sop_lacks_all_four_sections_in_canonical_wording():
    assert check_sections("") == [
        "What a good answer is",
        "What must be refused",
        "Output format",
        "How common errors are judged",
    ]


@pytest.mark.parametrize("missing", [GOOD, REFUSALS, FORMAT, ERRORS])
def test_each_missing_section_is_named(missing):
    assert check_sections(sop(skip=missing)) == [missing]


@pytest.mark.parametrize("missing", [GOOD, REFUSALS, FORMAT, ERRORS])
def test_publishing_without_a_section_is_refused_naming_it(missing):
    with pytest.raises(InvalidInput) as raised:
        require_sections(sop(skip=missing))
    assert f"'{missing}' is missing" in raised.value.message
    assert raised.value.message.count("is missing") == 1
    assert "heading" in raised.value.hint


@pytest.mark.parametrize(
    ("section", "title"),
    [(section.title, title) for section in REQUIRED_SECTIONS for title in section.titles],
)
def test_every_accepted_title_counts_for_its_section(section, title):
    assert check_sections(sop(headings={section: title})) == []


@pytest.mark.parametrize(
    "headings",
    [
        {GOOD: "好回答", REFUSALS: "必须拒答", FORMAT: "输出格式", ERRORS: "常见错误"},
        {GOOD: "什么算好答案", REFUSALS: "什么必须拒答", FORMAT: "输出格式怎么写", ERRORS: "常见错误怎么判"},
        {GOOD: "一、好答案", REFUSALS: "二、拒答", FORMAT: "（三）格式", ERRORS: "第四部分：错误判定"},
    ],
)
def test_a_chinese_team_can_write_its_own_headings(headings):
    assert check_sections(sop(headings=headings)) == []


@pytest.mark.parametrize(
    "title",
    [
        "GOOD ANSWERS",
        "good answer:",
        "2. Good answer",
        "2.1 Good answer",
        "**Good answer**",
        "✅ Good answer",
        "Good answer (read first)",
        "好回答（标准）",
        "What is a good answer?",
        "Good answer ##",
    ],
)
def test_case_numbering_emphasis_emoji_and_bracketed_notes_do_not_matter(title):
    assert check_sections(sop(headings={GOOD: title})) == []


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_headings_of_level_one_to_four_count(level):
    assert check_sections(sop(level=level)) == []


def test_a_level_five_heading_does_not_count():
    assert check_sections(sop(level=5)) == [GOOD, REFUSALS, FORMAT, ERRORS]


@pytest.mark.parametrize(
    "mention",
    [
        "Output format: plain text, always.",
        "**Output format**",
        "##Output format",  # no space: CommonMark renders it as text
        "    ## Output format",  # indented code
        "```\n## Output format\n```",
        "~~~md\n## Output format\n~~~",
    ],
)
def test_a_mention_that_is_not_a_heading_does_not_count(mention):
    text = sop(skip=FORMAT) + "\n" + mention + "\n\n- Plain text only.\n"
    assert check_sections(text) == [FORMAT]


def test_a_heading_with_nothing_under_it_does_not_count():
    text = sop(skip=REFUSALS) + "\n## What must be refused\n\n## Appendix\n\nMore.\n"
    assert check_sections(text) == [REFUSALS]
    with pytest.raises(InvalidInput, match="'What must be refused' has a heading but nothing under it"):
        require_sections(text)


def test_a_sub_heading_is_part_of_its_section():
    text = sop(skip=REFUSALS) + "\n## What must be refused\n\n### Personal data\n\n- addresses\n"
    assert check_sections(text) == []


def test_publishing_names_every_missing_section_at_once():
    with pytest.raises(InvalidInput) as raised:
        require_sections(sop(skip=GOOD).replace("## Output format", "## Outputs"))
    assert "'What a good answer is' is missing" in raised.value.message
    assert "'Output format' is missing" in raised.value.message


def test_windows_line_endings_are_read_like_unix_ones():
    assert check_sections(sop().replace("\n", "\r\n")) == []


def test_the_module_docs_list_every_accepted_title():
    for section in REQUIRED_SECTIONS:
        for title in section.titles:
            assert title in " ".join(sop_module.__doc__.split()), title


def test_each_section_key_has_one_required_section():
    assert [section.key for section in REQUIRED_SECTIONS] == list(SectionKey)


# common_errors -------------------------------------------------------------------------------


def test_common_errors_are_the_terms_of_the_list_items_in_the_default_sop():
    assert common_errors(DEFAULT_SOP_MARKDOWN) == [
        "hallucinated facts",
        "wrong refusal",
        "leaked personal data",
        "broken JSON",
        "ignored instructions",
        "tone",
    ]


def test_common_error_terms_come_from_bold_lead_text_colons_or_dashes():
    body = """\
## Common errors

Judge each answer against the list below.

- **Hallucinated facts** when the answer invents something.
- Broken JSON: the output does not parse.
- Tone — rude or preachy.
* Leaked PII
1. Ignored instructions.
- [x] `wrong refusal`
  - a nested detail, not an error type
- tone
- 格式错误：没有按 JSON 输出

## Appendix

- not an error
"""
    assert common_errors(body) == [
        "Hallucinated facts",
        "Broken JSON",
        "Tone",
        "Leaked PII",
        "Ignored instructions",
        "wrong refusal",
        "格式错误",
    ]


def test_common_errors_read_a_chinese_heading():
    assert common_errors("### 常见错误怎么判\n\n- 幻觉\n- 错误拒答\n") == ["幻觉", "错误拒答"]


def test_an_sop_without_a_common_errors_section_has_no_common_errors():
    assert common_errors("# SOP\n\n- hallucinated facts\n") == []


# diff ----------------------------------------------------------------------------------------


def test_the_diff_shows_added_and_removed_lines_with_the_version_labels():
    new = DEFAULT_SOP_MARKDOWN.replace("- tone: rude", "- verbosity: padded answers.\n- tone: rude")
    new = new.replace("- The user's language.\n", "")
    diff = sop_diff(DEFAULT_SOP_MARKDOWN, new, "v1", "v2")
    assert diff.startswith("--- v1\n+++ v2\n")
    assert "\n+- verbosity: padded answers.\n" in diff
    assert "\n-- The user's language.\n" in diff
    assert "\n tone" not in diff
    headers = [line for line in diff.splitlines() if line.startswith("@@")]
    assert headers[0].endswith("@@ ## Output format")
    assert headers[1].endswith("@@ ## How common errors are judged")


def test_equal_versions_have_an_empty_diff_whatever_their_line_endings():
    assert sop_diff(DEFAULT_SOP_MARKDOWN, DEFAULT_SOP_MARKDOWN.replace("\n", "\r\n"), "v1", "v2") == ""
