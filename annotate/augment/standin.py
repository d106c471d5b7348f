"""``ChatStandin``: a fake OpenAI-compatible chat endpoint on 127.0.0.1 for tests and the demo.

    with ChatStandin(api_key="sk-standin") as chat:
        chat.faults.push("timeout", seconds=2)      # the next request answers after 2 s
        chat.faults.push("server_error", count=2)   # then two 500s
        client = ChatClient(ChatConfig(base_url=chat.base_url, model="standin", api_key="sk-standin"))
        ...
        assert chat.count == 4

``POST /v1/chat/completions`` answers like OpenAI's API (same fields, same error bodies) with a
deterministic paraphrase of the last user message: phrase swaps chosen by a hash of the text,
the model and the request's ``seed``; numbers, identifiers and placeholders are kept. Faults
(one request each, FIFO): ``timeout`` (answer after ``seconds``), ``server_error`` (500),
``rate_limit`` (429 with ``Retry-After``), ``status`` (any ``status``), ``malformed_json``,
``missing_choices``, ``empty_content``, ``truncated`` (``finish_reason: length``),
``lose_identifiers`` (a paraphrase without its digits), ``answer_instead`` (a long answer).

For the demo: ``python -m annotate.augment.standin --port 8099`` and
``PARAPHRASE_BASE_URL=http://127.0.0.1:8099/v1``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flywheel.standin.background import BackgroundServer

FAULTS = (
    "timeout",
    "server_error",
    "rate_limit",
    "status",
    "malformed_json",
    "missing_choices",
    "empty_content",
    "truncated",
    "lose_identifiers",
    "answer_instead",
)
PATHS = ("/v1/chat/completions", "/chat/completions")

_SWAPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bwhere is\b", ("what's the status of", "any news on")),
    (r"\bI want\b", ("I'd like", "I would like")),
    (r"\bcan you\b", ("could you", "would you be able to")),
    (r"\bplease\b", ("kindly", "if you could")),
    (r"\bhasn't arrived\b", ("hasn't been delivered", "still isn't here")),
    (r"\bbroken\b", ("damaged", "defective")),
    (r"\bhelp\b", ("assist",)),
    (r"\bcheck\b", ("look into", "verify")),
    (r"\bthanks\b", ("thank you", "much appreciated")),
    (r"\bquickly\b", ("fast", "soon")),
    (r"请问", ("想问一下",)),
    (r"我想", ("我希望", "我打算")),
    (r"帮我", ("麻烦帮我",)),
)
_FRAMES = ("Quick question: {text}", "I have a question. {text}", "{text} Could you take a look?")
_FRAMES_CJK = ("想咨询一下:{text}", "{text}麻烦看一下。")
_CJK = re.compile(r"[\u3400-\u9fff]")


def standin_paraphrase(text: str, *, model: str = "", seed: Any = None) -> str:
    """A rewording that keeps every digit and placeholder; the same arguments give the same text."""
    digest = hashlib.sha256(f"{model}\0{seed}\0{text}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    out, changed = text, False
    for pattern, options in _SWAPS:
        regex = re.compile(pattern, re.IGNORECASE)
        if regex.search(out):
            out = regex.sub(_cased(rng.choice(options)), out)
            changed = True
    if not changed or rng.random() < 0.3:
        frames = _FRAMES_CJK if _CJK.search(text) else _FRAMES
        out = rng.choice(frames).format(text=out)
    return out


def _cased(choice: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return choice[:1].upper() + choice[1:] if match.group(0)[:1].isupper() else choice

    return replace


@dataclass
class Fault:
    kind: str
    remaining: int
    options: dict[str, Any]


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()

    def push(self, kind: str, *, count: int = 1, **options: Any) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        if kind in ("timeout",) and "seconds" not in options:
            raise ValueError("a timeout fault needs seconds=")
        with self._lock:
            self._faults.append(Fault(kind, count, options))

    def take(self) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.popleft()
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


@dataclass
class _Context:
    api_key: str
    faults: FaultQueue
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: _Context) -> None:
        super().__init__(address, _Handler)
        self.context = context


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK wait

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the request log
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._json(200, {"object": "list", "data": [{"id": "standin", "object": "model"}]})
        else:
            self._error(404, "Unknown path", "invalid_request_error")

    def do_POST(self) -> None:
        ctx = self.server.context
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.split("?")[0] not in PATHS:
            self._error(404, "Unknown path", "invalid_request_error")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with ctx.lock:
            ctx.requests.append(body if isinstance(body, dict) else {})
            number = len(ctx.requests)
        if ctx.api_key and self.headers.get("Authorization") != f"Bearer {ctx.api_key}":
            self._error(401, "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key")
            return
        try:
            model = str(body["model"])  # type: ignore[index]
            last = next(m["content"] for m in reversed(body["messages"]) if m.get("role") == "user")  # type: ignore[index]
        except (KeyError, TypeError, AttributeError, StopIteration):
            self._error(
                400, "'messages' must hold a user message and 'model' is required.", "invalid_request_error"
            )
            return
        fault = ctx.faults.take()
        kind = fault.kind if fault else ""
        if kind == "timeout":
            assert fault is not None
            if ctx.stop.wait(float(fault.options["seconds"])):
                return
        if kind in ("server_error", "status"):
            status = int(fault.options.get("status", 500)) if fault else 500
            self._error(status, "The server had an error while processing your request.", "server_error")
            return
        if kind == "rate_limit":
            seconds = str(fault.options.get("retry_after", 0)) if fault else "0"
            self._error(429, "Rate limit reached for requests.", "requests", headers={"Retry-After": seconds})
            return
        if kind == "malformed_json":
            self._send(200, b'{"id": "chatcmpl-x", "choices": [{"message": ', "application/json")
            return
        if kind == "missing_choices":
            self._json(200, {"id": f"chatcmpl-standin-{number}", "object": "chat.completion", "model": model})
            return
        content = standin_paraphrase(str(last), model=model, seed=body.get("seed"))
        if kind == "lose_identifiers":
            content = re.sub(r"<[A-Z_]+_\d+>|[\w-]*\d[\w-]*", "it", content)
        if kind == "answer_instead":
            content = "Sure! Here is everything you need to know. " * 60
        if kind == "empty_content":
            content = ""
        finish = "length" if kind == "truncated" else "stop"
        self._json(200, _completion(number, model, content, finish))

    # -- replies ---------------------------------------------------------------------------
    def _error(
        self,
        status: int,
        message: str,
        kind: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._json(
            status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers
        )

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)  # fails when the client gave up (its timeout): nothing to tell it


def _completion(number: int, model: str, content: str, finish: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-standin-{number}",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(content.split()), "total_tokens": 0},
    }


class ChatStandin(BackgroundServer):
    def __init__(self, *, api_key: str = "", host: str = "127.0.0.1", port: int = 0) -> None:
        self.faults = FaultQueue()
        self._context = _Context(api_key=api_key, faults=self.faults)
        super().__init__((host, port), self._context.stop)

    thread_name = "chat-standin"

    def _make_server(self) -> _Server:
        return _Server(self._address, self._context)

    @property
    def base_url(self) -> str:
        """Ends in ``/v1``, as OpenAI-compatible base URLs do."""
        return f"{self._root()}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Request bodies received on the completions path, in order (faulted ones included)."""
        with self._context.lock:
            return list(self._context.requests)

    @property
    def count(self) -> int:
        return len(self.requests)


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible chat endpoint (paraphrases).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--api-key", default="", help="Require this bearer key (default: none).")
    args = parser.parse_args()
    standin = ChatStandin(api_key=args.api_key, host=args.host, port=args.port).start()
    print(f"Chat stand-in on {standin.base_url} (Ctrl+C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
