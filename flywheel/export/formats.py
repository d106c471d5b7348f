"""Release rows: TRL conversational SFT and DPO, Alpaca for LLaMA-Factory, and its dataset_info.json.

Row layouts are documented in docs/release-format.md; ``training/release.py`` reads them back.
Texts are normalised once (``clean_item``): line endings become ``\\n`` and lone surrogates,
which UTF-8 cannot encode, become U+FFFD.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flywheel.cluster.dedup import normalise
from flywheel.export.records import ExportItem, Message

ROLES = ("system", "user", "assistant", "tool")
# Python's str.splitlines() (and some JSONL readers) split on these; json.dumps leaves them raw.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}

SKIP_TOOLS = "tool calls or tool results (Alpaca has no place for them)"
SKIP_SYSTEM_LATE = "a system message after the conversation started"
SKIP_SHAPE = "the conversation does not start with a user turn and end with one"

# LLaMA-Factory registrations: dataset name suffix -> (file name, preference data?).
LLAMAFACTORY_FILES = {
    "sft": ("sft.json", False),
    "sft-val": ("sft_val.json", False),
    "dpo": ("dpo.json", True),
    "dpo-val": ("dpo_val.json", True),
}
_ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "system": "system", "history": "history"}


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {str(key): _clean_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_value(item) for item in value]
    return value


def _is_clean(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return ("\r" not in value and value.isascii()) or _encodes(value)
    # Exact types first: isinstance against the ABCs costs more than the check itself.
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        return all(_is_clean(item) for item in value.values())
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return all(_is_clean(item) for item in value)
    return True


def _encodes(text: str) -> bool:
    if "\r" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _message_is_clean(message: Any) -> bool:
    if type(message) is not dict:
        return _is_clean(message)
    for value in message.values():  # mostly strings (role, content): no recursion for them
        if type(value) is str:
            if ("\r" in value or not value.isascii()) and not _encodes(value):
                return False
        elif not _is_clean(value):
            return False
    return True


def clean_item(item: ExportItem) -> ExportItem:
    """The item with normalised texts (the same object when nothing needs it: the common case)."""
    answers_clean = _is_clean(item.answer) and _is_clean(item.rejected_answer)
    if answers_clean and all(map(_message_is_clean, item.prompt)):
        return item
    prompt = tuple(_clean_value(dict(message)) for message in item.prompt)
    return dataclasses.replace(
        item,
        prompt=prompt,
        answer=clean_text(item.answer),
        rejected_answer=clean_text(item.rejected_answer),
    )


def item_problems(item: ExportItem) -> list[str]:
    """Shape problems that make an item unusable for training (never quoting its content)."""
    problems = []
    if not item.prompt:
        problems.append("has no prompt messages")
    for i, message in enumerate(item.prompt):
        if message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            problems.append(f"prompt message {i} needs a role in {list(ROLES)} and string content")
            break
    if item.prompt and not any(m.get("role") == "user" for m in item.prompt):
        problems.append("has no user message")
    if not item.answer.strip():
        problems.append("has an empty golden answer")
    return problems


def last_user(prompt: tuple[Message, ...]) -> str:
    return next((str(m.get("content") or "") for m in reversed(prompt) if m.get("role") == "user"), "")


def dedup_text(item: ExportItem) -> str:
    """What duplicates are judged on: the question and the golden answer (the failures' embed text)."""
    return f"{last_user(item.prompt)}\n{item.answer}".strip()


def answer_key(text: str, output_format: str) -> str:
    """Two answers with the same key are the same answer: JSON by value, text by normalised words."""
    if output_format == "json":
        try:
            return "json:" + json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
        except ValueError:
            pass
    return "text:" + normalise(text)


def has_pair(item: ExportItem) -> bool:
    """A DPO pair needs a rejected answer that differs from the golden one after normalisation."""
    if not item.rejected_answer.strip():
        return False
    return answer_key(item.answer, item.output_format) != answer_key(item.rejected_answer, item.output_format)


def content_digest(item: ExportItem) -> bytes:
    """Identity of the content (prompt + answer), for the leak check across splits."""
    return _content(json.dumps(list(item.prompt), ensure_ascii=False), item.answer)


def _content(prompt_json: str, answer: str) -> bytes:
    return hashlib.blake2b(f"{prompt_json}\0{answer}".encode(), digest_size=16).digest()


def item_texts(item: ExportItem) -> list[str]:
    """Every free text of the item that ends up in a release file (the PII gate scans these)."""
    texts: list[str] = []
    for message in item.prompt:
        _strings(message, texts)
    texts += [item.answer, item.rejected_answer]
    if item.domain:
        texts.append(item.domain)
    return [t for t in texts if t.strip()]


def _strings(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(value)
    elif kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        for key, item in value.items():
            if key != "role":
                _strings(item, out)
    elif kind is list or kind is tuple or isinstance(value, list | tuple):
        for item in value:
            _strings(item, out)
    elif isinstance(value, str):
        out.append(value)


def meta(item: ExportItem, release_id: str) -> dict[str, Any]:
    """The lineage every row carries under "meta" (the keys of training.release.META_TYPES first)."""
    return {
        "id": item.item_key,
        "task_type": item.task_type,
        "difficulty": item.difficulty,
        "domain": item.domain,
        "source": item.source,
        "source_id": item.source_id,
        "observation_id": item.observation_id,
        "cluster": item.cluster,
        "sample_type": item.sample_type,
        "must_refuse": item.must_refuse,
        "output_format": item.output_format,
        "json_schema": dict(item.json_schema) if item.json_schema is not None else None,
        "reference_exact": item.reference_exact,
        "annotator": item.annotator,
        "reviewer": item.reviewer,
        "sop_version": item.sop_version,
        "version": release_id,
        "augment_type": item.augment_type,
        "augment_round": item.augment_round,
        "origin": item.origin,
        "decision": item.decision,
    }


def _answer(text: str) -> list[Message]:
    return [{"role": "assistant", "content": text}]


def sft_row(item: ExportItem, row_meta: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [*item.prompt, *_answer(item.answer)], "meta": row_meta}


def dpo_row(item: ExportItem, row_meta: dict[str, Any]) -> dict[str, Any] | None:
    """chosen = the golden (corrected) answer, rejected = the model's original one; None without a pair."""
    if not has_pair(item):
        return None
    return {
        "prompt": list(item.prompt),
        "chosen": _answer(item.answer),
        "rejected": _answer(item.rejected_answer),
        "meta": row_meta,
    }


def alpaca_base(item: ExportItem) -> tuple[dict[str, Any] | None, str | None]:
    """(instruction, input, system, history) of the prompt, or (None, why it cannot be Alpaca).

    Consecutive messages of one role are joined with a blank line; the last user turn is the
    instruction, earlier user/assistant pairs the history, system messages the system prompt.
    """
    system: list[str] = []
    turns: list[list[str]] = []
    for message in item.prompt:
        role, content = message["role"], message["content"]
        if role == "tool" or message.get("tool_calls"):
            return None, SKIP_TOOLS
        if role == "system":
            if turns:
                return None, SKIP_SYSTEM_LATE
            system.append(content)
        elif turns and turns[-1][0] == role:
            turns[-1][1] += "\n\n" + content
        else:
            turns.append([role, content])
    if not turns or turns[0][0] != "user" or turns[-1][0] != "user":
        return None, SKIP_SHAPE
    history = [[turns[i][1], turns[i + 1][1]] for i in range(0, len(turns) - 1, 2)]
    return {"instruction": turns[-1][1], "input": "", "system": "\n\n".join(system), "history": history}, None


def alpaca_sft(base: dict[str, Any], item: ExportItem) -> dict[str, Any]:
    return {
        "instruction": base["instruction"],
        "input": base["input"],
        "output": item.answer,
        "system": base["system"],
        "history": base["history"],
    }


def alpaca_dpo(base: dict[str, Any], item: ExportItem) -> dict[str, Any]:
    return {
        "instruction": base["instruction"],
        "input": base["input"],
        "chosen": item.answer,
        "rejected": item.rejected_answer,
        "system": base["system"],
        "history": base["history"],
    }


def dataset_info(release_id: str, sha1: Mapping[str, str]) -> dict[str, Any]:
    """LLaMA-Factory's registry of the Alpaca files (``sha1`` maps file name -> SHA-1)."""
    info: dict[str, Any] = {}
    for suffix, (file_name, ranking) in LLAMAFACTORY_FILES.items():
        answer = {"chosen": "chosen", "rejected": "rejected"} if ranking else {"response": "output"}
        entry: dict[str, Any] = {"file_name": file_name, "file_sha1": sha1[file_name], "formatting": "alpaca"}
        if ranking:
            entry["ranking"] = True
        entry["columns"] = {**_ALPACA_COLUMNS, **answer}
        info[f"{release_id}-{suffix}"] = entry
    return info


def dumps_line(row: Any) -> bytes:
    """One JSONL line, UTF-8, key order as built (deterministic), with Unicode line breaks escaped."""
    return _line(json.dumps(row, ensure_ascii=False))


def _line(text: str) -> bytes:
    if not text.isascii() and ("\u2028" in text or "\u2029" in text or "\x85" in text):
        for raw, escaped in _LINE_BREAKS.items():
            text = text.replace(raw, escaped)
    return (text + "\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class RowLines:
    sft: bytes
    dpo: bytes | None
    content: bytes  # content_digest(item)


def row_lines(item: ExportItem, row_meta: dict[str, Any]) -> RowLines:
    """``dumps_line(sft_row(...))`` and ``dumps_line(dpo_row(...))``, byte for byte, encoding the
    prompt and the meta once for both (the write pass's hot loop)."""
    dumps = json.dumps
    prompt = dumps(list(item.prompt), ensure_ascii=False)
    meta_json = dumps(row_meta, ensure_ascii=False)
    answer = dumps(_answer(item.answer), ensure_ascii=False)
    messages = f"{prompt[:-1]}, {answer[1:]}" if item.prompt else answer
    sft = _line(f'{{"messages": {messages}, "meta": {meta_json}}}')
    dpo = None
    if has_pair(item):
        rejected = dumps(_answer(item.rejected_answer), ensure_ascii=False)
        dpo = _line(
            f'{{"prompt": {prompt}, "chosen": {answer}, "rejected": {rejected}, "meta": {meta_json}}}'
        )
    return RowLines(sft, dpo, _content(prompt, item.answer))
