"""A local HTTP server on a daemon thread: what the Langfuse and chat stand-ins share."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Self


class BackgroundServer:
    """``start()`` / ``stop()`` or ``with``; subclasses build their server in ``_make_server``.

    ``stop_event`` is set on stop, to wake handlers sleeping in a delay or timeout fault.
    """

    thread_name = "standin"

    def __init__(self, address: tuple[str, int], stop_event: threading.Event) -> None:
        self._address = address
        self._stop_event = stop_event
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stop_event.clear()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _root(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not running; call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
