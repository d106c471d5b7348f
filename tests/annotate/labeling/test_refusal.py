"""The refusal detector: conservative, English and Chinese."""

# Chinese test data is written with the full-width punctuation Chinese text really uses.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from annotate.labeling import is_refusal
from annotate.labeling.refusal import WINDOW


@pytest.mark.parametrize(
    "text",
    [
        "I can't help with that.",
        "I cannot share that information.",
        "I\u2019m sorry, but I can\u2019t do that.",
        "I'm sorry, but that is not something I can do.",
        "We are unable to provide account details for other customers.",
        "Unable to provide that: it is someone else's address.",
        "I won't be able to assist with this request.",
        "I'm not allowed to disclose internal prices.",
        "I must respectfully decline.",
        "That goes against my guidelines.",
        "I understand why you ask. However, I cannot provide medical dosing advice.",
        '{"answer": null, "message": "I cannot provide personal data."}',
        "I CAN'T HELP WITH THAT.",
    ],
)
def test_english_refusals_are_recognised(text):
    assert is_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "抱歉，我无法提供该信息。",
        "我不能帮你做这件事。",
        "对不起，这个问题不能回答。",
        "无法提供他人的住址。",
        "好的。不过，无法提供他人的住址。",
        "我目前无法为您提供这类信息。",
        "这个我帮不了你。",
        "恕不提供内部价格。",
        "我拒绝回答这个问题。",
        "很遗憾，涉及个人隐私的内容不便透露。",
    ],
)
def test_chinese_refusals_are_recognised(text):
    assert is_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Sure! Here is the answer.",
        "I can't help but notice the bug on line 3.",
        "I can't wait to help you plan the trip!",
        "I can't give up on this one.",
        "The API cannot provide historical data; use the export instead.",
        "You cannot share passwords with colleagues.",
        "Sorry for the delay, here is your refund status.",
        "你不能在这里停车，请停到B2。",
        "抱歉让您久等了，您的订单已发货。",
        "该接口无法提供历史数据，请使用导出功能。",
        "我们不能在周末发货，周一统一发出。",
        "不能",
        "抱歉",
    ],
)
def test_answers_and_bare_keywords_are_not_refusals(text):
    assert not is_refusal(text)


def test_a_caveat_deep_inside_a_long_answer_is_not_a_refusal():
    answer = "Here is how to reset the router. " * (WINDOW // 30) + "I cannot provide the admin password."
    assert not is_refusal(answer)
    assert is_refusal("I cannot provide the admin password. " + answer)


def test_the_detector_needs_nothing_but_the_standard_library():
    # training/ copies the module verbatim; an import of the project would break the copy.
    import annotate.labeling.refusal as module

    with open(module.__file__, encoding="utf-8") as file:
        source = file.read()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations", "import re", "import unicodedata"]
