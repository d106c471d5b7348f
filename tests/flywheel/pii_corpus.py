"""A small corpus full of PII, in every field a trace can carry, with the raw values listed.

The values were chosen so the real scrubber (Presidio + the spaCy model) detects them in
context: the tests here are about where scrubbing happens, not about NER recall (which
bench/pii_recall.py measures).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PII = {
    "person": "Johanna Lindqvist",
    "person2": "Marcus Whitfield",
    "email": "johanna.lindqvist@example.org",
    "email2": "m.whitfield@example.com",
    "phone": "+1 415-555-0134",
    "card": "4111 1111 1111 1111",
    "ip": "203.0.113.77",
}
RAW_VALUES = list(PII.values())


def bundle(trace_id: str, *, minute: int = 0) -> dict[str, Any]:
    p = PII
    user = f"Hi, I'm {p['person']}. Please call me at {p['phone']} about my card {p['card']}."
    answer = f"Thanks {p['person']}, I emailed {p['email']} with the details."
    ts = f"2026-11-02T10:{minute:02d}:00.000Z"
    return {
        "trace": {
            "id": trace_id,
            "timestamp": ts,
            "name": "support-chat",
            "userId": p["email2"],
            "sessionId": "sess-1",
            "tags": ["support"],
            "environment": "production",
            "input": user,
            "output": answer,
            "metadata": {"client_ip": p["ip"], "nested": {"note": f"escalated by {p['person2']}"}},
            "scores": [
                {
                    "id": f"{trace_id}-s1",
                    "traceId": trace_id,
                    "name": "user-feedback",
                    "value": 0,
                    "dataType": "NUMERIC",
                    "source": "API",
                    "timestamp": ts,
                    "comment": f"{p['person2']} said the answer was wrong, reach him at {p['email2']}",
                }
            ],
        },
        "observations": [
            {
                "id": f"{trace_id}-g1",
                "traceId": trace_id,
                "type": "GENERATION",
                "name": "chat",
                "startTime": ts,
                "endTime": ts,
                "level": "DEFAULT",
                "model": "gpt-4o-mini",
                "input": json.dumps(
                    [
                        {"role": "system", "content": "You are a support assistant."},
                        {"role": "user", "content": user},
                    ]
                ),
                "output": {"role": "assistant", "content": answer},
                "metadata": {"customer": {"email": p["email"], "phone": p["phone"]}},
            }
        ],
    }


def write(path: Path, trace_ids: list[str]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i, tid in enumerate(trace_ids):
            out.write(json.dumps(bundle(tid, minute=i % 60)) + "\n")
    return path


def leaks(text: str) -> list[str]:
    return [value for value in RAW_VALUES if value in text]
