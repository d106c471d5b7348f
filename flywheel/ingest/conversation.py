"""A trace -> the conversation an annotator reads and corrects.

Frameworks log chats in many shapes: OpenAI messages (content as a string or a list of
parts), ``{"messages": [...]}`` wrappers, LangChain/LangGraph message dicts, Anthropic
content blocks, role-prefixed transcripts, plain strings. This module turns them into one
shape::

    {"role": "system" | "user" | "assistant" | "tool", "content": str,
     "tool_calls": [{"id", "name", "arguments"}],   # assistant turns that call tools
     "tool_call_id": str}                            # tool results

Where the chat comes from: the *last* GENERATION by start time, whose input holds the
whole history the model saw, followed by its output as the final assistant turn — the
answer an annotator fixes. If that input is not a chat, the trace's own I/O is used
(chat-shaped or as plain text). No Django import: observations are anything with the
attributes of :class:`ObservationLike`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NotRequired, Protocol, TypedDict


class ObservationLike(Protocol):
    """What the extractor reads from an observation (an ObservationRecord or a model)."""

    @property
    def type(self) -> str: ...
    @property
    def start_time(self) -> datetime | None: ...
    @property
    def input(self) -> Any: ...
    @property
    def output(self) -> Any: ...
    @property
    def name(self) -> str | None: ...


class ToolCall(TypedDict):
    id: str | None
    name: str
    arguments: str  # JSON text, as OpenAI sends it


class Message(TypedDict):
    role: str
    content: str
    tool_calls: NotRequired[list[ToolCall]]
    tool_call_id: NotRequired[str]


_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",  # Gemini
    "tool": "tool",
    "function": "tool",
}
_LANGCHAIN_CLASSES = {"HumanMessage": "human", "AIMessage": "ai", "SystemMessage": "system"}
_LANGCHAIN_CLASSES |= {"ToolMessage": "tool", "FunctionMessage": "function", "AIMessageChunk": "ai"}
_TEXT_PARTS = ("text", "input_text", "output_text")
_IMAGE_PARTS = ("image_url", "image", "input_image")
_HIDDEN_PARTS = ("thinking", "redacted_thinking", "reasoning")
# "system: ...\nuser: ..." is how autogen's OpenTelemetry spans flatten a prompt.
_TRANSCRIPT_TURN = re.compile(r"^(system|user|assistant|tool)[ \t]*:[ \t]?", re.IGNORECASE | re.MULTILINE)
_MAX_JSON_NESTING = 3


def extract_conversation(
    trace_input: Any, trace_output: Any, observations: Sequence[ObservationLike]
) -> list[Message]:
    """The normalised conversation of one trace; [] when there is nothing to show."""
    generations = sorted(
        (o for o in observations if (o.type or "").upper() == "GENERATION"),
        key=lambda o: o.start_time.timestamp() if o.start_time else float("-inf"),
    )
    last = generations[-1] if generations else None
    if last is not None and (history := _messages(last.input)):
        return _join(history, _answer(last.output))
    if history := _messages(trace_input):
        return _join(history, _answer(trace_output))
    if (conversation := _as_text_turns(trace_input, trace_output)) or last is None:
        return conversation
    # A trace with no I/O of its own: the last generation, as text, beats nothing.
    return _as_text_turns(last.input, last.output)


def last_user_message(conversation: Sequence[Message]) -> str | None:
    return next((m["content"] for m in reversed(conversation) if m["role"] == "user"), None)


def final_answer(conversation: Sequence[Message]) -> str | None:
    """The assistant turn that ends the conversation; None if it does not end with one."""
    if conversation and conversation[-1]["role"] == "assistant":
        return conversation[-1]["content"]
    return None


def _join(history: list[Message], answer: list[Message]) -> list[Message]:
    # LangGraph outputs its whole state: the answer then repeats the history first.
    shared = 0
    for before, after in zip(history, answer, strict=False):
        if (before["role"], before["content"]) != (after["role"], after["content"]):
            break
        shared += 1
    return history + answer[shared:] if shared == len(history) else history + answer


def _as_text_turns(user: Any, assistant: Any) -> list[Message]:
    question = _render(user)
    turns: list[Message] = [_message("user", question)] if question else []
    return turns + _answer(assistant)


def _messages(value: Any) -> list[Message]:
    """Chat messages if ``value`` is chat-shaped, else []."""
    value = _decode(value)
    if isinstance(value, str):
        return _transcript(value)
    if isinstance(value, dict):
        wrapped = value.get("messages")
        if isinstance(wrapped, list):
            system = value.get("system")  # Anthropic keeps the system prompt beside them
            messages = _messages(wrapped)
            return [_message("system", _text(system)[0]), *messages] if system and messages else messages
        return _from_dict(value, default_role=None)
    if isinstance(value, list):
        if len(value) == 1 and isinstance(value[0], list):  # LangChain batches: [[...]]
            value = value[0]
        if not value or not all(isinstance(item, dict) for item in value):
            return []
        return [message for item in value for message in _from_dict(item, default_role=None)]
    return []


def _answer(output: Any) -> list[Message]:
    """The model's output as assistant turn(s), whatever shape it was logged in."""
    value = _decode(output)
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            value = choices[0].get("message") or choices[0].get("text") or choices[0]
        elif isinstance(value.get("message"), dict):
            value = value["message"]
    if isinstance(value, str):
        return [_message("assistant", value)]
    if isinstance(value, dict) and (found := _messages(value)):
        return found
    if isinstance(value, dict) and value.keys() & {"content", "parts", "tool_calls"}:
        return _from_dict(value, default_role="assistant")
    if isinstance(value, list):
        if found := _messages(value):
            return found
        if all(isinstance(item, str) for item in value):
            return [_message("assistant", "\n".join(value))]
    return [_message("assistant", _render(value) or "")]


