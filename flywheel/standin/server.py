"""``LangfuseStandin``: a fake Langfuse on 127.0.0.1 for tests and demos.

    with LangfuseStandin(mode="new") as lf:
        lf.add_trace_bundle(json.load(open("samples/autogen-2025-06-06.trace.json")))
        lf.faults.push("/api/public/v2/observations", "rate_limit", retry_after=3)
        client = LangfuseAPI(base_url=lf.base_url, username=lf.public_key, password=lf.secret_key)
        ...
        assert lf.count("/api/public/v2/observations") == 2

``mode`` picks the server generation: ``"new"`` is a v4 server (legacy reads answer 404),
``"old"`` a v3 server (``/v2/observations`` and ``/v3/scores`` answer 404), ``"both"`` a
v3 server with the v4 preview switched on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flywheel.standin.background import BackgroundServer
from flywheel.standin.bundles import load_bundle, score_from_dict
from flywheel.standin.faults import FaultQueue
from flywheel.standin.handlers import MODES, RequestRecord, StandinContext, StandinHTTPServer
from flywheel.standin.store import Store, StoredScore
from flywheel.standin.writes import post_score_config

SERVER_VERSIONS = {"new": "4.0.0", "old": "3.120.0", "both": "3.120.0"}


class LangfuseStandin(BackgroundServer):
    def __init__(
        self,
        mode: str = "new",
        *,
        public_key: str = "pk-lf-standin",
        secret_key: str = "sk-lf-standin",  # noqa: S107 - a fixed key of a local fake
        host: str = "127.0.0.1",
        port: int = 0,
        metadata_as_string: bool = False,
        score_batches: bool = True,
    ) -> None:
        """``port=0`` binds a free port. ``metadata_as_string`` serves v2 ``metadata`` as
        raw text instead of an object, to test clients against that variant.
        ``score_batches=False`` makes ``POST /scores`` refuse the SDK v5 array body with a
        400, as the server of the spec does (it takes one object and answers ``{id}``)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.public_key = public_key
        self.secret_key = secret_key
        self.store = Store()
        self.faults = FaultQueue()
        self._context = StandinContext(
            store=self.store,
            faults=self.faults,
            public_key=public_key,
            secret_key=secret_key,
            mode=mode,
            version=SERVER_VERSIONS[mode],
            metadata_as_string=metadata_as_string,
            score_batches=score_batches,
        )
        super().__init__((host, port), self._context.stop)

    # -- lifecycle (start / stop / with: BackgroundServer) -----------------------------------
    thread_name = "langfuse-standin"

    def _make_server(self) -> StandinHTTPServer:
        return StandinHTTPServer(self._address, self._context)

    @property
    def base_url(self) -> str:
        return self._root()

    @property
    def mode(self) -> str:
        return self._context.mode

    @mode.setter
    def mode(self, mode: str) -> None:
        """Switch generations while running, like an upgrade between two requests."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self._context.mode, self._context.version = mode, SERVER_VERSIONS[mode]

    # -- data ---------------------------------------------------------------------------
    def add_trace_bundle(self, bundle: Mapping[str, Any]) -> str:
        """Load a "download trace" bundle ``{"trace": {...}, "observations": [...]}``."""
        return load_bundle(self.store, bundle)

    def add_trace_bundles(self, bundles: Iterable[Mapping[str, Any]]) -> list[str]:
        return [self.add_trace_bundle(b) for b in bundles]

    def add_score(
        self,
        *,
        name: str,
        value: float | str | bool,
        trace_id: str | None = None,
        observation_id: str | None = None,
        session_id: str | None = None,
        data_type: str = "NUMERIC",
        score_id: str | None = None,
        timestamp: datetime | None = None,
        source: str = "API",
        comment: str | None = None,
        environment: str = "default",
    ) -> str:
        """Seed a score as if it had been ingested; returns its id. Strings are the
        ``stringValue`` of CATEGORICAL/TEXT scores, bools a BOOLEAN's 1/0."""
        text = value if isinstance(value, str) else None
        number = None if text is not None else float(value)
        score = score_from_dict(
            {
                "id": score_id,
                "name": name,
                "value": number,
                "stringValue": text,
                "dataType": data_type,
                "traceId": trace_id,
                "observationId": observation_id,
                "sessionId": session_id,
                "timestamp": timestamp,
                "source": source,
                "comment": comment,
                "environment": environment,
            }
        )
        self.store.add_score(score)
        return score.id

    def add_score_config(self, **fields: Any) -> str:
        """Create a score config from camelCase fields (``name``, ``dataType``, ...)."""
        return str(post_score_config(fields, self.store)["id"])

    @property
    def written_scores(self) -> list[StoredScore]:
        """Scores stored through ``POST /api/public/scores``, one per id (upserts), in the
        order they were first written; deleted ones are gone."""
        return self.store.written_scores()

    def scores_on(self, trace_id: str) -> list[StoredScore]:
        """Every score the stand-in holds for one trace (seeded and written), by name then id."""
        held = [s for s in self.store.scores() if s.trace_id == trace_id]
        return sorted(held, key=lambda s: (s.name, s.id))

    # -- request log --------------------------------------------------------------------
    @property
    def request_counts(self) -> dict[str, int]:
        """Requests received per path (query string excluded), faulted ones included."""
        with self._context.lock:
            return dict(self._context.counts)

    def count(self, path_prefix: str) -> int:
        return sum(n for path, n in self.request_counts.items() if path.startswith(path_prefix))

    @property
    def requests(self) -> list[RequestRecord]:
        with self._context.lock:
            return list(self._context.requests)
