"""A small client for any OpenAI-compatible ``POST {base_url}/chat/completions`` endpoint.

OpenAI, Azure's OpenAI-compatible route, vLLM, Ollama, llama.cpp's server and LiteLLM all speak
it. ``base_url`` includes the version prefix (``https://api.openai.com/v1``,
``http://127.0.0.1:11434/v1``).

Failures raise :class:`ChatError` carrying a :class:`DropReason`, never the request or reply
text (both may hold data from a trace):

- 429 and 5xx and refused connections are retried (``max_attempts`` in all, exponential backoff;
  a 429's ``Retry-After`` is honoured up to ``max_retry_after`` seconds);
- a read timeout is *not* retried: the server may still be generating (and billing) the first
  answer, and a slow endpoint would make the run ``max_attempts`` times slower;
- any other 4xx (a wrong key, an unknown model) fails at once;
- a 200 whose body is not a chat completion with one non-empty message is ``malformed``, and so
  is an answer cut off by the token limit (``finish_reason: length``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from annotate.augment.records import DropReason

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 522, 524})


class ChatError(Exception):
    def __init__(self, reason: DropReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ChatConfig:
    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 30.0
    max_attempts: int = 3
    backoff: float = 0.5
    max_retry_after: float = 30.0

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


class ChatClient:
    def __init__(
        self,
        config: ChatConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.Client(timeout=config.timeout, headers=headers, transport=transport)
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        temperature: float = 0.7,
        seed: int | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
    ) -> str:
        """The first choice's message content, stripped. Raises :class:`ChatError`."""
        body: dict[str, Any] = {
            "model": model or self.config.model,
            "messages": [dict(m) for m in messages],
            "temperature": temperature,
            "n": 1,
        }
        if seed is not None:
            body["seed"] = seed
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return parse_completion(self._post(body))

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        last_reason, last_detail = DropReason.PARAPHRASE_UNAVAILABLE, "no attempt made"
        for attempt in range(1, self.config.max_attempts + 1):
            try:
                response = self._http.post(self.config.endpoint, json=body)
            except httpx.ReadTimeout:
                raise ChatError(
                    DropReason.PARAPHRASE_TIMEOUT, f"no answer within {self.config.timeout:g} s"
                ) from None
            except (httpx.TimeoutException, httpx.TransportError) as error:
                last_reason, last_detail = DropReason.PARAPHRASE_UNAVAILABLE, type(error).__name__
                wait = self._backoff(attempt)
            else:
                if response.status_code < 300:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise ChatError(DropReason.PARAPHRASE_REJECTED, f"HTTP {response.status_code}")
                limited = response.status_code == 429
                last_reason = (
                    DropReason.PARAPHRASE_RATE_LIMITED if limited else DropReason.PARAPHRASE_UNAVAILABLE
                )
                last_detail = f"HTTP {response.status_code}"
                told = self._retry_after(response) if limited else None
                wait = self._backoff(attempt) if told is None else told
            if attempt < self.config.max_attempts:
                self._sleep(wait)
        raise ChatError(last_reason, f"{last_detail} after {self.config.max_attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        return float(self.config.backoff * 2 ** (attempt - 1))

    def _retry_after(self, response: httpx.Response) -> float | None:
        try:
            seconds = float(response.headers.get("Retry-After", ""))
        except ValueError:
            return None
        return max(0.0, min(seconds, self.config.max_retry_after))


def parse_completion(response: httpx.Response) -> str:
    """Strict: one choice with a non-empty string message that was not cut off."""
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise ChatError(DropReason.PARAPHRASE_MALFORMED, "the reply is not JSON") from None
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices:
        raise ChatError(DropReason.PARAPHRASE_MALFORMED, "the reply has no choices")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise ChatError(DropReason.PARAPHRASE_MALFORMED, "the first choice has no message content")
    finish = choice.get("finish_reason")
    if finish in ("length", "content_filter"):
        raise ChatError(DropReason.PARAPHRASE_MALFORMED, f"the answer stopped early (finish_reason {finish})")
    return content.strip()