def _from_dict(item: dict[str, Any], default_role: str | None) -> list[Message]:
    """One logged message -> messages (Anthropic tool results become their own)."""
    if isinstance(item.get("kwargs"), dict) and isinstance(item.get("id"), list):
        # A serialised LangChain object: {"lc": 1, "id": [..., "HumanMessage"], "kwargs": {...}}
        item = {**item["kwargs"], "type": _LANGCHAIN_CLASSES.get(str(item["id"][-1]), "")}
    if item.get("type") == "function" and isinstance(item.get("function"), dict):
        return []  # a tool's schema, not a turn
    if item.get("type") == "function_call":  # OpenAI Responses API items
        return [_message("assistant", "", [call] if (call := _tool_call(item)) else [])]
    if item.get("type") == "function_call_output":
        return [_message("tool", _text(item.get("output"))[0], tool_call_id=str(item.get("call_id")))]
    role = _ROLES.get(str(item.get("role") or item.get("type") or "").lower(), default_role)
    if role is None:
        return []
    content = item.get("content") if "content" in item else item.get("parts")  # Gemini: parts
    text, calls, results = _text(content)
    extra = _as_dict(item.get("additional_kwargs"))
    raw_calls = item.get("tool_calls") or extra.get("tool_calls") or []
    legacy = item.get("function_call") or extra.get("function_call")
    for raw in [*(raw_calls if isinstance(raw_calls, list) else []), legacy]:
        if (call := _tool_call(raw)) is not None:
            calls.append(call)
    if role == "tool":
        call_id = item.get("tool_call_id")
        if call_id is None and _is_tool_definition(content):
            return []  # Langfuse's LangChain handler logs the tool schemas as "tool" turns
        return [_message("tool", text, tool_call_id=None if call_id is None else str(call_id))]
    if not text and not calls and role != "assistant":
        return results
    return [*results, _message(role, text, calls)]


def _text(content: Any) -> tuple[str, list[ToolCall], list[Message]]:
    """Content -> (text, tool calls in it, tool results in it)."""
    if content is None:
        return "", [], []
    if isinstance(content, str):
        return content, [], []
    if not isinstance(content, list):
        if isinstance(content, dict) and isinstance(content.get("text"), str):
            return content["text"], [], []
        return _render(content) or "", [], []
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[Message] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if isinstance(part, str):
            texts.append(part)
        elif not isinstance(part, dict) or kind in _HIDDEN_PARTS:
            continue
        elif kind in _TEXT_PARTS or (kind is None and isinstance(part.get("text"), str)):
            texts.append(str(part.get("text", "")))
        elif kind in _IMAGE_PARTS:
            texts.append("[image]")
        elif kind == "tool_use" and (call := _tool_call(part)) is not None:
            calls.append(call)
        elif kind == "tool_result":
            call_id = part.get("tool_use_id")
            tool_text = _text(part.get("content"))[0]
            results.append(
                _message("tool", tool_text, tool_call_id=None if call_id is None else str(call_id))
            )
        else:
            texts.append(_render(part) or "")
    return "\n".join(texts), calls, results


def _tool_call(raw: Any) -> ToolCall | None:
    if not isinstance(raw, dict):
        return None
    function = _as_dict(raw.get("function")) or raw
    name = function.get("name")
    if not isinstance(name, str):
        return None
    arguments: Any = next((function[k] for k in ("arguments", "args", "input") if k in function), {})
    call_id = raw.get("id") or raw.get("call_id")
    return {
        "id": None if call_id is None else str(call_id),
        "name": name,
        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False),
    }


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_tool_definition(content: Any) -> bool:
    content = _decode(content)
    return isinstance(content, dict) and (
        content.get("type") == "function" or isinstance(content.get("function"), dict)
    )


def _transcript(text: str) -> list[Message]:
    """``system: ...\\nuser: ...`` -> messages; [] unless the text starts with a role."""
    text = text.strip()
    turns = list(_TRANSCRIPT_TURN.finditer(text))
    if not turns or turns[0].start() != 0:
        return []
    ends = [turn.start() for turn in turns[1:]] + [len(text)]
    return [
        _message(_ROLES[turn.group(1).lower()], text[turn.end() : end].strip())
        for turn, end in zip(turns, ends, strict=True)
    ]


def _message(
    role: str, content: str, tool_calls: list[ToolCall] | None = None, tool_call_id: str | None = None
) -> Message:
    message: Message = {"role": role, "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if tool_call_id is not None:
        message["tool_call_id"] = tool_call_id
    return message


def _render(value: Any) -> str | None:
    """Text for a plain turn: strings as they are, JSON values as JSON."""
    value = _decode(value)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _decode(value: Any) -> Any:
    """Parse JSON text (the v2 API and some exports hand I/O over as strings)."""
    for _ in range(_MAX_JSON_NESTING):
        if not isinstance(value, str) or value.strip()[:1] not in ("{", "[", '"'):
            break
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            break
    return value
