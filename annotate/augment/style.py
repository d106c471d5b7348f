"""Tone, length and clause order of the request (the last user turn), from templates.

- ``tone``: formal, casual, polite, frustrated (a frame around the request; an existing greeting
  or sign-off makes way for the new one), or terse (greetings, "please", thanks removed).
- ``length``: shorter (pleasantries and sign-offs dropped; sentences holding an identifier
  never are) or longer (background sentences that add no facts).
- ``reorder``: independent sentences in another order. A sentence that points back ("It ...",
  "But ...", "Actually, make that 3 instead") stays glued to the one before it, so a correction
  still comes after what it corrects.

English and Chinese requests get templates in their own language.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from annotate.augment.params import Params
from annotate.augment.records import Drop, DropReason, SeedItem, Variant, last_user_index, replace_message
from annotate.augment.text import anchors, ends_sentence, is_cjk, join_sentences, split_sentences

TONES = ("formal", "casual", "polite", "frustrated", "terse")
LENGTHS = ("shorter", "longer")

FRAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "formal": (("Good day.", "Dear support team,\n\n"), ("Thank you for your assistance.", "Kind regards.")),
    "casual": (("hey!", "hi there,", "yo,"), ("thx", "cheers!", "ty")),
    "polite": (("Hello, I hope you're well.", "Hi, sorry to bother you."), ("Many thanks in advance.",)),
    "frustrated": (
        ("This is really frustrating.", "I've asked about this before."),
        ("Please sort this out.", "I need an answer today."),
    ),
}
FRAMES_CJK: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "formal": (("您好,",), ("谢谢您的帮助。", "此致。")),
    "casual": (("在吗?", "哈喽,"), ("谢啦", "多谢~")),
    "polite": (("您好,打扰一下。",), ("非常感谢!",)),
    "frustrated": (("我已经问过好几次了。", "真的很着急。"), ("请尽快处理。", "今天必须给我答复。")),
}
BACKGROUND = (
    "I've been a customer for a few years and this is the first time I've had to ask.",
    "I checked the website first but couldn't find the answer.",
    "I'd appreciate a quick reply when you get a chance.",
    "Just so you know, I'm writing this during my lunch break.",
)
BACKGROUND_CJK = (
    "我是老顾客了,第一次遇到这种情况。",
    "我先在网站上找过,没找到答案。",
    "方便的话请尽快回复。",
)

_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening|day)|dear [\w ]{1,30}?)(?: there)?[,.!]*\s+",
    re.IGNORECASE,
)
_GREETING_CJK = re.compile(r"^\s*(?:您好|你好|在吗|哈喽)[,,!!。??]*")
_SIGN_OFF = re.compile(
    r",?\s*(?:thanks(?: a lot| in advance| so much)?|thank you(?: very much)?|thx|cheers|regards)[.!]*\s*$",
    re.IGNORECASE,
)
_SIGN_OFF_CJK = re.compile(r"[,,]?\s*(?:谢谢|多谢|谢啦|感谢)[您你]?[!!。~]*\s*$")
_PLEASE = re.compile(r"\b(?:please|kindly)\b,?\s*", re.IGNORECASE)
_PLEASANTRY = re.compile(
    r"^(?:hi|hello|hey|good (?:morning|afternoon|evening|day)|thanks|thank you|many thanks|cheers"
    r"|(?:kind |best )?regards|best|(?:i )?hope you(?:'re| are) (?:doing )?well|i hope this finds you well"
    r"|sorry to bother you|have a (?:nice|good|great) day)"
    r"(?: there| all| team| again| so much| a lot| very much| in advance"
    r"| for (?:your|the) (?:help|time|support))*"
    r"[ ,!.~]*$",
    re.IGNORECASE,
)
_PLEASANTRY_CJK = re.compile(r"^(?:您好|你好|谢谢|多谢|感谢|打扰了|辛苦了)[^。!?]{0,10}[。!?!]*$")
_POINTS_BACK = re.compile(
    r"^(?:it|its|it's|they|them|their|this|that|these|those|he|she|his|her|so|but|and|also|then"
    r"|because|which|otherwise|however|therefore|there|too|plus)\b"
    r"|\b(?:instead|rather|make that|scratch that|actually|correction|change that|above|previous|earlier"
    r"|same one|as well)\b",
    re.IGNORECASE,
)
_POINTS_BACK_CJK = re.compile(r"^(?:它|他|她|这|那|但|所以|而且|然后|因为|不过|另外|也)|改成|不对|还是|其实")


def _request(item: SeedItem) -> tuple[int, str] | Drop:
    index = last_user_index(item.prompt)
    if index is None:
        return Drop(DropReason.NOT_APPLICABLE, "the prompt has no user turn")
    text = str(item.prompt[index].get("content") or "")
    if not text.strip():
        return Drop(DropReason.NOT_APPLICABLE, "the request is empty")
    return index, text


def _variant(item: SeedItem, index: int, old: str, new: str, params: dict[str, Any]) -> Variant | Drop:
    if new.strip() == old.strip():
        return Drop(DropReason.NO_CHANGE, "the template left the request as it was")
    return Variant(replace_message(item.prompt, index, new), item.answer, item.rejected_answer, params)


class Tone:
    name = "tone"

    def __init__(self, *, tones: tuple[str, ...] = TONES) -> None:
        self.tones = tones

    @classmethod
    def from_params(cls, params: Params) -> Tone:
        tones = params.choices("tones", TONES, TONES)
        params.finish()
        return cls(tones=tones)

    @property
    def settings(self) -> Mapping[str, Any]:
        return {"tones": list(self.tones)}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop:
        found = _request(item)
        if isinstance(found, Drop):
            return found
        index, text = found
        tone = rng.choice(self.tones)
        cjk = is_cjk(text)
        if tone == "terse":
            new = _strip_pleasantries(text, cjk)
        else:
            heads, tails = (FRAMES_CJK if cjk else FRAMES)[tone]
            body = (_GREETING_CJK if cjk else _GREETING).sub("", text, count=1)
            body = (_SIGN_OFF_CJK if cjk else _SIGN_OFF).sub("", body).strip()
            if cjk:
                body += "" if ends_sentence(body) else "。"
            elif tone != "casual":
                body = body[:1].upper() + body[1:] + ("" if ends_sentence(body) else ".")
            head = rng.choice(heads)
            space = "" if cjk or head.endswith("\n") else " "
            new = f"{head}{space}{body}{'' if cjk else ' '}{rng.choice(tails)}"
            new = new.lower() if tone == "casual" and not cjk and not anchors(new) else new
        return _variant(item, index, text, new, {"tone": tone})


class Length:
    name = "length"

    def __init__(self, *, modes: tuple[str, ...] = LENGTHS) -> None:
        self.modes = modes

    @classmethod
    def from_params(cls, params: Params) -> Length:
        modes = params.choices("mode", LENGTHS, LENGTHS)
        params.finish()
        return cls(modes=modes)

    @property
    def settings(self) -> Mapping[str, Any]:
        return {"mode": list(self.modes)}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop:
        found = _request(item)
        if isinstance(found, Drop):
            return found
        index, text = found
        cjk = is_cjk(text)
        shorter = _strip_pleasantries(text, cjk) if "shorter" in self.modes else text
        modes = [m for m in self.modes if m == "longer" or shorter.strip() != text.strip()]
        if not modes:
            return Drop(DropReason.NOT_APPLICABLE, "no pleasantry to drop and 'longer' is not enabled")
        mode = rng.choice(modes)
        if mode == "shorter":
            return _variant(item, index, text, shorter, {"mode": mode})
        pool = list(BACKGROUND_CJK if cjk else BACKGROUND)
        added = rng.sample(pool, rng.randint(1, 2))
        parts = [*added, text.strip()] if rng.random() < 0.5 else [text.strip(), *added]
        return _variant(
            item, index, text, join_sentences(parts, cjk=cjk), {"mode": mode, "added": len(added)}
        )


class Reorder:
    name = "reorder"

    @classmethod
    def from_params(cls, params: Params) -> Reorder:
        params.finish()
        return cls()

    @property
    def settings(self) -> Mapping[str, Any]:
        return {}

    def apply(self, item: SeedItem, rng: random.Random) -> Variant | Drop:
        found = _request(item)
        if isinstance(found, Drop):
            return found
        index, text = found
        cjk = is_cjk(text)
        sentences = split_sentences(text)
        # A greeting stays first and a sign-off last: "Thanks! Hi there." reads wrong.
        pleasantry = _PLEASANTRY_CJK if cjk else _PLEASANTRY
        head = 0
        while head < len(sentences) and pleasantry.match(sentences[head]) and not anchors(sentences[head]):
            head += 1
        tail = len(sentences)
        while tail > head and pleasantry.match(sentences[tail - 1]) and not anchors(sentences[tail - 1]):
            tail -= 1
        units: list[list[str]] = []
        for sentence in sentences[head:tail]:
            points_back = (_POINTS_BACK_CJK if cjk else _POINTS_BACK).search(sentence)
            if units and points_back:
                units[-1].append(sentence)
            else:
                units.append([sentence])
        if len(units) < 2:
            return Drop(DropReason.NOT_APPLICABLE, "fewer than two independent sentences")
        order = list(range(len(units)))
        while order == sorted(order):
            rng.shuffle(order)
        middle = [s for i in order for s in units[i]]
        new = join_sentences([*sentences[:head], *middle, *sentences[tail:]], cjk=cjk)
        return _variant(item, index, text, new, {"order": order})


def _strip_pleasantries(text: str, cjk: bool) -> str:
    body = (_GREETING_CJK if cjk else _GREETING).sub("", text, count=1)
    kept = [
        s
        for s in split_sentences(body)
        if anchors(s) or not (_PLEASANTRY_CJK if cjk else _PLEASANTRY).match(s.strip())
    ]
    body = join_sentences(kept, cjk=cjk) if kept else body
    body = (_SIGN_OFF_CJK if cjk else _SIGN_OFF).sub("", body)
    if not cjk:
        body = _PLEASE.sub("", body)
        body = body[:1].upper() + body[1:]
    else:
        body = body.replace("请问", "").replace("麻烦", "")
    return body.strip() or text
