"""The SOP body: the four sections labeling needs, its common errors, and diffs between versions.

An SOP must state four things before anyone labels (DESIGN.md, "SOP first"): what a good
answer is, what must be refused, the output format, how common errors are judged. Each is a
Markdown heading of level 1-4 (``#`` .. ``####``) whose title is one of the section's
accepted titles, compared after :func:`normalise_title`: case, surrounding emphasis/emoji,
leading numbering ("2.", "2.1", "一、", "(三)", "第二部分") and a trailing note in brackets
or a colon do not matter. A heading with nothing under it does not count: it states nothing.

Accepted titles (the first is the canonical one, used in messages):

- good answer: What a good answer is, What is a good answer, What makes a good answer, What
  counts as a good answer, Good answer, Good answers, Good answer criteria; 什么算好答案,
  什么是好答案, 什么算好回答, 什么是好回答, 好答案, 好回答, 好的回答, 好答案标准, 好回答标准
- refusals: What must be refused, Must be refused, Must refuse, Refusals, Refusal, What to
  refuse, When to refuse, Refusal policy; 什么必须拒答, 哪些必须拒答, 哪些情况必须拒答, 必须拒答,
  拒答, 拒答范围, 拒答规则, 拒答标准, 必须拒绝
- format: Output format, Format, Formatting, Answer format, Response format, How the output is
  formatted; 输出格式怎么写, 输出格式, 输出格式要求, 格式, 格式要求, 输出规范, 回答格式
- common errors: How common errors are judged, Common errors, Common mistakes, Error
  judgement, Error judgment, Judging common errors, Error types; 常见错误怎么判, 常见错误如何判定,
  常见错误, 常见错误判定, 错误判定, 错误判定标准, 错误类型

The Chinese titles are the wording of the seed notes' SOP rule ("什么算好答案、什么必须拒答、
输出格式怎么写、常见错误怎么判") and their short forms.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from annotate.labeling.markdown import list_items, sections
from annotate.labeling.model import LabelSchema, schema_to_dict
from annotate.labeling.serialize import dump_yaml
from flywheel.errors import InvalidInput


class SectionKey(StrEnum):
    GOOD_ANSWER = "good_answer"
    REFUSALS = "refusals"
    FORMAT = "format"
    COMMON_ERRORS = "common_errors"


@dataclass(frozen=True)
class RequiredSection:
    key: SectionKey
    titles: tuple[str, ...]  # accepted titles; the first is canonical

    @property
    def title(self) -> str:
        return self.titles[0]


REQUIRED_SECTIONS: tuple[RequiredSection, ...] = (
    RequiredSection(
        SectionKey.GOOD_ANSWER,
        (
            "What a good answer is",
            *("Good answer", "Good answers", "What is a good answer", "What makes a good answer"),
            *("What counts as a good answer", "Good answer criteria"),
            *("好回答", "好答案", "什么算好答案", "什么是好答案", "什么算好回答", "什么是好回答"),
            *("好的回答", "好答案标准", "好回答标准"),
        ),
    ),
    RequiredSection(
        SectionKey.REFUSALS,
        (
            "What must be refused",
            *("Refusals", "Must refuse", "Must be refused", "Refusal"),
            *("What to refuse", "When to refuse", "Refusal policy"),
            *("必须拒答", "拒答", "什么必须拒答", "哪些必须拒答", "哪些情况必须拒答"),
            *("拒答范围", "拒答规则", "拒答标准", "必须拒绝"),
        ),
    ),
    RequiredSection(
        SectionKey.FORMAT,
        (
            "Output format",
            *("Format", "Formatting", "Answer format", "Response format", "How the output is formatted"),
            *("输出格式", "格式", "输出格式怎么写", "输出格式要求", "格式要求", "输出规范", "回答格式"),
        ),
    ),
    RequiredSection(
        SectionKey.COMMON_ERRORS,
        (
            "How common errors are judged",
            *("Common errors", "Error judgement", "Error judgment", "Common mistakes"),
            *("Judging common errors", "Error types"),
            *("常见错误", "错误判定", "常见错误怎么判", "常见错误如何判定", "常见错误判定"),
            *("错误判定标准", "错误类型"),
        ),
    ),
)

HINT_SECTIONS = "Add a heading (# to ####) for each missing section with its rules under it."

_SYMBOLS = {"So", "Sk", "Sm", "Po", "Pc", "Pd", "Cf", "Zs"}  # emoji, *, _, `, :, -, spaces
_NUMBERING = re.compile(
    r"^(?:\d+(?:\.\d+)*[.)、:]?\s+|\d+(?:\.\d+)*[.)、:]|[ivx]+[.)]\s*|[一二三四五六七八九十]+[、.:]\s*"
    r"|第[一二三四五六七八九十\d]+(?:章|节|部分|步)[、.:]?\s*|\([\d一二三四五六七八九十]+\)\s*)"
)
_BRACKETED_NOTE = re.compile(r"\s*[(\[【][^)\]】]*[)\]】]$")


def normalise_title(title: str) -> str:
    """A heading title reduced to what identifies it (see the module docstring)."""
    text = _trim_symbols(unicodedata.normalize("NFKC", title).casefold())
    text = _trim_symbols(_NUMBERING.sub("", text))
    text = _trim_symbols(_BRACKETED_NOTE.sub("", text))
    return " ".join(text.split())


def _trim_symbols(text: str) -> str:
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) in _SYMBOLS:
        start += 1
    while end > start and unicodedata.category(text[end - 1]) in _SYMBOLS:
        end -= 1
    return text[start:end]


_BY_TITLE = {normalise_title(title): section.key for section in REQUIRED_SECTIONS for title in section.titles}


def section_bodies(markdown: str) -> dict[SectionKey, list[str]]:
    """The body of every heading that names a required section (a section may appear twice)."""
    found: dict[SectionKey, list[str]] = {}
    for section in sections(markdown):
        key = _BY_TITLE.get(normalise_title(section.title))
        if key is not None and section.level <= 4:
            found.setdefault(key, []).append(section.body)
    return found


def check_sections(markdown: str) -> list[str]:
    """Canonical titles of the required sections the SOP lacks (or leaves empty), in order."""
    found = section_bodies(markdown)
    return [
        section.title
        for section in REQUIRED_SECTIONS
        if not any(body.strip() for body in found.get(section.key, []))
    ]


def require_sections(markdown: str) -> None:
    """Raises :class:`InvalidInput` naming each missing section; publishing calls this."""
    found = section_bodies(markdown)
    problems = []
    for section in REQUIRED_SECTIONS:
        bodies = found.get(section.key, [])
        if not any(body.strip() for body in bodies):
            state = "has a heading but nothing under it" if bodies else "is missing"
            problems.append(f"'{section.title}' {state} (also accepted: {_examples(section)}, ...)")
    if problems:
        raise InvalidInput("the SOP cannot be published: " + "; ".join(problems), hint=HINT_SECTIONS)


def _examples(section: RequiredSection) -> str:
    english = [title for title in section.titles[1:] if title.isascii()][:2]
    chinese = [title for title in section.titles if not title.isascii()][:2]
    return ", ".join(english + chinese)


# Colon (ASCII or full-width), or a dash (em, en, hyphen) with spaces around it.
_TERM_SEPARATOR = re.compile(r"\s*(?::|\uff1a|\s[\u2014\u2013-]\s)")
_BOLD_LEAD = re.compile(r"^(\*\*|__)(.+?)\1")


def common_errors(markdown: str) -> list[str]:
    """The common-errors section's list items, as short terms (choices for ``error_types``).

    An item's term is its bold lead text if it has one ("**broken JSON** when ..."), else the
    text before the first colon or spaced dash ("broken JSON: the output does not parse").
    Nested items are details and are skipped; repeats (ignoring case) are dropped.
    """
    terms: list[str] = []
    seen: set[str] = set()
    for body in section_bodies(markdown).get(SectionKey.COMMON_ERRORS, []):
        for item in list_items(body):
            item = re.sub(r"^\[[ xX]\]\s+", "", item)  # a task-list box
            bold = _BOLD_LEAD.match(item)
            term = bold.group(2) if bold else _TERM_SEPARATOR.split(item, maxsplit=1)[0]
            term = term.strip().strip("`*_").strip().rstrip(".。;,\uff1b\uff0c")
            if term and term.casefold() not in seen:
                seen.add(term.casefold())
                terms.append(term)
    return terms


# Hunk headers name the enclosing heading or field, as git's "funcname" context does.
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}\s")
_FIELD_LINE = re.compile(r"^- name: ")
_HUNK = re.compile(r"^@@ -(\d+)")


def sop_diff(old_md: str, new_md: str, old_label: str = "old", new_label: str = "new") -> str:
    """A unified diff between two SOP bodies ("" when equal); each hunk header names its section."""
    return _unified(old_md, new_md, old_label, new_label, context=_HEADING_LINE)


def schema_diff(old: LabelSchema, new: LabelSchema, old_label: str = "old", new_label: str = "new") -> str:
    """A unified diff of the two schemas' canonical YAML: :func:`schema_to_dict` (choices
    resolved) without the keys that hold nothing, the consensus rule included; each hunk header
    names its field."""
    return _unified(_canonical(old), _canonical(new), old_label, new_label, context=_FIELD_LINE)


def _canonical(schema: LabelSchema) -> str:
    fields = [
        {key: value for key, value in field.items() if value not in (None, False, "", [], {})}
        for field in schema_to_dict(schema)["fields"]
    ]
    return dump_yaml({"fields": fields, "consensus": schema.consensus.to_dict()})


def _unified(old: str, new: str, old_label: str, new_label: str, *, context: re.Pattern[str]) -> str:
    def lines(text: str) -> list[str]:
        return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")

    old_lines = lines(old)
    out = []
    for line in difflib.unified_diff(old_lines, lines(new), old_label, new_label, lineterm=""):
        if hunk := _HUNK.match(line):
            above = old_lines[: max(int(hunk.group(1)) - 1, 0)]
            title = next((text for text in reversed(above) if context.match(text)), None)
            line = f"{line} {title.strip()}" if title else line
        out.append(line)
    return "\n".join(out) + "\n" if out else ""


DEFAULT_SOP_MARKDOWN = """\
# Labeling SOP

