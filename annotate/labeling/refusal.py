"""Does a text read as a refusal? A conservative English + Chinese phrase detector.

Standard library only, on purpose: ``training/`` cannot import ``annotate``, so its evaluation
copies this file verbatim (keep it self-contained; a test can compare the two copies).

"Conservative" means a false positive is worse than a false negative: it says yes only for
phrasings that refuse, and only near the start of the text (the first :data:`WINDOW`
characters), where a refusal puts its refusal. What counts, with examples:

- English, first person + inability + an action: "I can't help with that", "I cannot share
  that", "We are unable to provide ...", "I won't be able to assist", "I'm not allowed to
  disclose"; "I must decline", "I have to refuse"; "I'm sorry, but ..."; a clause that opens
  with "Unable to provide ..."; "... goes against my guidelines".
  Not: "I can't help but notice", "I can't wait to help", "The API cannot provide history".
- Chinese, a first-person inability + an action: 我不能提供, 我们无法透露, 我目前无法为您回答;
  an apology followed closely by an inability: 抱歉 ... 这个我不能, 对不起 ... 无法; a clause that
  opens with an inability + action: 无法提供该信息, 不便透露; fixed phrases: 帮不了, 爱莫能助,
  无可奉告, 恕难从命, 恕不提供; 我拒绝回答 / 必须拒绝.
  Not bare 不能 or 抱歉: "你不能在这里停车" advises, "抱歉让您久等了" apologises, neither refuses;
  not "该接口无法提供历史数据" (a subject other than the speaker).
"""

from __future__ import annotations

import re
import unicodedata

# A refusal states itself up front; deep inside a long helpful answer "I can't share X" is a
# caveat, not a refusal.
WINDOW = 500

_EN_ACTION = (
    r"(?:help|assist|provide|share|give|disclose|reveal|comply|fulfil|fulfill|answer|support|create"
    r"|generate|write|produce|engage|discuss|offer|recommend|continue|do\s+(?:that|this|so))"
)
_EN_CANT = (
    r"(?:can't|cannot|can\s+not|won't|will\s+not|(?:won't|will\s+not)\s+be\s+able\s+to"
    r"|(?:am|'m|are|'re)\s+(?:not\s+able|unable)\s+to|(?:am|'m|are|'re)\s+not\s+(?:allowed|permitted)\s+to"
    r"|(?:must|have\s+to)\s+decline\s+to)"
)
# Filler such as "really", "legally", "help you" may sit between the inability and the action.
_EN_FIRST_PERSON = rf"\b(?:i|we)\s*{_EN_CANT}\s+(?:\w+\s+)?{_EN_ACTION}\b(?!\s+(?:but|up)\b)"
_CLAUSE_START = r"(?:^|[.!?;:,]\s*|\n\s*)"

_CN_CANT = r"(?:不能|无法|不可以|不便|没办法|没有办法|不会|不予|不方便)"
_CN_ACTION = (
    r"(?:提供|回答|帮|协助|透露|分享|告知|告诉|处理|满足|完成|执行|生成|讨论|解答|给出|参与|泄露|公开)"
)
_CN_SPEAKER = r"(?:我|我们|本助手|小助手)"
# Full-width commas, colons etc. are ASCII by now (see _normalise); 。 and 、 have no ASCII twin.
_CN_PUNCT = r"[。、,.!?;:\n]"

_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        _EN_FIRST_PERSON,
        r"\bi(?:'m|\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry,?\s+but\b",
        rf"{_CLAUSE_START}sorry,\s+but\b",
        r"\b(?:i|we)\s+(?:must|have\s+to|need\s+to)\s+(?:respectfully\s+|politely\s+)?(?:decline|refuse)\b",
        rf"{_CLAUSE_START}(?:unable|not\s+able)\s+to\s+{_EN_ACTION}\b",
        r"\bagainst\s+(?:my|our)\s+(?:guidelines|policy|policies|usage\s+policies|content\s+policy)\b",
        # Up to 8 characters of adverbs and objects between speaker, inability and action:
        # 我目前无法为您提供, 我们暂时不能帮您处理.
        rf"{_CN_SPEAKER}[^。,.!?\n]{{0,8}}?{_CN_CANT}[^。,.!?\n]{{0,6}}?{_CN_ACTION}",
        rf"(?:抱歉|对不起|很遗憾|不好意思)[^。.!?\n]{{0,30}}?{_CN_CANT}",
        rf"(?:^|{_CN_PUNCT})\s*(?:暂时|目前|恕)?(?:无法|不能|不便|不予)(?:为你|为您|向你|向您|给你|给您)?"
        r"(?:提供|透露|分享|告知|协助|帮助|帮你|帮您|回答|满足|处理)",
        r"帮不了|帮不上忙|爱莫能助|无可奉告|恕难从命|恕不(?:提供|回答|透露)",
        rf"{_CN_SPEAKER}(?:必须|只能|不得不)?拒绝",
    )
)


def is_refusal(text: str) -> bool:
    """True when ``text`` reads as a refusal (English or Chinese); see the module docstring."""
    folded = _normalise(text)
    return any(pattern.search(folded) for pattern in _PATTERNS)


def _normalise(text: str) -> str:
    # NFKC folds full-width letters and punctuation to ASCII (the CJK comma becomes ",", but
    # 。 stays); curly apostrophes become straight so "can\u2019t" matches "can't".
    folded = unicodedata.normalize("NFKC", text.strip()[:WINDOW])
    return folded.replace("\u2019", "'").replace("\u2018", "'").casefold()
