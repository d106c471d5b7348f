"""HTTP plumbing of the stand-in: auth, routing, server-version switches and faults."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import socket
import struct
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flywheel.standin import legacy, queries, writes
from flywheel.standin.faults import FaultKind, FaultQueue, canned_response, shape_body, shape_payload
from flywheel.standin.queries import Args, NotFound
from flywheel.standin.render import score_config
from flywheel.standin.store import Store
from flywheel.standin.wire import BadRequest

MODES = ("new", "old", "both")
V4_ONLY = (
    "The observations v2 API is only available in a Langfuse v4 write mode. "
    "Learn more at: https://langfuse.com/docs/v4"
)
LEGACY_GONE = (
    "This endpoint is not available on a Langfuse v4 (events_only) server. "
    "Use GET /api/public/v2/observations and GET /api/public/v3/scores."
)
UNAUTHORIZED = "Invalid credentials. Confirm that you've configured the correct host."
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class RequestRecord:
    """One request as received (never its credentials), for assertions in tests."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes = b""  # as received, for write requests (POST/PATCH/DELETE); reads have none

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when there was none)."""
        return json.loads(self.body) if self.body else None


@dataclass
class StandinContext:
    store: Store
    faults: FaultQueue
    public_key: str
    secret_key: str
    mode: str
    version: str
    metadata_as_string: bool = False
    score_batches: bool = True  # False: POST /scores takes one object only, as the spec's server does
    stop: threading.Event = field(default_factory=threading.Event)
    counts: Counter[str] = field(default_factory=Counter)
    requests: list[RequestRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> None:
        with self.lock:
            self.counts[path] += 1
            self.requests.append(RequestRecord(method, path, query, body))


Route = Callable[[StandinContext, Args, Any, str], tuple[int, Any]]


def _v2_observations(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, queries.v2_observations(ctx.store, args, metadata_as_string=ctx.metadata_as_string)


def _v3_scores(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, queries.v3_scores(ctx.store, args)


def _traces(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, legacy.legacy_traces(ctx.store, args)


def _trace(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, legacy.legacy_trace(ctx.store, item)


def _observations(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, legacy.legacy_observations(ctx.store, args)


def _sessions(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, legacy.legacy_sessions(ctx.store, args)


def _post_scores(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    if isinstance(body, list) and not ctx.score_batches:
        raise BadRequest(writes.NO_BATCHES)
    return writes.post_scores(body, ctx.store)


def _delete_score(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    if not ctx.store.delete_score(item):
        raise NotFound("Score not found")
    return 204, None


def _configs(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, legacy.score_configs(ctx.store, args)


def _post_config(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    return 200, writes.post_score_config(body, ctx.store)


def _config(ctx: StandinContext, args: Args, body: Any, item: str) -> tuple[int, Any]:
    config = ctx.store.config(item)
    if config is None:
        raise NotFound("Score config not found")
    return 200, score_config(config)


# (method, path, family, handler). Family "v4" answers 404 on an old server, "legacy"
# answers 404 on a new one, "any" is served by both generations.
ROUTES: list[tuple[str, re.Pattern[str], str, Route]] = [
    ("GET", re.compile(r"/api/public/v2/observations"), "v4", _v2_observations),
    ("GET", re.compile(r"/api/public/v3/scores"), "v4", _v3_scores),
    ("GET", re.compile(r"/api/public/traces"), "legacy", _traces),
    ("GET", re.compile(r"/api/public/traces/(?P<id>[^/]+)"), "legacy", _trace),
    ("GET", re.compile(r"/api/public/observations"), "legacy", _observations),
    ("GET", re.compile(r"/api/public/sessions"), "legacy", _sessions),
    ("POST", re.compile(r"/api/public/scores"), "any", _post_scores),
    ("DELETE", re.compile(r"/api/public/scores/(?P<id>[^/]+)"), "any", _delete_score),
    ("GET", re.compile(r"/api/public/score-configs"), "any", _configs),
    ("POST", re.compile(r"/api/public/score-configs"), "any", _post_config),
    ("GET", re.compile(r"/api/public/score-configs/(?P<id>[^/]+)"), "any", _config),
]


def dispatch(ctx: StandinContext, method: str, path: str, args: Args, body: Any) -> tuple[int, Any]:
    path_known = False
    for route_method, pattern, family, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        path_known = True
        if route_method != method:
            continue
        if family == "v4" and ctx.mode == "old":
            raise NotFound(V4_ONLY)
        if family == "legacy" and ctx.mode == "new":
            raise NotFound(LEGACY_GONE)
        return handler(ctx, args, body, unquote(match.groupdict().get("id") or ""))
    if path_known:
        return 405, {"message": "Method not allowed"}
    raise NotFound("Not found")


class StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in a delay fault must not block shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], context: StandinContext) -> None:
        super().__init__(address, StandinHandler)
        self.context = context

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (timeouts, resets) are part of the tests, not errors.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class StandinHandler(BaseHTTPRequestHandler):
    server: StandinHTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection keeps faults per request

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log lives in ``LangfuseStandin.requests``."""

    def _handle(self, method: str) -> None:
        ctx = self.server.context
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        raw_body = self._read_body()
        written = raw_body if method in ("POST", "PATCH", "DELETE") else b""
        ctx.record(method, path, parse_qs(url.query, keep_blank_values=True), written)
        fault = ctx.faults.take(method, path)
        if fault is not None and fault.kind is FaultKind.RESET:
            self._reset()
            return
        delay = fault is not None and fault.kind is FaultKind.DELAY
        if delay and fault is not None and ctx.stop.wait(float(fault.options["seconds"])):
            return  # the stand-in is stopping
        canned = canned_response(fault) if fault is not None else None
        if canned is not None:
            self._send(canned.status, canned.headers, canned.body)
            return
        status, payload = self._answer(ctx, method, path, url.query, raw_body)
        if status == 204:
            self._send(status, {}, b"")
            return
        ok = 200 <= status < 300
        payload = shape_payload(fault, payload) if ok else payload
        body = json.dumps(payload).encode()
        self._send(status, JSON_HEADERS, shape_body(fault, body) if ok else body)

    def _answer(self, ctx: StandinContext, method: str, path: str, query: str, raw: bytes) -> tuple[int, Any]:
        try:
            if path == "/api/public/health" and method == "GET":
                return 200, {"status": "OK", "version": ctx.version}
            if not self._authorized(ctx):
                return 401, {"message": UNAUTHORIZED}
            body = None
            if method in ("POST", "PATCH"):
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    raise BadRequest("The request body is not valid JSON") from None
            return dispatch(ctx, method, path, Args(parse_qs(query, keep_blank_values=True)), body)
        except BadRequest as exc:
            return 400, {"message": str(exc)}
        except NotFound as exc:
            return 404, {"message": str(exc)}
        except Exception:
            traceback.print_exc()
            return 500, {"message": "Internal Server Error"}

    def _authorized(self, ctx: StandinContext) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(username, ctx.public_key) & hmac.compare_digest(password, ctx.secret_key)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout fired during a delay fault)

    def _reset(self) -> None:
        # SO_LINGER 0 turns close() into a TCP RST: the client sees "connection reset".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
