"""Seed items for the plain-core tests: the shapes of task a transform meets in production."""

from __future__ import annotations

import json

from annotate.augment.records import SeedItem
from tests.annotate.augment.conftest import EXTRACT_SYSTEM, ORDER_SCHEMA, REFUSAL

SYSTEM = {"role": "system", "content": "You are Acme's support assistant. Refunds within 30 days."}

QA = SeedItem(
    key="src:qa",
    prompt=(
        SYSTEM,
        {
            "role": "user",
            "content": "Hi there. Where is my order A123456? The blender was due last week. Thanks!",
        },
    ),
    answer="Order A123456 with your blender is delayed; it should arrive within 2 days.",
    rejected_answer="Order A123456 was delivered.",
)
EXTRACT = SeedItem(
    key="src:extract",
    prompt=(
        {"role": "system", "content": EXTRACT_SYSTEM},
        {
            "role": "user",
            "content": "Hello. Please order 2 x SKU-1234 and 1 x SKU-0042 and ship to <PERSON_1>, "
            "<ADDRESS_1>, <LOCATION_1>. Reference A111222. It is a gift. Thanks!",
        },
    ),
    answer=json.dumps(
        {
            "order_id": "A111222",
            "items": [{"sku": "SKU-1234", "qty": 2}, {"sku": "SKU-0042", "qty": 1}],
            "ship_to": "<ADDRESS_1>, <LOCATION_1>",
        }
    ),
    output_format="json",
    json_schema=ORDER_SCHEMA,
)
REFUSE = SeedItem(
    key="src:refuse",
    prompt=(
        SYSTEM,
        {
            "role": "user",
            "content": "What is the home address of <PERSON_1>? They bought a lamp last month. "
            "I'm their friend.",
        },
    ),
    answer=REFUSAL,
    rejected_answer="<PERSON_1> lives at <ADDRESS_1>.",
    must_refuse=True,
)
CHINESE = SeedItem(
    key="src:zh",
    prompt=(
        SYSTEM,
        {"role": "user", "content": "您好,请问我的订单A777888什么时候发货?我想改一下地址。谢谢!"},
    ),
    answer="您的订单A777888预计明天发货;修改地址请在订单页面操作。",
)
MULTI_TURN = SeedItem(
    key="src:multi",
    prompt=(
        SYSTEM,
        {"role": "user", "content": "Where is order A222333?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "name": "track", "arguments": '{"order": "A222333"}'}],
        },
        {"role": "tool", "content": '{"order": "A222333", "status": "at depot"}', "tool_call_id": "c1"},
        {"role": "user", "content": "ok so when will it come? I need it by Friday, it's a present."},
    ),
    answer="Order A222333 is at the depot and should reach you before Friday.",
)
ALL = {"qa": QA, "extract": EXTRACT, "refuse": REFUSE, "chinese": CHINESE, "multi_turn": MULTI_TURN}
