"""Over-long samples: context trimmed from the left or the sample dropped; the answer is never cut."""

from __future__ import annotations

from pathlib import Path

from training.config import DataSettings
from training.data import fit_prompt, split_prepare, token_counter
from training.release import release_load


def words(messages: list[dict]) -> int:
    """A stand-in tokenizer: one token per word plus two per message for the role markers."""
    return sum(len(m["content"].split()) + 2 for m in messages)


def msg(role: str, text: str) -> dict:
    return {"role": role, "content": text}


SYSTEM = msg("system", "be brief")  # 4
HISTORY = [
    msg("user", "one two three"),  # 5
    msg("assistant", "four five six"),  # 5
    msg("user", "seven eight nine"),  # 5
    msg("assistant", "ten eleven twelve"),  # 5
    msg("user", "last question"),  # 4
]
ANSWER = [msg("assistant", '{"answer": "a b c"}')]  # 6


def settings(max_length: int, **kw: object) -> DataSettings:
    return DataSettings(max_length=max_length, **kw)  # type: ignore[arg-type]


def test_a_sample_that_fits_is_kept_whole() -> None:
    prompt, trimmed = fit_prompt([SYSTEM, *HISTORY], [ANSWER], count=words, settings=settings(40))
    assert prompt == [SYSTEM, *HISTORY] and not trimmed


def test_the_oldest_turn_goes_first_and_the_system_message_stays() -> None:
    prompt, trimmed = fit_prompt([SYSTEM, *HISTORY], [ANSWER], count=words, settings=settings(30))
    assert trimmed
    assert prompt == [SYSTEM, *HISTORY[2:]]  # a whole user+assistant turn dropped; starts at a user message
    assert words([*prompt, *ANSWER]) <= 30


def test_the_system_message_goes_only_when_the_last_question_alone_does_not_fit_beside_it() -> None:
    prompt, trimmed = fit_prompt([SYSTEM, *HISTORY], [ANSWER], count=words, settings=settings(11))
    assert trimmed and prompt == [HISTORY[-1]]


def test_without_keep_system_the_system_message_is_just_the_oldest_turn() -> None:
    prompt, _ = fit_prompt(
        [SYSTEM, *HISTORY], [ANSWER], count=words, settings=settings(32, keep_system=False)
    )
    assert prompt == HISTORY  # dropping the system message alone was enough
    prompt, _ = fit_prompt(
        [SYSTEM, *HISTORY], [ANSWER], count=words, settings=settings(29, keep_system=False)
    )
    assert prompt == HISTORY[2:]


def test_a_sample_whose_question_and_answer_alone_are_too_long_is_dropped() -> None:
    assert fit_prompt([SYSTEM, *HISTORY], [ANSWER], count=words, settings=settings(9)) == (None, False)


def test_too_long_drop_drops_instead_of_trimming() -> None:
    assert fit_prompt([SYSTEM, *HISTORY], [ANSWER], count=words, settings=settings(30, too_long="drop")) == (
        None,
        False,
    )


def test_a_dpo_prompt_is_trimmed_until_the_longer_answer_fits() -> None:
    long_rejected = [msg("assistant", "x " * 10)]  # 12
    prompt, trimmed = fit_prompt(
        [SYSTEM, *HISTORY], [ANSWER, long_rejected], count=words, settings=settings(25)
    )
    assert trimmed and prompt == [SYSTEM, HISTORY[-1]]


def test_split_counts_trimmed_and_dropped_rows_and_keeps_answers_whole() -> None:
    meta = {"id": 1}
    rows = [
        {"messages": [SYSTEM, *HISTORY, *ANSWER], "meta": meta},
        {"messages": [HISTORY[0], *ANSWER], "meta": meta},
        {"messages": [HISTORY[0], msg("assistant", "word " * 40)], "meta": {"id": "too-long"}},
    ]
    split = split_prepare(rows, method="sft", count=words, settings=settings(25))
    assert (split.rows_in, len(split.rows), split.trimmed_context, split.dropped_too_long) == (3, 2, 1, 1)
    assert split.dropped_ids == ["too-long"]
    assert all(row["completion"] == ANSWER for row in split.rows)
    assert split.rows[1] == {"prompt": [HISTORY[0]], "completion": ANSWER}


def test_with_the_real_tokenizer_every_factory_row_fits_and_the_long_ones_are_counted(
    tiny_model: Path, release_dir: Path
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    count = token_counter(tokenizer)
    release = release_load(release_dir, method="sft")
    split = split_prepare(release.rows["train"], method="sft", count=count, settings=settings(160))
    assert (split.trimmed_context, split.dropped_too_long) == (1, 1)
    assert all(count([*row["prompt"], *row["completion"]]) <= 160 for row in split.rows)
    trimmed = next(row for row in split.rows if len(row["prompt"]) > 3)
    assert trimmed["prompt"][0]["role"] == "system" and trimmed["prompt"][1]["role"] == "user"
    assert trimmed["completion"][0]["content"] == "It is at the depot."
