"""Feeds a stream of source items to the store in bounded batches, with a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def progress_bar(*, desc: str, enabled: bool, unit: str = "rec") -> tqdm:
    return tqdm(
        desc=desc, unit=unit, file=sys.stderr, disable=not enabled, dynamic_ncols=True, mininterval=0.5
    )


ProgressHook = Callable[[int], None]
