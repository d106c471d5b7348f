"""Noise injection on the request (the last user turn): what real users type, not what they mean.

Ops (``ops`` param; each variant applies 1..``max_ops`` of them, chosen by the generator):

- ``typos``: swapped, dropped, doubled or neighbouring-key letters in ``typo_rate`` of the words
- ``casing``: all lower case, or no capital at the start of sentences
- ``punctuation``: end marks dropped or doubled, commas and apostrophes dropped
- ``whitespace``: doubled spaces, a stray line break, padding at the ends
- ``filler``: "so", "um", "basically" (嗯, 那个 for Chinese) at the start of a sentence
- ``irrelevant``: an unrelated sentence before or after ("I'm typing this on my phone.")

Words that carry an identifier (digits, placeholders such as ``<PERSON_1>``, ``SKU-1234``) are
never touched: the answer may repeat them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from annotate.augment.params import Params
from annotate.augment.records import Drop, DropReason, SeedItem, Variant, last_user_index, replace_message
from annotate.augment.text import is_cjk, sentence_starts

OPS = ("typos", "casing", "punctuation", "whitespace", "filler", "irrelevant")

# Plain letter words not glued to digits, hyphens or placeholders ("ITEM-12", "<PERSON_1>").
_LATIN = "A-Za-z\u00c0-\u024f"
_WORD = re.compile(rf"(?<![\w<-])[{_LATIN}]+(?![\w-])")
_LONG_WORD = re.compile(rf"(?<![\w<-])[{_LATIN}]{{4,}}(?![\w-])")
# Each letter's right-hand neighbour on a QWERTY row (the row's last letter: its left one).
_KEYBOARD = dict(zip("qwertyuiopasdfghjklzxcvbnm", "wertyuioposdfghjklkxcvbnmn", strict=True))
FILLERS = ("so", "um", "basically", "honestly", "ok so", "like")
FILLERS_CJK = ("嗯,", "那个,", "就是,", "请问一下,")
IRRELEVANT = (
    "Sorry if this is the wrong place to ask.",
    "I'm typing this on my phone.",
    "It's been a long week.",
    "My cat just walked over the keyboard.",
    "Hope you're having a good day.",
    "I asked a friend but they didn't know either.",
)
IRRELEVANT_CJK = ("我是用手机打的字。", "今天天气不错。", "不好意思打扰了。", "我问了朋友,他也不知道。")


class Noise:
    name = "noise"

    def __init__(self, *, ops: tuple[str, ...] = OPS, max_ops: int = 2, typo_rate: float = 0.08) -> None:
        self.ops, self.max_ops, self.typo_rate = ops, max_ops, typo_rate

    @classmethod
    def from_params(cls, params: Params) -> Noise:
        ops = params.choices("ops", OPS, OPS)
        max_ops = params.number("max_ops", 2, low=1, high=len(OPS), whole=True)
        typo_rate = params.number("typo_rate", 0.08, low=0.01, high=0.5)
        params.finish()
        return cls(ops=ops, max_ops=max_ops, typo_rate=typo_rate)

    @property
    def settings(self) -> Mapping[str, Any]:
        return {"ops": list(self.ops), "max_ops": self.max_ops, "typo_rate": self.typo_rate}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop:
        index = last_user_index(item.prompt)
        if index is None:
            return Drop(DropReason.NOT_APPLICABLE, "the prompt has no user turn")
        text = str(item.prompt[index].get("content") or "")
        cjk = is_cjk(text)
        usable = [op for op in self.ops if not (cjk and op in ("typos", "casing"))]
        if not text.strip() or not usable:
            return Drop(DropReason.NOT_APPLICABLE, "nothing in the request the chosen ops can change")
        chosen = rng.sample(usable, rng.randint(1, min(self.max_ops, len(usable))))
        noisy = text
        for op in sorted(chosen, key=OPS.index):  # a fixed order: typos before casing, etc.
            noisy = _OPS[op](self, noisy, rng, cjk)
        if noisy == text:
            return Drop(DropReason.NO_CHANGE, "the chosen ops found nothing to change")
        return Variant(
            replace_message(item.prompt, index, noisy), item.answer, item.rejected_answer, {"ops": chosen}
        )

    # -- ops -------------------------------------------------------------------------------
    def _typos(self, text: str, rng: random.Random, cjk: bool) -> str:
        words = list(_LONG_WORD.finditer(text))
        if not words:
            return text
        hit = set(rng.sample(range(len(words)), max(1, round(len(words) * self.typo_rate))))
        out, last = [], 0
        for position, match in enumerate(words):
            out.append(text[last : match.start()])
            out.append(_typo(match.group(0), rng) if position in hit else match.group(0))
            last = match.end()
        return "".join([*out, text[last:]])

    def _casing(self, text: str, rng: random.Random, cjk: bool) -> str:
        if rng.random() < 0.5:
            return _WORD.sub(lambda m: m.group(0).lower(), text)
        starts = sentence_starts(text)
        ends = [*starts[1:], len(text)]
        return "".join(_lower_first(text[a:b]) for a, b in zip(starts, ends, strict=True))

    def _punctuation(self, text: str, rng: random.Random, cjk: bool) -> str:
        styles = ["double_end"]
        styles += ["drop_end"] if re.search(r"[.!?。!?](?=\s|$)", text) else []
        styles += ["drop_commas"] if "," in text else []
        styles += ["drop_apostrophes"] if re.search(r"[^\W\d_]['\u2019][^\W\d_]", text) else []
        style = rng.choice(styles)
        if style == "drop_end":
            return re.sub(r"[.!?。!?]+(?=\s|$)", "", text)
        if style == "double_end":
            return re.sub(r"([?!?!])(?=\s|$)", r"\1\1", text) if re.search(r"[?!?!]", text) else text + "??"
        if style == "drop_commas":
            return text.replace(", ", " ").replace(",", "")
        return re.sub(r"(?<=[^\W\d_])['\u2019](?=[^\W\d_])", "", text)

    def _whitespace(self, text: str, rng: random.Random, cjk: bool) -> str:
        gaps = [m.start() for m in re.finditer(r" ", text)]
        if cjk or not gaps:
            return f" {text}  "
        at = rng.choice(gaps)
        filler = rng.choice(["  ", "   ", "\n"])
        return f"{text[:at]}{filler}{text[at + 1 :]}" + rng.choice(["", " ", "\n"])

    def _filler(self, text: str, rng: random.Random, cjk: bool) -> str:
        starts = sentence_starts(text)
        at = rng.choice(starts)
        head, tail = text[:at], text[at:]
        if cjk:
            return head + rng.choice(FILLERS_CJK) + tail
        word = rng.choice(FILLERS)
        return f"{head}{word.capitalize() if at == 0 else word}, {_lower_first(tail)}"

    def _irrelevant(self, text: str, rng: random.Random, cjk: bool) -> str:
        sentence = rng.choice(IRRELEVANT_CJK if cjk else IRRELEVANT)
        if rng.random() < 0.5:
            return sentence + ("" if cjk else " ") + text
        return text + ("" if cjk else " ") + sentence


_OPS: dict[str, Callable[[Noise, str, random.Random, bool], str]] = {
    "typos": Noise._typos,
    "casing": Noise._casing,
    "punctuation": Noise._punctuation,
    "whitespace": Noise._whitespace,
    "filler": Noise._filler,
    "irrelevant": Noise._irrelevant,
}


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)  # inner letters: the first and last stay readable
    kind = rng.choice(["swap", "drop", "double", "neighbour"])
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "neighbour" and word[i].lower() in _KEYBOARD:
        near = _KEYBOARD[word[i].lower()]
        return word[:i] + (near.upper() if word[i].isupper() else near) + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _lower_first(text: str) -> str:
    match = re.match(r"([^\W\d_])([^\W\d_]*)", text)
    if match is None or (match.group(0).isupper() and len(match.group(0)) > 1):
        return text  # "USB", "I'm", digits first: leave it
    if match.group(0) == "I":
        return text
    return text[0].lower() + text[1:]
