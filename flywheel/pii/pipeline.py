"""The scrubbing pipeline every Scrubber shares: walk, de-duplicate, detect, replace.

Only the detector differs between the real scrubber and the fake, so both produce the same
placeholders, counts and structure for the same detections.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flywheel.errors import FlywheelError, InvalidInput
from flywheel.pii.placeholders import PLACEHOLDER_RE, PlaceholderRegistry
from flywheel.pii.spans import Detection, apply, resolve

# Detections for each text, aligned with the input list.
Detector = Callable[[list[str]], list[list[Detection]]]

_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?')


@dataclass
class ScrubDoc:
    """One trace (or one part of it): a JSON-like ``value`` and that trace's registry."""

    value: Any
    registry: PlaceholderRegistry


@dataclass(frozen=True)
class ScrubResult:
    """``value`` has the input's shape with every string leaf scrubbed; ``counts`` holds the
    number of replaced spans per entity type (occurrences, not distinct values)."""

    value: Any
    counts: dict[str, int]


class ScrubFailed(FlywheelError):
    """The analyzer crashed. The message names the exception type only: its text may quote
    the trace."""

    exit_code = 70  # EX_SOFTWARE
    http_status = 500


# NER reads context: once "Lynch Street" became <PERSON_1>, "Brianna Lynch" before it is seen as
# the name it is (measured on the demo traces: names and cities the first pass missed, found by
# a second look at the text it produced). Strings the first pass changed are analysed again.
PASSES = 2


def scrub_docs(
    docs: Sequence[ScrubDoc], detect: Detector, allow: re.Pattern[str] | None, *, passes: int = PASSES
) -> list[ScrubResult]:
    """Every string leaf scrubbed; leaves a pass changed get another pass, up to ``passes``."""
    results = _scrub_pass(docs, detect, allow, changed_only=False)
    for _ in range(passes - 1):
        again = [i for i, result in enumerate(results) if result.counts]
        if not again:
            break
        more = _scrub_pass(
            [ScrubDoc(results[i].value, docs[i].registry) for i in again], detect, allow, changed_only=True
        )
        for i, extra in zip(again, more, strict=True):
            merged = Counter(results[i].counts)
            merged.update(extra.counts)
            results[i] = ScrubResult(value=extra.value, counts=dict(merged))
        if not any(extra.counts for extra in more):
            break
    return results


def _scrub_pass(
    docs: Sequence[ScrubDoc], detect: Detector, allow: re.Pattern[str] | None, *, changed_only: bool
) -> list[ScrubResult]:
    # Identical strings (system prompts, tool schemas, repeated turns) are analysed once for
    # the whole batch; each occurrence is still replaced with its own trace's registry. A later
    # pass looks only at strings holding a placeholder: the others were clean the first time.
    leaves = list(
        dict.fromkeys(
            s
            for doc in docs
            for s in iter_strings(doc.value)
            if may_hold_pii(s) and (not changed_only or PLACEHOLDER_RE.search(s))
        )
    )
    parts = {leaf: segments(leaf) for leaf in leaves}
    unique = list(dict.fromkeys(segment for found in parts.values() for _, segment in found))
    try:
        found = detect(unique)
    except FlywheelError:
        raise
    except Exception as error:
        # "from None": the chained original would carry the text into logs and error reports.
        raise ScrubFailed(f"PII analysis failed ({type(error).__name__}).") from None
    if len(found) != len(unique):
        raise ScrubFailed("The PII detector returned the wrong number of results.")
    by_segment = dict(zip(unique, found, strict=True))
    resolved = {}
    for leaf in leaves:
        detections = [
            Detection(d.start + offset, d.end + offset, d.entity_type, d.score)
            for offset, segment in parts[leaf]
            for d in by_segment[segment]
        ]
        resolved[leaf] = resolve(leaf, detections, allow)
    return [_scrub_doc(doc, resolved) for doc in docs]


def segments(text: str) -> list[tuple[int, str]]:
    """The parts of a string leaf that are analysed, with their offsets.

    A JSON document inside a string (tool-call arguments, a logged payload) is analysed value
    by value: in one piece spaCy reads the quoted values as titles (WORK_OF_ART) and misses
    the names (measured: '{"name": "Kendra Vida", "city": "Berlin"}' -> nothing found; the
    two values alone -> PERSON and LOCATION). Its keys are kept, like dict keys.
    """
    if text.lstrip()[:1] in ("{", "["):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            # In valid JSON a double quote only ever delimits a string token.
            return [
                (match.start(1), match.group(1))
                for match in _JSON_STRING.finditer(text)
                if not match.group(2) and may_hold_pii(match.group(1))
            ]
    return [(0, text)]


def may_hold_pii(text: str) -> bool:
    """Cheap pre-filter: no letter and no digit ("", "---", "\\n\\n") means nothing to find."""
    return any(ch.isalnum() for ch in text)


def iter_strings(value: Any) -> Iterator[str]:
    """String leaves in a fixed order (dict insertion order, list order)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from iter_strings(item)


def rebuild(value: Any, scrub: Callable[[str], str]) -> Any:
    """Same shape, every string leaf passed through ``scrub``, in iter_strings order.

    Dict keys are kept as they are: they are field names the application chose ("role",
    "content", "arguments"), consumers rely on them, and scrubbing them could collapse two
    keys into one placeholder and silently drop a value. A source that puts user data in
    keys must move it into values before scrubbing.
    """
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: rebuild(item, scrub) for key, item in value.items()}
    if isinstance(value, list):
        return [rebuild(item, scrub) for item in value]
    if isinstance(value, tuple):
        return tuple(rebuild(item, scrub) for item in value)
    if value is None or isinstance(value, bool | int | float):
        return value
    raise InvalidInput(
        f"Cannot scrub a value of type {type(value).__name__}.",
        hint="Pass JSON-like data: str, list, dict, numbers, bool or None.",
    )


def _scrub_doc(doc: ScrubDoc, resolved: dict[str, list[Detection]]) -> ScrubResult:
    # Placeholders from an earlier scrub keep their numbers; new values get fresh ones.
    for text in iter_strings(doc.value):
        if "<" in text:
            for match in PLACEHOLDER_RE.finditer(text):
                doc.registry.reserve(match.group(0))
    counts: Counter[str] = Counter()

    def scrub(text: str) -> str:
        spans = resolved.get(text)
        if not spans:
            return text
        new_text, found = apply(text, spans, doc.registry)
        counts.update(found)
        return new_text

    value = rebuild(doc.value, scrub)
    return ScrubResult(value=value, counts=dict(counts))
