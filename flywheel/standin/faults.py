"""Programmable failures: the next N requests under a path prefix misbehave on purpose.

A test queues faults before it drives a client; each matching request consumes one. The
canned answers copy what Langfuse and its CDN really send (API_NOTES §2 "Rate limits",
§7), so the client's error handling is tested against realistic bytes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"  # 429, Retry-After, X-RateLimit-* headers and the JSON body
    SERVER_ERROR = "server_error"  # 500 {"message": "Timeout error"} (ClickHouse timeouts)
    GATEWAY_TIMEOUT = "gateway_timeout"  # 524 from Cloudflare, an HTML body
    STATUS = "status"  # any status with an optional JSON body: status=503, body={...}
    DELAY = "delay"  # wait `seconds`, then answer normally (longer than the client's timeout)
    TRUNCATED = "truncated"  # 200 with the real JSON body cut in half
    GARBAGE = "garbage"  # 200 with a body that is not JSON at all
    RESET = "reset"  # drop the connection without answering (TCP RST)
    MUTATE = "mutate"  # mutate=callable(payload) -> payload, applied to the real JSON answer


@dataclass
class Fault:
    path_prefix: str
    kind: FaultKind
    remaining: int
    method: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)


@dataclass(frozen=True)
class CannedResponse:
    status: int
    headers: dict[str, str]
    body: bytes


_REQUIRED_OPTIONS = {
    FaultKind.STATUS: "status",
    FaultKind.DELAY: "seconds",
    FaultKind.MUTATE: "mutate",
}


class FaultQueue:
    """FIFO of faults; thread-safe because the server answers on many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def push(
        self,
        path_prefix: str,
        kind: FaultKind | str,
        count: int = 1,
        *,
        method: str | None = None,
        **options: Any,
    ) -> None:
        """Make the next ``count`` requests whose path starts with ``path_prefix`` fail.

        Options by kind: ``rate_limit`` takes ``retry_after`` (seconds, default 1);
        ``status`` needs ``status`` and takes ``body``; ``delay`` needs ``seconds``;
        ``mutate`` needs ``mutate``, a function from the JSON payload to a new payload.
        """
        kind = FaultKind(kind)
        required = _REQUIRED_OPTIONS.get(kind)
        if required and required not in options:
            raise ValueError(f"a {kind.value!r} fault needs the {required!r} option")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(Fault(path_prefix, kind, count, method.upper() if method else None, options))

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def canned_response(fault: Fault) -> CannedResponse | None:
    """The fixed answer of a fault, or None when the fault shapes the real answer instead."""
    if fault.kind is FaultKind.RATE_LIMIT:
        return _rate_limited(fault.options.get("retry_after", 1))
    if fault.kind is FaultKind.SERVER_ERROR:
        return _json(500, {"message": "Timeout error"})
    if fault.kind is FaultKind.GATEWAY_TIMEOUT:
        body = b"<!DOCTYPE html><html><head><title>A timeout occurred</title></head>"
        body += b"<body>Error code 524</body></html>"
        return CannedResponse(524, {"Content-Type": "text/html; charset=UTF-8"}, body)
    if fault.kind is FaultKind.STATUS:
        return _json(int(fault.options["status"]), fault.options.get("body", {"message": "Injected failure"}))
    if fault.kind is FaultKind.GARBAGE:
        return CannedResponse(200, dict(JSON_HEADERS), b"<html>upstream sent garbage</html>")
    return None


def shape_payload(fault: Fault | None, payload: Any) -> Any:
    if fault is not None and fault.kind is FaultKind.MUTATE:
        mutate: Callable[[Any], Any] = fault.options["mutate"]
        return mutate(payload)
    return payload


def shape_body(fault: Fault | None, body: bytes) -> bytes:
    if fault is not None and fault.kind is FaultKind.TRUNCATED:
        return body[: max(1, len(body) // 2)]
    return body


def _rate_limited(retry_after: float) -> CannedResponse:
    reset = datetime.now(UTC) + timedelta(seconds=float(retry_after))
    # X-RateLimit-Reset is a JS Date.toString(), not epoch seconds (API_NOTES §2).
    reset_text = reset.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")
    body = {
        "message": "Rate limit exceeded",
        "code": "rate_limited",
        "details": {
            "retryAfterSeconds": retry_after,
            "limit": 1000,
            "remaining": 0,
            "resetAt": reset.isoformat(),
        },
    }
    response = _json(429, body)
    response.headers.update(
        {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset_text,
        }
    )
    return response


def _json(status: int, payload: Any) -> CannedResponse:
    return CannedResponse(status, dict(JSON_HEADERS), json.dumps(payload).encode())
