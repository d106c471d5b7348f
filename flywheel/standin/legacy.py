"""The legacy (v1) read endpoints: page-based, deprecated, gone on v4 servers."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from flywheel.standin import render
from flywheel.standin.queries import Args, NotFound
from flywheel.standin.store import PROJECT_ID, Store
from flywheel.standin.wire import BadRequest, format_time

T = TypeVar("T")
TRACE_FIELD_GROUPS = ("core", "io", "scores", "observations", "metrics")
TRACE_ORDER_FIELDS = {
    "id": "id",
    "timestamp": "timestamp",
    "name": "name",
    "userId": "user_id",
    "release": "release",
    "version": "version",
    "public": "public",
    "bookmarked": "bookmarked",
    "sessionId": "session_id",
}


def legacy_traces(store: Store, args: Args) -> dict[str, Any]:
    page, limit = _page_args(args)
    groups = args.groups(TRACE_FIELD_GROUPS, TRACE_FIELD_GROUPS)
    start, end = args.time("fromTimestamp"), args.time("toTimestamp")
    tags, environments = set(args.many("tags")), args.many("environment")
    exact = {
        "user_id": args.one("userId"),
        "name": args.one("name"),
        "session_id": args.one("sessionId"),
        "version": args.one("version"),
        "release": args.one("release"),
    }
    traces = [
        t
        for t in store.traces()
        if all(want is None or getattr(t, k) == want for k, want in exact.items())
        and (start is None or t.timestamp >= start)
        and (end is None or t.timestamp < end)
        and tags.issubset(t.tags)
        and (not environments or t.environment in environments)
    ]
    field, descending = _order_by(args.one("orderBy"))
    traces.sort(key=lambda t: (_sortable(getattr(t, field)), t.id), reverse=descending)
    observations, scores = _by_trace(store.observations()), _by_trace(store.scores())
    data = []
    for trace in _slice(traces, page, limit):
        row = render.legacy_trace(trace, observations.get(trace.id, []), io="io" in groups)
        with_obs, with_scores = "observations" in groups, "scores" in groups
        row["observations"] = [o.id for o in observations.get(trace.id, [])] if with_obs else []
        row["scores"] = [s.id for s in scores.get(trace.id, [])] if with_scores else []
        if "metrics" not in groups:
            row.update(latency=-1, totalCost=-1)
        data.append(row)
    return {"data": data, "meta": _page_meta(page, limit, len(traces)), "_deprecation": render.DEPRECATION}


def legacy_trace(store: Store, trace_id: str) -> dict[str, Any]:
    trace = store.trace(trace_id)
    if trace is None:
        raise NotFound("Trace not found within authorized project")
    observations = sorted(
        (o for o in store.observations() if o.trace_id == trace_id), key=lambda o: (o.start_time, o.id)
    )
    row = render.legacy_trace(trace, observations)
    row["observations"] = [render.legacy_observation(o) for o in observations]
    row["scores"] = [render.legacy_score(s) for s in store.scores() if s.trace_id == trace_id]
    row["_deprecation"] = render.DEPRECATION
    return row


def legacy_observations(store: Store, args: Args) -> dict[str, Any]:
    page, limit = _page_args(args)
    exact = {
        "name": args.one("name"),
        "type": args.one("type"),
        "trace_id": args.one("traceId"),
        "level": args.one("level"),
        "parent_id": args.one("parentObservationId"),
        "version": args.one("version"),
    }
    start, end, environments = args.time("fromStartTime"), args.time("toStartTime"), args.many("environment")
    user_id = args.one("userId")
    users = {t.id: t.user_id for t in store.traces()}
    rows = [
        o
        for o in store.observations()
        if all(want is None or getattr(o, k) == want for k, want in exact.items())
        and (start is None or o.start_time >= start)
        and (end is None or o.start_time < end)
        and (not environments or o.environment in environments)
        and (user_id is None or users.get(o.trace_id) == user_id)
    ]
    rows.sort(key=lambda o: (o.start_time, o.id), reverse=True)
    return {
        "data": [render.legacy_observation(o) for o in _slice(rows, page, limit)],
        "meta": _page_meta(page, limit, len(rows)),
        "_deprecation": render.DEPRECATION,
    }


def legacy_sessions(store: Store, args: Args) -> dict[str, Any]:
    page, limit = _page_args(args)
    start, end, environments = args.time("fromTimestamp"), args.time("toTimestamp"), args.many("environment")
    first: dict[str, Any] = {}
    for trace in sorted(store.traces(), key=lambda t: t.timestamp):
        if trace.session_id and trace.session_id not in first:
            first[trace.session_id] = trace
    sessions = [
        {
            "id": sid,
            "createdAt": format_time(t.timestamp),
            "projectId": PROJECT_ID,
            "environment": t.environment,
        }
        for sid, t in first.items()
        if (start is None or t.timestamp >= start)
        and (end is None or t.timestamp < end)
        and (not environments or t.environment in environments)
    ]
    sessions.sort(key=lambda s: s["createdAt"], reverse=True)
    return {
        "data": _slice(sessions, page, limit),
        "meta": _page_meta(page, limit, len(sessions)),
        "_deprecation": render.DEPRECATION,
    }


def score_configs(store: Store, args: Args) -> dict[str, Any]:
    page, limit = _page_args(args)
    configs = sorted(store.configs(), key=lambda c: c.created_at, reverse=True)
    return {
        "data": [render.score_config(c) for c in _slice(configs, page, limit)],
        "meta": _page_meta(page, limit, len(configs)),
    }


def _page_args(args: Args) -> tuple[int, int]:
    return args.integer("page", default=1, low=1), args.integer("limit", default=50, low=1, high=100)


def _page_meta(page: int, limit: int, total: int) -> dict[str, int]:
    return {"page": page, "limit": limit, "totalItems": total, "totalPages": math.ceil(total / limit)}


def _slice(rows: list[T], page: int, limit: int) -> list[T]:
    return rows[(page - 1) * limit : page * limit]


def _order_by(raw: str | None) -> tuple[str, bool]:
    if not raw:
        return "timestamp", True
    field, _, direction = raw.partition(".")
    if field not in TRACE_ORDER_FIELDS or direction not in ("asc", "desc"):
        fields = ", ".join(TRACE_ORDER_FIELDS)
        raise BadRequest(f"orderBy must be <field>.<asc|desc> with field one of {fields}")
    return TRACE_ORDER_FIELDS[field], direction == "desc"


def _sortable(value: Any) -> tuple[bool, Any]:
    # None sorts first and never meets a str/datetime in a comparison.
    return (value is not None, value if value is not None else 0)


def _by_trace(rows: Collection[T], key: Callable[[Any], Any] = lambda r: r.trace_id) -> dict[str, list[T]]:
    grouped: dict[str, list[T]] = {}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return grouped
