"""Scores to one Langfuse project through the official SDK 5 client, with per-score outcomes.

Why not ``Langfuse().create_score`` + ``flush()``: it queues scores in a background thread,
returns nothing, and only logs the rows a 207 rejects, so a caller cannot know which scores
the server took. The ledger must record exactly those, so this module drives the SDK's
generated client, ``langfuse.api.LangfuseAPI.scores.create``, directly:

* an array of up to ``batch_size`` scores per request (SDK v5's wire shape): ``202`` means
  every row was taken; a ``207`` only counts the rejected rows, so that batch's rows are sent
  again one at a time (upserts by id and timestamp: re-sending an accepted row is harmless)
  to learn which ones the server refuses and why;
* a server that answers the array with a 400 is the spec's server, which takes one object
  per request and answers ``200 {id}``: the writer switches to single objects for the rest
  of its life and says so in the log.

Retries are ours (the SDK gets ``max_retries=0``), as in the ingester: 429 waits for
``Retry-After``; 5xx, 408, 409, timeouts and dropped connections back off exponentially with
jitter; a 2xx body that is not JSON is retried a few times (the write is idempotent). Then
the run stops with a ``flywheel.errors`` error; what was accepted before stays accepted.
Nothing here logs a score's value or quotes one in an error.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

import httpx
import pydantic
from langfuse.api import LangfuseAPI
from langfuse.api.core.api_error import ApiError
from langfuse.api.core.request_options import RequestOptions
from langfuse.api.scores.types.create_score_batch_results import CreateScoreBatchResults
from langfuse.api.scores.types.create_score_request import CreateScoreRequest

from flywheel.errors import SourceAuthError, SourceProtocolError, SourceRateLimited, SourceUnreachable
from flywheel.ingest.langfuse_api import LangfuseApiConfig
from flywheel.writeback.records import ScorePayload

log = logging.getLogger(__name__)
T = TypeVar("T")
NO_SDK_RETRIES: RequestOptions = {"max_retries": 0}
POST_SCORES = "POST /api/public/scores"
DELETE_SCORE = "DELETE /api/public/scores/{scoreId}"
PROTOCOL_ATTEMPTS = 3
REASON_CHARS = 200
REFUSED_STATUSES = (400, 413, 422)  # the server read the request and said no: the score, not the link


@dataclass(frozen=True)
class Refused:
    score_id: str
    reason: str  # the server's message, cut short, never quoting the score's value


@dataclass(frozen=True)
class SendOutcome:
    accepted: list[str]
    refused: list[Refused]


@dataclass(frozen=True)
class _Failure:
    kind: Literal["auth", "missing", "refused", "rate_limited", "transient", "protocol"]
    cause: str  # safe to show: a status or an error class, never a body
    status: int | None = None
    retry_after: float | None = None
    message: str = ""  # the server's message of a refusal (a 400's body)


class _Stop(Exception):
    """A request ended in a way the caller decides about (a refusal, a 404)."""

    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.cause)
        self.failure = failure


class ScoreWriter:
    """Writes to one Langfuse project. Not thread-safe; one per target source and run."""

    def __init__(
        self,
        config: LangfuseApiConfig,
        *,
        target: str = "",
        sleep: Callable[[float], None] = time.sleep,
        http_client: httpx.Client | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._target = target or config.host
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=config.timeout, follow_redirects=True)
        self._api = LangfuseAPI(
            base_url=config.base_url.rstrip("/"),
            username=config.public_key,
            password=config.secret_key,
            timeout=config.timeout,
            httpx_client=self._http,
        )
        self.batches = True  # False once the server turned an array down (see the module docstring)
        self.requests = 0

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ScoreWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------
    def send(self, payloads: Sequence[ScorePayload]) -> SendOutcome:
        """Send scores; returns which the server accepted and which it refused (with why)."""
        if not payloads:
            return SendOutcome([], [])
        if not self.batches:
            return self._one_by_one(payloads)
        try:
            answer = self._call(POST_SCORES, partial(self._post, [_model(p) for p in payloads]))
        except _Stop as stop:
            if stop.failure.kind == "refused":
                log.info(
                    "Langfuse at %s refused a score batch (HTTP %s); sending one score per request "
                    "from now on, as its API version expects",
                    self._config.host,
                    stop.failure.status,
                )
                self.batches = False
                return self._one_by_one(payloads)
            raise self._no_scores_endpoint() from None
        if not isinstance(answer, CreateScoreBatchResults) or answer.rejected == 0:
            return SendOutcome([p.score_id for p in payloads], [])
        if len(payloads) == 1:
            message = answer.errors[0].message if answer.errors else "rejected"
            return SendOutcome([], [Refused(payloads[0].score_id, _reason(message, payloads[0]))])
        # A 207 counts rejected rows without naming them: ask row by row.
        outcomes = [self.send([payload]) for payload in payloads]
        return SendOutcome(
            [sid for o in outcomes for sid in o.accepted], [r for o in outcomes for r in o.refused]
        )

    def delete(self, score_id: str) -> None:
        """Retract a score; one that is already gone counts as retracted."""
        request = partial(self._api.scores.delete, score_id, request_options=NO_SDK_RETRIES)
        try:
            self._call(DELETE_SCORE, request)
        except _Stop as stop:
            if stop.failure.kind != "missing":
                raise SourceProtocolError(
                    f"Langfuse at {self._config.host} refused {DELETE_SCORE} ({stop.failure.cause}).",
                    hint="The server may run an unsupported version; check its version and the base URL.",
                ) from None

    # -- requests -----------------------------------------------------------------------
    def _post(self, request: Any) -> Any:
        return self._api.scores.create(request=request, request_options=NO_SDK_RETRIES)

    def _one_by_one(self, payloads: Sequence[ScorePayload]) -> SendOutcome:
        accepted: list[str] = []
        refused: list[Refused] = []
        for payload in payloads:
            # The spec's server takes one object; the SDK serialises a single model just as well.
            one = cast(list[CreateScoreRequest], _model(payload))
            try:
                self._call(POST_SCORES, partial(self._post, one))
                accepted.append(payload.score_id)
            except _Stop as stop:
                if stop.failure.kind != "refused":
                    raise self._no_scores_endpoint() from None
                refused.append(Refused(payload.score_id, _reason(stop.failure.message, payload)))
        return SendOutcome(accepted, refused)

    def _call(self, what: str, request: Callable[[], T]) -> T:
        failure = _Failure("transient", "no attempt")
        attempt = garbled = 0
        while attempt < self._config.max_attempts:
            attempt += 1
            self.requests += 1
            try:
                return request()
            except (ApiError, httpx.HTTPError, ValueError, pydantic.ValidationError) as exc:
                failure = _classify(exc, self._config.timeout)
            if failure.kind == "auth":
                raise self._auth_error(failure)
            if failure.kind in ("missing", "refused"):
                raise _Stop(failure)
            garbled += failure.kind == "protocol"
            if attempt >= self._config.max_attempts or garbled >= PROTOCOL_ATTEMPTS:
                break
            delay = self._delay(failure, attempt)
            log.warning(
                "Langfuse %s: %s (attempt %d of %d); retrying in %.1f s",
                what,
                failure.cause,
                attempt,
                self._config.max_attempts,
                delay,
            )
            self._sleep(delay)
        raise self._give_up(what, failure, garbled if failure.kind == "protocol" else attempt)

    def _delay(self, failure: _Failure, attempt: int) -> float:
        if failure.kind == "rate_limited" and failure.retry_after is not None:
            return min(failure.retry_after, self._config.max_retry_after)
        step = min(self._config.backoff_max, self._config.backoff_base * 2 ** (attempt - 1))
        return step / 2 + self._rng.uniform(0, step / 2)

    # -- errors -------------------------------------------------------------------------
    def _give_up(self, what: str, failure: _Failure, attempts: int) -> Exception:
        host = self._config.host
        again = "Scores accepted so far are recorded; run the write-back again to send the rest."
        if failure.kind == "rate_limited":
            return SourceRateLimited(
                f"Langfuse at {host} still rate-limited {what} (HTTP 429) after {attempts} attempts.",
                hint=f"Wait for the rate-limit window to pass. {again}",
            )
        if failure.kind == "protocol":
            return SourceProtocolError(
                f"Langfuse at {host} answered {what} with {failure.cause}, {attempts} times in a row.",
                hint="Check that the base URL points at Langfuse itself, not at a proxy or a login page.",
            )
        return SourceUnreachable(
            f"Langfuse at {host} did not take {what} after {attempts} attempts (last: {failure.cause}).",
            hint=f"Check that {self._config.base_url.rstrip('/')}/api/public/health answers. {again}",
        )

    def _auth_error(self, failure: _Failure) -> SourceAuthError:
        return SourceAuthError(
            f"Langfuse at {self._config.host} rejected the API keys of source '{self._target}' "
            f"(HTTP {failure.status}).",
            hint=f"Check the source's public key and the secret key in the env var "
            f"{self._config.secret_key_env}: both must come from the Langfuse project that holds the "
            "traces (Settings > API keys).",
        )

    def _no_scores_endpoint(self) -> SourceProtocolError:
        return SourceProtocolError(
            f"{self._config.host} does not serve {POST_SCORES}.",
            hint="Set the source's base URL to the Langfuse root, e.g. https://cloud.langfuse.com "
            "(no /api/public).",
        )


def _model(payload: ScorePayload) -> CreateScoreRequest:
    body = payload.body
    return CreateScoreRequest(
        id=body["id"],
        trace_id=body["traceId"],
        observation_id=body.get("observationId"),
        name=body["name"],
        value=body["value"],
        comment=body.get("comment"),
        metadata=body.get("metadata"),
        environment=body.get("environment"),
        data_type=body.get("dataType"),
        source=body.get("source"),
        timestamp=datetime.fromisoformat(body["timestamp"]),
    )


def _classify(exc: Exception, timeout: float) -> _Failure:
    if isinstance(exc, ApiError):
        status = exc.status_code
        if status is None or 200 <= status < 300:
            return _Failure("protocol", f"a body that is not JSON (HTTP {status})", status)
        if status in (401, 403):
            return _Failure("auth", f"HTTP {status}", status)
        if status == 404:
            return _Failure("missing", "HTTP 404", status)
        if status == 429:
            return _Failure("rate_limited", "HTTP 429", status, _retry_after(exc.headers or {}))
        if status >= 500 or status in (408, 409):
            return _Failure("transient", f"HTTP {status}", status)
        if status in REFUSED_STATUSES:
            return _Failure("refused", f"HTTP {status}", status, message=_message(exc.body))
        return _Failure("protocol", f"HTTP {status}", status)
    if isinstance(exc, httpx.TimeoutException):
        return _Failure("transient", f"timed out after {timeout:g} s")
    if isinstance(exc, httpx.ConnectError):
        return _Failure("transient", "connection refused or host unknown")
    if isinstance(exc, httpx.TransportError):
        return _Failure("transient", f"connection dropped ({type(exc).__name__})")
    return _Failure("protocol", "a body that is not the JSON the API promises")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``Retry-After``: a number (what Langfuse sends) or an HTTP date."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _message(body: Any) -> str:
    if isinstance(body, Mapping):
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return "refused"


def _reason(message: str, payload: ScorePayload) -> str:
    """The server's reason, short, with the score's own value blanked (it may echo it)."""
    value = payload.body.get("value")
    text = message
    if isinstance(value, str) and len(value) >= 4:
        text = text.replace(value, "<value>")
    return " ".join(text.split())[:REASON_CHARS] or "refused"
