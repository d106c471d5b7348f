"""The release rows of one item as bytes, fast: byte for byte what :mod:`flywheel.export.formats` builds.

``formats`` says what a row is (``sft_row``, ``dpo_row``, ``alpaca_sft`` ... then ``dumps_line``);
this module writes the same JSON text without building the dicts: every string is encoded once,
the prompt once for both the SFT and the DPO row, and the lineage values that repeat across a
release (task types, clusters, people, schemas) come from a cache. A test holds the two to
identical bytes on every kind of item.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C encoder json.dumps uses
from typing import Any

from flywheel.export import formats
from flywheel.export.identity import ByIdentity
from flywheel.export.records import ExportItem

SCHEMAS_CACHED = 1024
SEGMENTS_CACHED = 65536  # distinct lineage combinations kept; past that the cache starts over
_dumps = json.dumps
# json.dumps without its arguments
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def _value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return str(encode_basestring(value))
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    return _dumps(value, ensure_ascii=False)


class RowEncoder:
    """Encodes items of one release (``release_id`` goes into every row's meta)."""

    def __init__(self, release_id: str) -> None:
        self._version = encode_basestring(release_id)
        self._segments: dict[tuple[Any, ...], str] = {}
        self._schemas: ByIdentity[Mapping[str, Any], str] = ByIdentity(
            lambda schema: _dumps(dict(schema), ensure_ascii=False), SCHEMAS_CACHED
        )

    def _schema(self, schema: Mapping[str, Any] | None) -> str:
        return "null" if schema is None else self._schemas(schema)

    def meta(self, item: ExportItem) -> str:
        """``json.dumps(formats.meta(item, release_id), ensure_ascii=False)``."""
        # Three runs of lineage values that repeat across a release, each encoded once per
        # distinct combination (types in the key: True and 1 are equal as dict keys).
        one = (item.task_type, item.difficulty, item.domain, item.source)
        two = (item.cluster, item.sample_type, item.must_refuse, type(item.must_refuse), item.output_format)
        three = (
            item.reference_exact,
            type(item.reference_exact),
            item.annotator,
            item.reviewer,
            item.sop_version,
            type(item.sop_version),
            item.augment_type,
            item.augment_round,
            type(item.augment_round),
            item.origin,
            item.decision,
        )
        segments = self._segments
        a = segments.get(one)
        if a is None:
            a = segments[one] = (
                f'"task_type": {_value(one[0])}, "difficulty": {_value(one[1])}, '
                f'"domain": {_value(one[2])}, "source": {_value(one[3])}'
            )
        b = segments.get(two)
        if b is None:
            b = segments[two] = (
                f'"cluster": {_value(two[0])}, "sample_type": {_value(two[1])}, '
                f'"must_refuse": {_value(two[2])}, "output_format": {_value(two[4])}'
            )
        c = segments.get(three)
        if c is None:
            c = segments[three] = (
                f'"reference_exact": {_value(three[0])}, "annotator": {_value(three[2])}, '
                f'"reviewer": {_value(three[3])}, "sop_version": {_value(three[4])}, '
                f'"version": {self._version}, "augment_type": {_value(three[6])}, '
                f'"augment_round": {_value(three[7])}, "origin": {_value(three[9])}, '
                f'"decision": {_value(three[10])}'
            )
        if len(segments) > SEGMENTS_CACHED:
            segments.clear()
        return (
            f'{{"id": {encode_basestring(item.item_key)}, {a}, "source_id": {_value(item.source_id)}, '
            f'"observation_id": {_value(item.observation_id)}, {b}, '
            f'"json_schema": {self._schema(item.json_schema)}, {c}}}'
        )

    def rows(self, item: ExportItem) -> tuple[formats.RowLines, bytes | None, bytes | None, str | None]:
        """(SFT + DPO lines and the content digest, Alpaca SFT line, Alpaca DPO line, why no Alpaca)."""
        prompt = _encode(list(item.prompt))
        meta = self.meta(item)
        answer_text = encode_basestring(item.answer)
        answer = f'[{{"role": "assistant", "content": {answer_text}}}]'
        messages = f"{prompt[:-1]}, {answer[1:]}" if item.prompt else answer
        sft = formats._line(f'{{"messages": {messages}, "meta": {meta}}}')
        dpo = rejected_text = None
        if formats.has_pair(item):
            rejected_text = encode_basestring(item.rejected_answer)
            rejected = f'[{{"role": "assistant", "content": {rejected_text}}}]'
            dpo = formats._line(
                f'{{"prompt": {prompt}, "chosen": {answer}, "rejected": {rejected}, "meta": {meta}}}'
            )
        lines = formats.RowLines(sft, dpo, formats._content(prompt, item.answer))
        base, skipped = formats.alpaca_base(item)
        if base is None:
            return lines, None, None, skipped
        instruction = encode_basestring(base["instruction"])
        head = f'{{"instruction": {instruction}, "input": {_value(base["input"])}, '
        tail = (
            f'"system": {encode_basestring(base["system"])}, '
            f'"history": {_encode(base["history"]) if base["history"] else "[]"}}}'
        )
        alpaca_sft = formats._line(f'{head}"output": {answer_text}, {tail}')
        alpaca_dpo = None
        if rejected_text is not None:
            alpaca_dpo = formats._line(f'{head}"chosen": {answer_text}, "rejected": {rejected_text}, {tail}')
        return lines, alpaca_sft, alpaca_dpo, None
