"""What was computed from an object many items share (one schema dict per task), found by identity.

Looking a dict up by its content costs a ``json.dumps`` of it per item; by ``id()`` it is one dict
lookup. The object is kept beside its value, so its id cannot be reused by another object while
the entry lives; past ``limit`` entries the cache starts over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByIdentity(Generic[K, V]):
    def __init__(self, compute: Callable[[K], V], limit: int = 1024) -> None:
        self._compute = compute
        self._limit = limit
        self._entries: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        hit = self._entries.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        value = self._compute(obj)
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[id(obj)] = (obj, value)
        return value
