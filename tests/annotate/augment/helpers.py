"""Transforms written for tests, registered as a plug-in would be: what the built-ins never do."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from annotate.augment.params import Params
from annotate.augment.records import SeedItem, Variant, last_user_index, replace_message


class Appends:
    """Appends a fixed text to the request (and, optionally, to the answer)."""

    name = "appends"

    def __init__(self, text: str, answer_text: str = "") -> None:
        self.text, self.answer_text = text, answer_text

    @classmethod
    def factory(cls, text: str, answer_text: str = ""):
        def build(params: Params, chat: Any) -> Appends:
            params.finish()
            return cls(text, answer_text)

        return build

    @property
    def settings(self) -> Mapping[str, Any]:
        return {}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant:
        index = last_user_index(item.prompt)
        assert index is not None
        request = str(item.prompt[index]["content"]) + self.text
        return Variant(
            replace_message(item.prompt, index, request), item.answer + self.answer_text, item.rejected_answer
        )


class Explodes:
    """A transform with a bug: it raises on the seeds whose key is listed."""

    name = "explodes"

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys

    @property
    def settings(self) -> Mapping[str, Any]:
        return {}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant:
        if item.key in self.keys:
            raise RuntimeError("a bug quoting Where is my order A123456")
        return Variant(item.prompt, item.answer + " ", item.rejected_answer)
