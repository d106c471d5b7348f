"""A trace -> the normalised conversation an annotator reads and corrects."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flywheel.ingest.conversation import Message, extract_conversation, final_answer, last_user_message
from flywheel.ingest.files import iter_file
from flywheel.ingest.records import ObservationRecord, TraceRecord

REPO = Path(__file__).resolve().parents[3]
SAMPLES = Path(os.environ.get("FLYWHEEL_SHARED", REPO.parent / "shared")) / "langfuse" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/langfuse/samples not found")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Obs:
    """Not an ObservationRecord: anything with these attributes will do."""

    input: Any = None
    output: Any = None
    type: str = "GENERATION"
    start_time: datetime | None = T0
    name: str | None = "llm"


def sample_conversation(name: str) -> list[Message]:
    items = list(iter_file(SAMPLES / name))
    trace = next(i for i in items if isinstance(i, TraceRecord))
    observations = [i for i in items if isinstance(i, ObservationRecord)]
    return extract_conversation(trace.input, trace.output, observations)


def roles(conversation: list[Message]) -> list[str]:
    return [message["role"] for message in conversation]


# --- the real samples -----------------------------------------------------------------------


@needs_samples
def test_autogen_role_prefixed_prompt_becomes_system_user_and_the_answer():
    conversation = sample_conversation("autogen-2025-06-06.trace.json")
    assert conversation == [
        {
            "role": "system",
            "content": "You are a helpful AI assistant. Solve tasks using your tools. "
            "Reply with TERMINATE when the task has been completed.",
        },
        {"role": "user", "content": "Say 'Hello World!'"},
        {"role": "assistant", "content": "Hello World!"},
    ]


@needs_samples
def test_langgraph_keeps_the_tool_call_and_its_result_and_drops_tool_schemas():
    conversation = sample_conversation("langgraph-python-2025-08-22.trace.json")
    assert roles(conversation) == ["user", "user", "assistant", "tool", "assistant"]
    call = conversation[2]
    assert call["content"] == ""
    assert call["tool_calls"] == [
        {"id": "call_1oGK863sxQHlPreFhDdEs3yl", "name": "Web-Search", "arguments": '{"query":"example"}'}
    ]
    result = conversation[3]
    assert result["tool_call_id"] == "call_1oGK863sxQHlPreFhDdEs3yl"
    assert json.loads(result["content"])[0]["url"] == "https://example.com"
    assert not any("Dummy web search tool" in m["content"] for m in conversation)
    assert last_user_message(conversation) == "Search the web for 'example' and summarize."
    assert (final_answer(conversation) or "").startswith('The search for "example" primarily leads to')


@needs_samples
def test_langgraph_trace_io_alone_gives_the_same_turns_without_repeating_the_question():
    items = iter_file(SAMPLES / "langgraph-python-2025-08-22.trace.json")
    trace = next(i for i in items if isinstance(i, TraceRecord))
    conversation = extract_conversation(trace.input, trace.output, [])
    assert roles(conversation) == ["user", "assistant", "tool", "assistant"]
    assert json.loads(conversation[1]["tool_calls"][0]["arguments"]) == {"query": "example"}


@needs_samples
def test_llamaindex_completion_input_falls_back_to_the_trace_question_and_answer():
    conversation = sample_conversation("llamaindex-2025-06-05.trace.json")
    assert roles(conversation) == ["user", "assistant"]
    assert conversation[0]["content"] == "What is Langfuse?"
    assert (final_answer(conversation) or "").startswith("Langfuse is a tool designed to help developers")


@needs_samples
def test_openai_assistants_math_question_and_answer():
    conversation = sample_conversation("openai-assistants-2024-05-29.json")
    assert roles(conversation) == ["assistant", "user", "assistant"]
    assert conversation[0]["content"].startswith("I am a math tutor")
    assert last_user_message(conversation) == "I need to solve the equation `3x + 11 = 14`. Can you help me?"
    assert (final_answer(conversation) or "").endswith("The solution is `x = 1`.")


# --- message shapes -------------------------------------------------------------------------


def test_openai_multi_part_content_is_joined_as_text():
    generation = Obs(
        input=[
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
        ],
        output={"choices": [{"message": {"role": "assistant", "content": "A cat."}}]},
    )
    assert extract_conversation(None, None, [generation]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is in this picture?\n[image]"},
        {"role": "assistant", "content": "A cat."},
    ]


def test_a_messages_wrapper_and_an_output_as_json_text_are_understood():
    generation = Obs(
        input=json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
        output=json.dumps({"role": "assistant", "content": "hello"}),
    )
    assert extract_conversation(None, None, [generation]) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


def test_openai_tool_calls_and_tool_results_are_kept():
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
    }
    generation = Obs(
        input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "-3C"},
        ],
        output="It is -3C in Oslo.",
    )
    conversation = extract_conversation(None, None, [generation])
    assert conversation[1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "get_weather", "arguments": '{"city":"Oslo"}'}],
    }
    assert conversation[2] == {"role": "tool", "content": "-3C", "tool_call_id": "c1"}
    assert final_answer(conversation) == "It is -3C in Oslo."


def test_langchain_message_types_map_to_roles():
    generation = Obs(
        input=[
            {"type": "system", "content": "You help."},
            {"type": "human", "content": "Add 2 and 3."},
            {
                "type": "ai",
                "content": "",
                "tool_calls": [{"name": "add", "args": {"a": 2, "b": 3}, "id": "t1"}],
            },
            {"type": "tool", "content": "5", "tool_call_id": "t1", "name": "add"},
            {
                "lc": 1,
                "type": "constructor",
                "id": ["langchain", "schema", "messages", "HumanMessage"],
                "kwargs": {"content": "And times 2?"},
            },
        ],
        output={"type": "ai", "content": "10"},
    )
    conversation = extract_conversation(None, None, [generation])
    assert roles(conversation) == ["system", "user", "assistant", "tool", "user", "assistant"]
    assert conversation[2]["tool_calls"] == [{"id": "t1", "name": "add", "arguments": '{"a": 2, "b": 3}'}]
    assert conversation[4]["content"] == "And times 2?"
    assert final_answer(conversation) == "10"


def test_anthropic_content_blocks_become_tool_calls_and_tool_results():
    generation = Obs(
        input={
            "system": "Use tools.",
            "messages": [
                {"role": "user", "content": "Find Bob's order."},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Looking it up."},
                        {"type": "tool_use", "id": "tu1", "name": "lookup", "input": {"who": "Bob"}},
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "#42"}],
                },
            ],
        },
        output={"role": "assistant", "content": [{"type": "text", "text": "Order #42."}]},
    )
    conversation = extract_conversation(None, None, [generation])
    assert roles(conversation) == ["system", "user", "assistant", "tool", "assistant"]
    assert conversation[2]["tool_calls"] == [{"id": "tu1", "name": "lookup", "arguments": '{"who": "Bob"}'}]
    assert conversation[3] == {"role": "tool", "content": "#42", "tool_call_id": "tu1"}
    assert final_answer(conversation) == "Order #42."


def test_the_last_generation_in_time_gives_the_history_not_the_last_in_the_list():
    later = Obs(
        input=[{"role": "user", "content": "second"}], output="B", start_time=T0 + timedelta(seconds=5)
    )
    earlier = Obs(input=[{"role": "user", "content": "first"}], output="A", start_time=T0)
    span = Obs(type="SPAN", input=[{"role": "user", "content": "span"}], start_time=T0 + timedelta(seconds=9))
    conversation = extract_conversation("q", "a", [later, earlier, span])
    assert conversation == [{"role": "user", "content": "second"}, {"role": "assistant", "content": "B"}]


def test_a_text_that_merely_mentions_a_role_is_not_split_into_turns():
    generation = Obs(input="Summarise this. user: said hello", output="ok")
    assert extract_conversation("Summarise", "ok", [generation]) == [
        {"role": "user", "content": "Summarise"},
        {"role": "assistant", "content": "ok"},
    ]


# --- fallback and empty ---------------------------------------------------------------------


def test_without_a_chat_the_trace_io_is_one_user_and_one_assistant_turn():
    conversation = extract_conversation({"query": "café", "k": 3}, ["r1", "r2"], [Obs(type="SPAN")])
    assert conversation == [
        {"role": "user", "content": '{"query": "café", "k": 3}'},
        {"role": "assistant", "content": "r1\nr2"},
    ]


def test_a_trace_with_no_io_falls_back_to_its_last_generation_as_text():
    generation = Obs(input="Translate: Hallo", output="Hello")
    assert extract_conversation(None, None, [generation]) == [
        {"role": "user", "content": "Translate: Hallo"},
        {"role": "assistant", "content": "Hello"},
    ]


def test_nothing_anywhere_gives_an_empty_conversation():
    assert extract_conversation(None, None, []) == []
    assert extract_conversation("", None, [Obs(input=None, output=None)]) == []


def test_helpers_say_none_when_there_is_no_such_turn():
    assert last_user_message([]) is None
    assert final_answer([]) is None
    assert final_answer([{"role": "user", "content": "hello?"}]) is None
    assert last_user_message([{"role": "assistant", "content": "hi"}]) is None
