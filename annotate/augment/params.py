"""Reading a transform's ``params`` mapping with every mistake reported, each naming its key.

A transform's ``from_params`` reads through a :class:`Params`; a bad value is recorded as one
line (``variants[2].params.tones: 'angry' is not one of formal, casual (did you mean ...)``)
and a default stands in, so the recipe loader can report every problem of a file at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flywheel.rules.parse import got, suggest


class Params:
    def __init__(self, raw: Any, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.report("", f"must be a mapping (got {got(raw)})")
            raw = {}
        self.raw: Mapping[str, Any] = raw
        self._read: set[str] = set()

    def report(self, key: str, text: str) -> None:
        where = f"{self.path}.{key}" if key else self.path
        self.problems.append(f"{where}: {text}")

    def choices(self, key: str, allowed: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
        """A list of names from ``allowed`` (a single name is a list of one); never empty."""
        value = self._get(key, list(default))
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            self.report(key, f"must be a non-empty list of {', '.join(allowed)} (got {got(value)})")
            return tuple(default)
        bad = [i for i in items if i not in allowed]
        for item in bad:
            self.report(key, f"{item!r} is not one of {', '.join(allowed)}{suggest(item, allowed)}")
        return tuple(dict.fromkeys(i for i in items if i in allowed)) or tuple(default)

    def number(self, key: str, default: float, *, low: float, high: float, whole: bool = False) -> Any:
        value = self._get(key, default)
        kind = "a whole number" if whole else "a number"
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or (whole and not float(value).is_integer()) or not low <= value <= high:
            self.report(key, f"must be {kind} from {_plain(low)} to {_plain(high)} (got {got(value)})")
            return default
        return int(value) if whole else float(value)

    def text(self, key: str, default: str) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.report(key, f"must be non-empty text (got {got(value)})")
            return default
        return value

    def lists_of_text(self, key: str) -> dict[str, tuple[str, ...]]:
        """``{kind: [value, ...]}`` with at least two distinct values per kind (one cannot be swapped)."""
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            self.report(key, f"must map a kind to a list of values (got {got(value)})")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for kind, items in value.items():
            ok = isinstance(items, list) and all(isinstance(i, str) and i.strip() for i in items)
            distinct = tuple(dict.fromkeys(i.strip() for i in items)) if ok else ()
            if not ok or len(distinct) < 2:
                self.report(f"{key}.{kind}", f"must be a list of at least two texts (got {got(items)})")
                continue
            out[str(kind)] = distinct
        return out

    def finish(self) -> None:
        """Reports the keys nobody read: typos, or options of another transform."""
        known = sorted(self._read)
        for key in self.raw:
            if key not in self._read:
                self.report(str(key), f"is not an option of this transform{suggest(key, known)}")

    def _get(self, key: str, default: Any) -> Any:
        self._read.add(key)
        return self.raw.get(key, default)


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
