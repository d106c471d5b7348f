"""The paraphrase transform and its client against the OpenAI-compatible stand-in, failures included.

A failure drops the one variant with its reason; it never raises (the run goes on).
"""

from __future__ import annotations

import socket

import httpx
import pytest

from annotate.augment import ChatClient, ChatConfig, Drop, DropReason, Variant, check_contract, derived_rng
from annotate.augment.paraphrase import INSTRUCTION, Paraphrase
from annotate.augment.standin import ChatStandin, standin_paraphrase
from tests.annotate.augment.items import QA

KEY = "sk-standin-test"


@pytest.fixture
def chat():
    with ChatStandin(api_key=KEY) as standin:
        yield standin


def client_for(standin, *, timeout=2.0, key=KEY, attempts=3):
    waits: list[float] = []
    config = ChatConfig(
        base_url=standin.base_url, model="standin-1", api_key=key, timeout=timeout, max_attempts=attempts
    )
    return ChatClient(config, sleep=waits.append), waits


def paraphrase(client, item=QA, seed=0, **kwargs):
    return Paraphrase(client, **kwargs).apply(item, derived_rng("p", seed))


def test_a_paraphrase_rewords_the_request_and_keeps_the_answer_and_its_contract(chat):
    client, _ = client_for(chat)
    variant = paraphrase(client)
    assert isinstance(variant, Variant)
    text = variant.prompt[-1]["content"]
    assert text != QA.prompt[-1]["content"] and "A123456" in text
    assert variant.answer == QA.answer and variant.prompt[0] == QA.prompt[0]
    assert check_contract(QA, variant) is None


def test_the_request_carries_the_model_the_instruction_the_seed_and_the_key(chat):
    client, _ = client_for(chat)
    variant = paraphrase(client, temperature=0.3)
    (body,) = chat.requests
    assert (
        body["model"] == "standin-1" and body["temperature"] == 0.3 and body["seed"] == variant.params["seed"]
    )
    assert body["messages"] == [
        {"role": "system", "content": INSTRUCTION},
        {"role": "user", "content": QA.prompt[-1]["content"]},
    ]


def test_the_same_seed_item_and_generator_state_give_the_same_paraphrase(chat):
    client, _ = client_for(chat)
    assert paraphrase(client, seed=1) == paraphrase(client, seed=1)
    assert paraphrase(client, seed=1) != paraphrase(client, seed=2)


def test_a_timeout_drops_the_variant_without_a_retry(chat):
    client, waits = client_for(chat, timeout=0.3)
    chat.faults.push("timeout", seconds=2)
    assert paraphrase(client) == Drop(DropReason.PARAPHRASE_TIMEOUT, "no answer within 0.3 s")
    assert chat.count == 1 and waits == []


def test_server_errors_are_retried_with_backoff_and_a_later_success_counts(chat):
    client, waits = client_for(chat)
    chat.faults.push("server_error", count=2)
    assert isinstance(paraphrase(client), Variant)
    assert chat.count == 3 and waits == [0.5, 1.0]


def test_server_errors_on_every_attempt_drop_the_variant_as_unavailable(chat):
    client, _ = client_for(chat)
    chat.faults.push("status", count=3, status=503)
    assert paraphrase(client) == Drop(DropReason.PARAPHRASE_UNAVAILABLE, "HTTP 503 after 3 attempts")


def test_a_rate_limit_waits_as_long_as_retry_after_says_then_gives_up(chat):
    client, waits = client_for(chat)
    chat.faults.push("rate_limit", count=3, retry_after=7)
    assert paraphrase(client) == Drop(DropReason.PARAPHRASE_RATE_LIMITED, "HTTP 429 after 3 attempts")
    assert waits == [7.0, 7.0]


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        ("malformed_json", "the reply is not JSON"),
        ("missing_choices", "the reply has no choices"),
        ("empty_content", "the first choice has no message content"),
        ("truncated", "the answer stopped early (finish_reason length)"),
        ("answer_instead", "the reply is far longer than the request"),
    ],
)
def test_a_malformed_reply_drops_the_variant_without_a_retry(chat, fault, detail):
    client, _ = client_for(chat)
    chat.faults.push(fault)
    assert paraphrase(client) == Drop(DropReason.PARAPHRASE_MALFORMED, detail)
    assert chat.count == 1


def test_a_paraphrase_that_loses_an_identifier_is_dropped(chat):
    client, _ = client_for(chat)
    chat.faults.push("lose_identifiers")
    assert paraphrase(client) == Drop(DropReason.CONTRACT_ANCHORS, "the paraphrase lost 1 identifier(s)")


def test_a_wrong_key_is_rejected_at_once(chat):
    client, _ = client_for(chat, key="sk-wrong")
    assert paraphrase(client) == Drop(DropReason.PARAPHRASE_REJECTED, "HTTP 401")
    assert chat.count == 1


def test_an_endpoint_nobody_listens_on_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ChatClient(
        ChatConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_attempts=2), sleep=lambda s: None
    )
    assert paraphrase(client) == Drop(DropReason.PARAPHRASE_UNAVAILABLE, "ConnectError after 2 attempts")


def test_after_repeated_failures_the_rest_of_the_run_skips_the_endpoint(chat):
    client, _ = client_for(chat, timeout=0.2)
    transform = Paraphrase(client, max_failures=2)
    chat.faults.push("timeout", count=2, seconds=1)
    outcomes = [transform.apply(QA, derived_rng(i)) for i in range(4)]
    assert [o.reason for o in outcomes] == [  # type: ignore[union-attr]
        DropReason.PARAPHRASE_TIMEOUT,
        DropReason.PARAPHRASE_TIMEOUT,
        DropReason.PARAPHRASE_SKIPPED,
        DropReason.PARAPHRASE_SKIPPED,
    ]
    assert chat.count == 2


def test_a_success_resets_the_failure_count(chat):
    client, _ = client_for(chat, attempts=1)
    transform = Paraphrase(client, max_failures=2)
    chat.faults.push("server_error")
    assert isinstance(transform.apply(QA, derived_rng(0)), Drop)
    assert isinstance(transform.apply(QA, derived_rng(1)), Variant)
    chat.faults.push("server_error")
    assert isinstance(transform.apply(QA, derived_rng(2)), Drop)
    assert isinstance(transform.apply(QA, derived_rng(3)), Variant)


def test_without_a_configured_endpoint_every_paraphrase_is_skipped():
    assert paraphrase(None) == Drop(
        DropReason.PARAPHRASE_SKIPPED, "the endpoint is not configured or kept failing"
    )


def test_a_quoted_reply_is_unquoted(chat):
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, json={"choices": [{"message": {"content": '"Where is order A123456? Thanks."'}}]}
        )
    )
    client = ChatClient(ChatConfig(base_url="http://x/v1", model="m"), transport=transport)
    variant = paraphrase(client)
    assert isinstance(variant, Variant) and variant.prompt[-1]["content"] == "Where is order A123456? Thanks."


def test_the_standins_paraphrase_is_deterministic_and_keeps_identifiers():
    text = "Where is my order A123456 for <PERSON_1>? Please check."
    assert standin_paraphrase(text, seed=3) == standin_paraphrase(text, seed=3)
    assert "A123456" in standin_paraphrase(text, seed=3) and "<PERSON_1>" in standin_paraphrase(text, seed=3)
    assert standin_paraphrase("请问A1到了吗", seed=1) != "请问A1到了吗"
