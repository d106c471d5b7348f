"""The v4 read endpoints (cursor pages) and the query parsing every read shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flywheel.standin import render
from flywheel.standin.store import Store, StoredObservation, StoredScore
from flywheel.standin.wire import BadRequest, decode_cursor, encode_cursor, parse_optional_time


class NotFound(Exception):
    """Answered with 404 and the message as ``{"message": ...}``."""


class Args:
    """Typed access to a parsed query string (``parse_qs`` output)."""

    def __init__(self, query: Mapping[str, Sequence[str]]) -> None:
        self._query = query

    def one(self, name: str) -> str | None:
        values = self._query.get(name)
        return values[-1] if values else None

    def many(self, name: str) -> list[str]:
        # Both `?environment=a&environment=b` and `?environment=a,b` occur in clients.
        return [v for raw in self._query.get(name, ()) for v in raw.split(",") if v]

    def integer(self, name: str, *, default: int, low: int, high: int | None = None) -> int:
        raw = self.one(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise BadRequest(f"{name} must be {bound}")
        return value

    def boolean(self, name: str) -> bool | None:
        raw = self.one(name)
        if raw is None or raw == "":
            return None
        if raw.lower() not in ("true", "false"):
            raise BadRequest(f"{name} must be true or false")
        return raw.lower() == "true"

    def time(self, name: str) -> datetime | None:
        return parse_optional_time(self.one(name), field=name)

    def groups(self, allowed: Sequence[str], default: Sequence[str]) -> set[str]:
        requested = self.many("fields")
        unknown = [g for g in requested if g not in allowed]
        if unknown:
            raise BadRequest(f"Unknown field group(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}")
        return set(requested or default)


def v2_observations(store: Store, args: Args, *, metadata_as_string: bool) -> dict[str, Any]:
    if args.boolean("parseIoAsJson"):
        raise BadRequest(
            "parseIoAsJson is no longer supported: input and output are always returned as "
            "raw strings. Remove the parameter or set it to false."
        )
    if args.one("filter"):
        raise BadRequest("The stand-in does not implement `filter`; use the query parameters.")
    groups = args.groups(render.V2_FIELD_GROUPS, ("core", "basic")) | {"core"}
    limit = args.integer("limit", default=50, low=1, high=1000)
    start, end = args.time("fromStartTime"), args.time("toStartTime")
    environments, is_root = args.many("environment"), args.boolean("isRootObservation")
    exact = {k: args.one(k) for k in ("traceId", "type", "level", "name", "version")}
    parent = args.one("parentObservationId")
    traces = {t.id: t for t in store.traces()}
    user_id, session_id = args.one("userId"), args.one("sessionId")

    def keep(o: StoredObservation) -> bool:
        trace = traces.get(o.trace_id)
        values = {
            "traceId": o.trace_id,
            "type": o.type,
            "level": o.level,
            "name": o.name,
            "version": o.version,
        }
        return (
            all(want is None or values[k] == want for k, want in exact.items())
            and (start is None or o.start_time >= start)
            and (end is None or o.start_time < end)
            and (not environments or o.environment in environments)
            and (is_root is None or o.is_root == is_root)
            and (parent is None or (o.parent_id or "") == parent)
            and (user_id is None or (trace is not None and trace.user_id == user_id))
            and (session_id is None or (trace is not None and trace.session_id == session_id))
        )

    rows = sorted(
        (o for o in store.events() if keep(o)), key=lambda o: (o.start_time, o.trace_id, o.id), reverse=True
    )
    cursor = args.one("cursor")
    if cursor:
        last = decode_cursor(cursor, keys=("lastStartTimeTo", "lastTraceId", "lastId"))
        after = (
            parse_optional_time(last["lastStartTimeTo"], field="cursor"),
            last["lastTraceId"],
            last["lastId"],
        )
        rows = [o for o in rows if (o.start_time, o.trace_id, o.id) < after]
    page, has_more = rows[:limit], len(rows) > limit  # the server fetches limit+1 rows
    meta: dict[str, Any] = {}
    if has_more:
        tail = page[-1]
        meta["cursor"] = encode_cursor(
            {"lastStartTimeTo": tail.start_time.isoformat(), "lastTraceId": tail.trace_id, "lastId": tail.id}
        )
    expand = args.many("expandMetadata")
    data = [
        render.v2_observation(
            o, traces.get(o.trace_id), groups, metadata_as_string=metadata_as_string, expand_metadata=expand
        )
        for o in page
    ]
    return {"data": data, "meta": meta}


def v3_scores(store: Store, args: Args) -> dict[str, Any]:
    limit = args.integer("limit", default=50, low=1, high=100)
    groups = args.groups(render.V3_SCORE_FIELD_GROUPS, ())
    if args.one("observationId") and not args.one("traceId"):
        raise BadRequest("observationId requires traceId")
    lists = {
        key: args.many(param)
        for key, param in (
            ("id", "id"),
            ("name", "name"),
            ("source", "source"),
            ("data_type", "dataType"),
            ("environment", "environment"),
            ("config_id", "configId"),
            ("queue_id", "queueId"),
            ("author_user_id", "authorUserId"),
            ("trace_id", "traceId"),
            ("session_id", "sessionId"),
            ("observation_id", "observationId"),
            ("dataset_run_id", "experimentId"),
        )
    }
    start, end = args.time("fromTimestamp"), args.time("toTimestamp")

    def keep(s: StoredScore) -> bool:
        for key, wanted in lists.items():
            value = getattr(s, key)
            if wanted and (value or "").upper() not in {w.upper() for w in wanted}:
                return False
        return (start is None or s.timestamp >= start) and (end is None or s.timestamp < end)

    rows = sorted((s for s in store.scores() if keep(s)), key=lambda s: (s.timestamp, s.id), reverse=True)
    cursor = args.one("cursor")
    if cursor:
        last = decode_cursor(cursor, keys=("lastTimestamp", "lastId"))
        after = (parse_optional_time(last["lastTimestamp"], field="cursor"), last["lastId"])
        rows = [s for s in rows if (s.timestamp, s.id) < after]
    page, has_more = rows[:limit], len(rows) > limit
    meta: dict[str, Any] = {"limit": limit}
    if has_more:
        tail = page[-1]
        meta["cursor"] = encode_cursor(
            {"lastTimestamp": tail.timestamp.isoformat(), "lastId": tail.id}, urlsafe=True
        )
    return {"data": [render.v3_score(s, groups) for s in page], "meta": meta}
