"""Entity substitution: names, places, products, numbers swapped for other values of the same kind.

The swap is consistent: one value gets one replacement everywhere, in the input turns and in the
answer (and the rejected answer), so an answer that repeats an order number still repeats it.
The system prompt is never touched: it states the task's rules, and a number there is a rule.

Kinds (``kinds`` param):

- ``number``: identifiers (``A123456``, ``SKU-1234``, runs of 5+ digits) get new digits of the
  same shape. With ``numbers: all`` plain numbers (quantities, prices) change too; that is off by
  default because an answer can depend on a number's value ("30 days" of a return policy, a sum).
  Dates, times and years are left alone.
- ``name``: ``<PERSON_n>`` placeholders, and the recipe's own ``values.name``, become synthetic
  names (:mod:`annotate.augment.synthetic`).
- ``place``: ``<LOCATION_n>`` / ``<ADDRESS_n>`` placeholders and ``values.place``.
- ``product``: a built-in list of shop products plus ``values.product``.
- any other key of ``values``: those values are swapped among themselves.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from annotate.augment import synthetic
from annotate.augment.params import Params
from annotate.augment.records import Drop, DropReason, Message, SeedItem, Variant
from annotate.augment.text import anchors, match_case

KINDS = ("number", "name", "place", "product")
NUMBER_MODES = ("ids", "all")

_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.,:/-])(?P<prefix>[A-Za-z]{1,6}-?|#)?(?P<int>\d+)(?:\.(?P<frac>\d+))?"
    r"(?![A-Za-z0-9_/-]|[.,:]\d)"
)
_PERSON = re.compile(r"<PERSON_[1-9]\d*>")
_PLACE = re.compile(r"<(?:LOCATION|ADDRESS)_[1-9]\d*>")


class EntitySubstitution:
    name = "entity_substitution"

    def __init__(
        self,
        *,
        kinds: Sequence[str] = KINDS,
        numbers: str = "ids",
        values: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.kinds = tuple(kinds)
        self.numbers = numbers
        self.values = {kind: tuple(items) for kind, items in (values or {}).items()}
        self._vocabulary = {kind: _vocabulary(self._words(kind)) for kind in self.kinds if kind != "number"}

    @classmethod
    def from_params(cls, params: Params) -> EntitySubstitution:
        values = params.lists_of_text("values")
        kinds = params.choices("kinds", (*KINDS, *values), KINDS)
        numbers = params.choices("numbers", NUMBER_MODES, ["ids"])[0]
        params.finish()
        return cls(kinds=kinds, numbers=numbers, values=values)

    @property
    def settings(self) -> Mapping[str, Any]:
        return {"kinds": list(self.kinds), "numbers": self.numbers, "values": list(self.values)}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop:
        inputs = [str(m.get("content") or "") for m in item.prompt if m.get("role") != "system"]
        system = " ".join(str(m.get("content") or "") for m in item.prompt if m.get("role") == "system")
        everything = " ".join([*inputs, item.answer, item.rejected_answer, system])
        taken = anchors(everything) | {w.casefold() for w in re.findall(r"\w+", everything)}
        swaps: dict[str, str] = {}
        counts: dict[str, int] = {}
        for kind in self.kinds:
            found = self._find(kind, inputs, item.answer, exclude=anchors(system))
            for original in found:
                if original in swaps:
                    continue
                replacement = self._replacement(kind, original, rng, taken)
                if replacement is None:
                    continue
                swaps[original] = replacement
                taken |= {replacement, replacement.casefold()}
                counts[kind] = counts.get(kind, 0) + 1
        if not swaps:
            return Drop(DropReason.NOT_APPLICABLE, "no entity of the chosen kinds in the input")
        pattern = _alternation(swaps)
        prompt = tuple(
            m if m.get("role") == "system" else _swap_message(m, pattern, swaps) for m in item.prompt
        )
        answer = _swap(item.answer, pattern, swaps)
        rejected = _swap(item.rejected_answer, pattern, swaps)
        return Variant(prompt, answer, rejected, {"swapped": counts}, renamed=swaps)

    # -- finding ---------------------------------------------------------------------------
    def _find(self, kind: str, inputs: Sequence[str], answer: str, *, exclude: set[str]) -> list[str]:
        text = "\n".join(inputs)
        if kind == "number":
            return [t for t in _numbers(text, self.numbers, answer) if t not in exclude]
        found: list[str] = []
        if kind == "name":
            found += _PERSON.findall(text)
        if kind == "place":
            found += _PLACE.findall(text)
        vocabulary = self._vocabulary.get(kind)
        if vocabulary is not None:
            found += [m.group(0) for m in vocabulary.finditer(text)]
        return list(dict.fromkeys(found))

    def _words(self, kind: str) -> tuple[str, ...]:
        words = self.values.get(kind, ())
        if kind == "product":
            words = (*words, *(w for pair in synthetic.PRODUCTS for w in pair))
        return words

    # -- replacing -------------------------------------------------------------------------
    def _replacement(self, kind: str, original: str, rng: random.Random, taken: set[str]) -> str | None:
        if kind == "number":
            return _new_number(original, rng, taken)
        if original.startswith("<"):
            pool: Sequence[str] = synthetic.STREETS if original.startswith("<ADDRESS") else synthetic.PLACES
            if kind == "name":
                pool = synthetic.NAMES
            return _pick(pool, rng, taken)
        if kind == "product":
            return self._product(original, rng, taken)
        own = self.values.get(kind, ())
        pool = own or (synthetic.NAMES if kind == "name" else synthetic.PLACES)
        choice = _pick([v for v in pool if v.casefold() != original.casefold()], rng, taken)
        return match_case(choice, original) if choice is not None and kind not in ("name",) else choice

    def _product(self, original: str, rng: random.Random, taken: set[str]) -> str | None:
        folded = original.casefold()
        plural = any(folded == p for _, p in synthetic.PRODUCTS)  # "shoes" is plural-only
        own = [(v, v) for v in self.values.get("product", ())]
        pairs = [pair for pair in (*own, *synthetic.PRODUCTS) if folded not in (pair[0].casefold(), pair[1])]
        pool = [p if plural else s for s, p in pairs]
        choice = _pick(pool, rng, taken)
        return match_case(choice, original) if choice is not None else None


def _vocabulary(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    body = "|".join(map(re.escape, sorted(set(words), key=len, reverse=True)))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def _numbers(text: str, mode: str, answer: str) -> list[str]:
    out = []
    for match in _NUMBER.finditer(text):
        token, digits = match.group(0), match.group("int")
        is_id = bool(match.group("prefix") and match.group("prefix") != "#") or len(digits) >= 5
        if match.group("prefix") == "#":
            token = token[1:]
        if is_id or (mode == "all" and not _is_year(digits, match.group("frac"))):
            out.append(token)
    return out


def _is_year(digits: str, frac: str | None) -> bool:
    return frac is None and len(digits) == 4 and 1900 <= int(digits) <= 2099


def _new_number(original: str, rng: random.Random, taken: set[str]) -> str | None:
    for _ in range(20):
        candidate = re.sub(r"\d+", lambda m: _digits_like(m.group(0), rng), original)
        if candidate != original and candidate not in taken:
            return candidate
    return None


def _digits_like(digits: str, rng: random.Random) -> str:
    if len(digits) == 1:
        return str(rng.choice([d for d in range(1, 10) if str(d) != digits]))
    first = digits[0] if digits[0] == "0" else str(rng.randint(1, 9))
    return first + "".join(str(rng.randint(0, 9)) for _ in digits[1:])


def _pick(pool: Sequence[str], rng: random.Random, taken: set[str]) -> str | None:
    free = [v for v in pool if v not in taken and v.casefold() not in taken]
    return rng.choice(free) if free else None


def _alternation(swaps: Mapping[str, str]) -> re.Pattern[str]:
    ordered = sorted(swaps, key=len, reverse=True)
    body = "|".join(map(re.escape, ordered))
    # ASCII word boundaries: in Chinese text an identifier sits between letters (订单A123456发货).
    return re.compile(rf"(?<![A-Za-z0-9_-])(?:{body})(?![A-Za-z0-9_-]|\.\d)", re.IGNORECASE)


def _swap(text: str, pattern: re.Pattern[str], swaps: Mapping[str, str]) -> str:
    if not text:
        return text
    folded = {k.casefold(): v for k, v in swaps.items()}

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        exact = swaps.get(found)
        if exact is not None:
            return exact
        # Case differs from the first occurrence ("Blender" vs "blender"): keep this one's case.
        return match_case(folded[found.casefold()], found)

    return pattern.sub(replace, text)


def _swap_message(message: Message, pattern: re.Pattern[str], swaps: Mapping[str, str]) -> Message:
    return {**message, "content": _swap(str(message.get("content") or ""), pattern, swaps)}
