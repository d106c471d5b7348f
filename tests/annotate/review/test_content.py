"""What a final label becomes in the reviewed set: prompt, golden answer, rejected answer."""

from __future__ import annotations

from annotate.labeling import parse_schema
from annotate.review import answer_field, sample_content
from annotate.review.content import content_hash
from tests.annotate.review.conftest import label

CONVERSATION = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "Where is order 7?"},
    {"role": "assistant", "content": "", "tool_calls": [{"name": "track", "arguments": '{"id": 7}'}]},
    {"role": "tool", "content": "in transit", "tool_call_id": "c1", "name": "track"},
    {"role": "assistant", "content": "It was delivered."},
]
MODEL = "It was delivered."


def test_the_prompt_is_the_conversation_without_its_final_assistant_turn(schema):
    content = sample_content(schema=schema, values=label(), conversation=CONVERSATION, model_answer=MODEL)
    assert [m["role"] for m in content.prompt] == ["system", "user", "assistant", "tool"]
    assert content.prompt[2]["tool_calls"] == [{"name": "track", "arguments": '{"id": 7}'}]
    assert content.prompt[3] == {
        "role": "tool",
        "content": "in transit",
        "tool_call_id": "c1",
        "name": "track",
    }


def test_the_answer_is_the_corrected_one_and_the_models_answer_is_the_rejected_one(schema):
    content = sample_content(schema=schema, values=label(), conversation=CONVERSATION, model_answer=MODEL)
    assert content.answer == "It ships tomorrow."
    assert content.rejected_answer == MODEL
    assert content.content_hash == content_hash(content.prompt, "It ships tomorrow.")


def test_an_answer_left_as_the_model_gave_it_has_no_rejected_answer(schema):
    values = label(verdict="good", corrected_output="It  was\ndelivered.")  # spacing only
    content = sample_content(schema=schema, values=values, conversation=CONVERSATION, model_answer=MODEL)
    assert content.rejected_answer == ""


def test_an_empty_corrected_answer_keeps_the_models_answer(schema):
    values = label(verdict="good", corrected_output="  ")
    content = sample_content(schema=schema, values=values, conversation=CONVERSATION, model_answer=MODEL)
    assert (content.answer, content.rejected_answer) == (MODEL, "")


def test_a_schema_without_an_answer_field_keeps_the_models_answer():
    schema = parse_schema({"fields": [{"name": "verdict", "type": "choice", "choices": ["good", "bad"]}]})
    assert answer_field(schema) is None
    content = sample_content(
        schema=schema, values={"verdict": "good"}, conversation=CONVERSATION, model_answer=MODEL
    )
    assert content.answer == MODEL and content.rejected_answer == ""


def test_a_conversation_that_does_not_end_with_the_assistant_is_the_whole_prompt(schema):
    turns = CONVERSATION[:2]
    content = sample_content(schema=schema, values=label(), conversation=turns, model_answer="")
    assert content.prompt == [{"role": m["role"], "content": m["content"]} for m in turns]
    assert content.rejected_answer == ""  # nothing to reject


def test_the_same_prompt_and_answer_hash_the_same_and_another_answer_does_not(schema):
    a = sample_content(schema=schema, values=label(), conversation=CONVERSATION, model_answer=MODEL)
    b = sample_content(schema=schema, values=label(notes="x"), conversation=CONVERSATION, model_answer=MODEL)
    c = sample_content(
        schema=schema, values=label(corrected_output="No."), conversation=CONVERSATION, model_answer=MODEL
    )
    assert a.content_hash == b.content_hash != c.content_hash
