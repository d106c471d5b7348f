"""Synthetic "download trace" bundles for tests and demos: a chat turn as an SDK records it.

Each bundle has a root SPAN, a GENERATION holding the conversation (I/O as raw JSON text,
the way OTel-era SDKs store it) and optional TOOL spans, so every code path that reads a
real trace has something realistic to chew on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flywheel.standin.wire import format_time


def chat_bundle(
    trace_id: str,
    start: datetime,
    *,
    question: str = "How do I reset my password?",
    answer: str = "Open Settings > Security and choose Reset password.",
    model: str = "gpt-4o-mini",
    environment: str = "default",
    tags: Sequence[str] = (),
    user_id: str | None = "user-1",
    session_id: str | None = "session-1",
    tools: int = 0,
    step: timedelta = timedelta(milliseconds=200),
) -> dict[str, Any]:
    """One chat turn starting at ``start``; observations start ``step`` apart."""
    messages = [
        {"role": "system", "content": "You are a helpful support agent."},
        {"role": "user", "content": question},
    ]
    root_id, generation_id = f"{trace_id}-root", f"{trace_id}-gen"
    observations = [
        _observation(root_id, trace_id, "SPAN", "chat-turn", start, start + step * (3 + tools), environment),
        _observation(
            generation_id,
            trace_id,
            "GENERATION",
            f"chat {model}",
            start + step,
            start + step * 2,
            environment,
            parent=root_id,
            input=json.dumps(messages),
            output=json.dumps({"role": "assistant", "content": answer}),
            model=model,
            usageDetails={"input": 24, "output": 12, "total": 36},
            costDetails={"input": 0.000004, "output": 0.000007, "total": 0.000011},
            totalCost=0.000011,
        ),
    ]
    for number in range(tools):
        at = start + step * (2 + number)
        observations.append(
            _observation(
                f"{trace_id}-tool-{number}",
                trace_id,
                "TOOL",
                "search",
                at,
                at + step / 2,
                environment,
                parent=root_id,
                input=json.dumps({"query": question}),
                output=json.dumps({"hits": number + 1}),
            )
        )
    trace = {
        "id": trace_id,
        "name": "chat-turn",
        "timestamp": format_time(start),
        "environment": environment,
        "tags": list(tags),
        "userId": user_id,
        "sessionId": session_id,
        "release": "2024.1",
        "version": "1.0.0",
        "public": False,
        "bookmarked": False,
        "input": json.dumps(question),
        "output": json.dumps(answer),
        "metadata": json.dumps({"channel": "web"}),
        "scores": [],
    }
    return {"trace": trace, "observations": observations}


def _observation(
    obs_id: str,
    trace_id: str,
    kind: str,
    name: str,
    start: datetime,
    end: datetime,
    environment: str,
    *,
    parent: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": obs_id,
        "traceId": trace_id,
        "type": kind,
        "name": name,
        "parentObservationId": parent,
        "startTime": format_time(start),
        "endTime": format_time(end),
        "environment": environment,
        "level": "DEFAULT",
        "input": None,
        "output": None,
        "metadata": json.dumps({"sdk": "synthetic"}),
        **extra,
    }