Read this before labeling. Every label records the SOP version it followed; when the rules
change, the lead publishes a new version instead of editing this one.

## What a good answer is

- Answers the question the user actually asked, completely and without padding.
- States only what the conversation, the retrieved context or common knowledge supports; says
  so when it does not know.
- Follows every instruction of the system prompt and the user.
- Polite, direct and in the product's voice.

## What must be refused

- Personal data about anyone other than the user (addresses, phone numbers, accounts).
- Help with anything illegal or dangerous (weapons, malware, self-harm, evading the law).
- Decisions that need a professional (medical, legal, financial): refuse the decision, point
  to the right professional.
- A refusal is short, says what it cannot do and offers a safe alternative. Requests that only
  look sensitive are answered, not refused: mark `must_refuse` only when refusing is right.

## Output format

- Plain text unless the task asks for JSON. A JSON answer is one valid JSON value that follows
  the task's schema: no Markdown fence, no text around it, never cut off mid-way.
- The user's language.
- Lists only when the answer lists things; no headings in chat answers.

## How common errors are judged

Tick every error the answer makes in *Error types*; any one of them makes the verdict *bad*.

- hallucinated facts: states something false or not supported by the context.
- wrong refusal: refuses a safe request, or answers one that must be refused.
- leaked personal data: repeats or reveals personal data it should not.
- broken JSON: does not parse, or does not follow the task's schema.
- ignored instructions: misses a constraint from the system prompt or the user.
- tone: rude, preachy, or not the product's voice.
"""
