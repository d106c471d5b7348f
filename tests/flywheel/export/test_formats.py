"""Row formats: TRL SFT and DPO, Alpaca for LLaMA-Factory, its dataset_info.json, text normalisation."""

from __future__ import annotations

import json
from dataclasses import replace

from flywheel.export import formats
from tests.flywheel.export.items import make_item
from training.release import META_TYPES

QA, JSON_TASK, REFUSAL, GENERIC, MULTI, TOOL = (make_item(i)[0] for i in range(6))


def test_an_sft_row_is_the_prompt_then_the_golden_answer_with_the_lineage_under_meta():
    meta = formats.meta(MULTI, "acme-v3")
    row = formats.sft_row(MULTI, meta)
    assert list(row) == ["messages", "meta"]
    assert row["messages"][:-1] == list(MULTI.prompt)
    assert row["messages"][-1] == {"role": "assistant", "content": MULTI.answer}
    for key, types in META_TYPES.items():
        assert isinstance(meta[key], types), key
    assert meta["id"] == MULTI.item_key and meta["version"] == "acme-v3"


def test_a_dpo_pair_is_the_corrected_answer_chosen_over_the_models_original():
    row = formats.dpo_row(QA, formats.meta(QA, "acme-v1"))
    assert row is not None
    assert row["prompt"] == list(QA.prompt)
    assert row["chosen"] == [{"role": "assistant", "content": QA.answer}]
    assert row["rejected"] == [{"role": "assistant", "content": QA.rejected_answer}]


def test_no_pair_without_a_rejected_answer_or_when_both_sides_are_equal_after_normalisation():
    assert formats.dpo_row(GENERIC, {}) is None
    same_words = replace(QA, rejected_answer="  " + QA.answer.upper().rstrip(".") + "\n")
    assert formats.dpo_row(same_words, {}) is None
    reordered = replace(
        JSON_TASK,
        answer='{"order_id": "A-1", "status": "x"}',
        rejected_answer='{"status":"x","order_id":"A-1"}',
    )
    assert formats.dpo_row(reordered, {}) is None
    different = replace(JSON_TASK, answer='{"order_id": "A-1"}', rejected_answer='{"order_id": "A-2"}')
    assert formats.dpo_row(different, {}) is not None


def test_texts_get_unix_line_endings_and_lone_surrogates_become_replacement_characters():
    item = replace(QA, prompt=({"role": "user", "content": "a\r\nb\rc"},), answer="ok \ud800 done")
    clean = formats.clean_item(item)
    assert clean.prompt[0]["content"] == "a\nb\nc"
    assert clean.answer == "ok \ufffd done"
    assert formats.dumps_line(formats.sft_row(clean, {})).decode("utf-8")


def test_unicode_line_separators_are_escaped_so_that_a_row_is_always_one_line():
    item = replace(QA, answer="one\u2028two\u2029three\x85four")
    line = formats.dumps_line(formats.sft_row(item, {}))
    assert line.count(b"\n") == 1 and len(line.decode().splitlines()) == 1
    assert json.loads(line)["messages"][-1]["content"] == item.answer


def test_alpaca_rows_take_the_system_prompt_and_the_earlier_turns_as_history():
    base, skipped = formats.alpaca_base(MULTI)
    assert skipped is None and base is not None
    row = formats.alpaca_sft(base, MULTI)
    assert list(row) == ["instruction", "input", "output", "system", "history"]
    assert row["system"] == MULTI.prompt[0]["content"]
    assert row["history"] == [[MULTI.prompt[1]["content"], MULTI.prompt[2]["content"]]]
    assert row["instruction"] == MULTI.prompt[3]["content"] and row["output"] == MULTI.answer
    pair = formats.alpaca_dpo(base, replace(MULTI, rejected_answer="no"))
    assert (pair["chosen"], pair["rejected"]) == (MULTI.answer, "no")
    single, _ = formats.alpaca_base(QA)
    assert single is not None and (single["system"], single["history"]) == ("", [])


def test_conversations_alpaca_cannot_hold_are_left_out_with_the_reason():
    assert formats.alpaca_base(TOOL) == (None, formats.SKIP_TOOLS)
    starts_with_answer = replace(QA, prompt=({"role": "assistant", "content": "Hi!"}, *QA.prompt))
    assert formats.alpaca_base(starts_with_answer) == (None, formats.SKIP_SHAPE)
    late_system = replace(QA, prompt=(*QA.prompt, {"role": "system", "content": "x"}, *QA.prompt))
    assert formats.alpaca_base(late_system) == (None, formats.SKIP_SYSTEM_LATE)
    two_questions = replace(QA, prompt=(*QA.prompt, {"role": "user", "content": "and?"}))
    base, _ = formats.alpaca_base(two_questions)
    assert base is not None and base["instruction"] == QA.prompt[0]["content"] + "\n\nand?"


def test_dataset_info_registers_each_file_in_the_shape_llamafactory_documents():
    sha1 = {name: f"{i:040x}" for i, (name, _) in enumerate(formats.LLAMAFACTORY_FILES.values())}
    info = formats.dataset_info("acme-v2", sha1)
    assert set(info) == {"acme-v2-sft", "acme-v2-sft-val", "acme-v2-dpo", "acme-v2-dpo-val"}
    sft, dpo = info["acme-v2-sft"], info["acme-v2-dpo"]
    assert sft == {
        "file_name": "sft.json",
        "file_sha1": sha1["sft.json"],
        "formatting": "alpaca",
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "system": "system",
            "history": "history",
            "response": "output",
        },
    }
    assert dpo["ranking"] is True and dpo["formatting"] == "alpaca"
    assert dpo["columns"] == {
        "prompt": "instruction",
        "query": "input",
        "system": "system",
        "history": "history",
        "chosen": "chosen",
        "rejected": "rejected",
    }


def test_item_problems_name_what_is_wrong_without_quoting_content():
    assert formats.item_problems(QA) == []
    empty = replace(QA, prompt=(), answer="  ")
    assert formats.item_problems(empty) == ["has no prompt messages", "has an empty golden answer"]
    no_user = replace(QA, prompt=({"role": "system", "content": "secret"},))
    assert formats.item_problems(no_user) == ["has no user message"]
    bad_role = replace(QA, prompt=({"role": "human", "content": "x"},))
    assert "prompt message 0 needs a role" in formats.item_problems(bad_role)[0]


def test_the_pii_gate_sees_every_text_that_lands_in_a_file_including_tool_calls():
    texts = formats.item_texts(TOOL)
    assert TOOL.answer in texts and TOOL.rejected_answer in texts and TOOL.domain in texts
    assert any('"id"' in t for t in texts)  # the tool call's arguments
    assert "assistant" not in texts  # roles are not free text


def test_the_fast_row_lines_are_byte_for_byte_the_documented_rows():
    for item in [QA, JSON_TASK, REFUSAL, GENERIC, MULTI, TOOL, replace(QA, answer="a\u2028b")]:
        meta = formats.meta(item, "acme-v1")
        lines = formats.row_lines(item, meta)
        assert lines.sft == formats.dumps_line(formats.sft_row(item, meta))
        dpo = formats.dpo_row(item, meta)
        assert lines.dpo == (formats.dumps_line(dpo) if dpo is not None else None)
        assert lines.content == formats.content_digest(item)
