"""Checks a release must pass: JSON golden answers that parse and follow their schema, and no leak.

Messages name the item and what is wrong, never the answer's content (it may be anything).
The PII gate is :mod:`flywheel.export.pii`.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np
from jsonschema.exceptions import best_match

from flywheel.export.identity import ByIdentity
from flywheel.export.records import SPLITS, ExportItem, Split
from flywheel.export.spill import Facts
from flywheel.export.split import key_digest
from flywheel.rules.checks import schema_validator

NOT_JSON = "item {key}: the golden answer of a JSON task does not parse ({error} at line {line} column {col})"
NOT_A_NUMBER = "item {key}: the golden answer of a JSON task uses {constant}, which is not JSON"
SCHEMA_FAILS = "item {key}: the golden answer fails its JSON schema at {path} ({keyword})"
BAD_SCHEMA = "item {key}: its JSON schema is not valid ({problem})"
LEAK = "leak: item {first!r} ({first_split}) and item {second!r} ({second_split}) share their {what}"
HELD_OUT_LEAK = "leak: item {key!r} was in {was} of {release}; it must not be trained on now"


SPLIT_CODES = {split: code for code, split in enumerate(SPLITS)}


class _NotJson(ValueError):
    def __init__(self, constant: str) -> None:
        super().__init__(constant)
        self.constant = constant


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


class JsonCheck:
    """Parses JSON golden answers (strictly: no NaN/Infinity) and validates them against their schema.

    Refusals are exempt, as in labeling and training: a refusal replaces the structured answer.
    Validators are compiled once per distinct schema.
    """

    def __init__(self) -> None:
        self._validators: dict[str, Any] = {}
        # Items of one task share their schema object: by identity first, by content otherwise.
        self._validator: ByIdentity[Mapping[str, Any], Any] = ByIdentity(self._by_content)

    def problem(self, item: ExportItem) -> str | None:
        if item.output_format != "json" or item.must_refuse:
            return None
        key = item.item_key
        try:
            document = json.loads(item.answer, parse_constant=_refuse_constant)
        except _NotJson as error:
            return NOT_A_NUMBER.format(key=key, constant=error.constant)
        except json.JSONDecodeError as error:
            return NOT_JSON.format(key=key, error=error.msg, line=error.lineno, col=error.colno)
        if item.json_schema is None:
            return None
        try:
            validator = self._validator(item.json_schema)
        except ValueError as error:
            return BAD_SCHEMA.format(key=key, problem=f"it {error}"[:200])
        if validator.is_valid(document):  # the common case; best_match only for the message
            return None
        failure = best_match(validator.iter_errors(document))
        if failure is None:
            return None
        path = "/" + "/".join(str(part) for part in failure.absolute_path)
        return SCHEMA_FAILS.format(key=key, path=path, keyword=failure.validator)

    def _by_content(self, schema: Mapping[str, Any]) -> Any:
        cache_key = json.dumps(schema, sort_keys=True)
        if cache_key not in self._validators:
            self._validators[cache_key] = schema_validator(schema)
        return self._validators[cache_key]


class LeakCheck:
    """Fed every written row; reports anything that shows up on two sides of the split.

    Item ids, group keys, traces and content (prompt + answer) must each belong to one split; an
    item the predecessor held out must not be in train now. Kept compact (8-byte digests in
    arrays, ~100 bytes per row) and checked at the end with one sort per kind.
    """

    KINDS = ("item", "group", "trace", "content")
    SHOWN = 20

    def __init__(self, predecessor_items: Mapping[str, Split] | None = None, release: str = "") -> None:
        self._digests = {kind: array("Q") for kind in self.KINDS}
        self._rows = {kind: array("I") for kind in self.KINDS}  # row number of each digest
        self._splits = array("B")
        self._keys: list[str] = []
        self._predecessor = predecessor_items or {}
        self._release = release
        self._held_out: list[str] = []

    def add(
        self,
        item: ExportItem | Facts,
        split: Split,
        content: bytes,
        codes: tuple[int, int, int] | None = None,
    ) -> None:
        """``codes``: the item's (item, group, trace) :func:`key_digest` when the caller has them."""
        row = len(self._keys)
        self._keys.append(item.item_key)
        self._splits.append(SPLIT_CODES[split])
        if codes is None:
            codes = (key_digest(item.item_key), key_digest(item.group_key), key_digest(item.trace_key))
        digests = (*codes, int.from_bytes(content[:8], "little"))
        for kind, digest in zip(self.KINDS, digests, strict=True):
            if digest:  # 0: no trace key
                self._digests[kind].append(digest)
                self._rows[kind].append(row)
        was = self._predecessor.get(item.item_key)
        if split is Split.TRAIN and was is not None and was is not Split.TRAIN:
            self._held_out.append(
                HELD_OUT_LEAK.format(key=item.item_key, was=was.value, release=self._release)
            )

    @property
    def problems(self) -> list[str]:
        found = []
        splits = np.frombuffer(self._splits, dtype=np.uint8) if self._keys else np.zeros(0, np.uint8)
        for kind in self.KINDS:
            if not self._rows[kind]:
                continue
            digests = np.frombuffer(self._digests[kind], dtype=np.uint64)
            rows = np.frombuffer(self._rows[kind], dtype=np.uint32)
            order = np.lexsort((splits[rows], digests))
            d, r = digests[order], rows[order]
            clash = np.flatnonzero((d[1:] == d[:-1]) & (splits[r[1:]] != splits[r[:-1]]))
            for at in clash[: self.SHOWN]:
                first, second = int(r[at]), int(r[at + 1])
                found.append(
                    LEAK.format(
                        what=kind,
                        first=self._keys[first],
                        first_split=SPLITS[splits[first]].value,
                        second=self._keys[second],
                        second_split=SPLITS[splits[second]].value,
                    )
                )
        return found + self._held_out

    @property
    def overlaps(self) -> int:
        return len(self.problems)
