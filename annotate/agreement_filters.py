"""The filters of the agreement dashboard, its API and its CSV downloads, read from query parameters.

Plain Python: a Django ``QueryDict`` (repeated parameters) or a plain mapping both work.

    ?field=verdict&sop=2,3&cluster=C12&from=2026-03-01&to=2026-03-31

``from`` and ``to`` are dates (UTC days, both inclusive) or ISO 8601 times (``from`` inclusive,
``to`` exclusive). Every bad value is refused with a message that says what is expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flywheel.errors import InvalidInput

BAD_SOP = "sop takes SOP version numbers such as 3 or 2,3; got {value!r}."
BAD_CLUSTER = "cluster takes cluster numbers such as C12 or 12; got {value!r}."
BAD_FIELD_NAME = "field takes a field name of the label schema such as verdict; got {value!r}."
BAD_TIME = "{name} takes a date (2026-03-01) or an ISO 8601 time (2026-03-01T06:00:00Z); got {value!r}."
EMPTY_WINDOW = "The time window is empty: 'from' ({since}) is not before 'to' ({until})."


@dataclass(frozen=True)
class AgreementFilters:
    """Which annotations count. Empty tuples and None mean "no restriction"."""

    fields: tuple[str, ...] = ()
    sop_versions: tuple[int, ...] = ()
    clusters: tuple[int, ...] = ()  # cluster numbers (C12 -> 12)
    since: datetime | None = None  # submitted at or after
    until: datetime | None = None  # submitted before

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "sop_versions": list(self.sop_versions),
            "clusters": list(self.clusters),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }

    def query(self, *, field: str | None = None) -> dict[str, str]:
        """Query parameters that give these filters back (for links and download URLs)."""
        params = {
            "field": field if field is not None else ",".join(self.fields),
            "sop": ",".join(map(str, self.sop_versions)),
            "cluster": ",".join(f"C{n}" for n in self.clusters),
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in params.items() if value}

    def without_fields(self) -> AgreementFilters:
        return AgreementFilters((), self.sop_versions, self.clusters, self.since, self.until)


def agreement_filters(params: Mapping[str, Any]) -> AgreementFilters:
    """Filters from query parameters: ``field``, ``sop``, ``cluster``, ``from`` (or ``since``), ``to``
    (or ``until``)."""
    fields = tuple(dict.fromkeys(_field_name(v) for v in _values(params, "field")))
    sops = tuple(sorted({_number(v, BAD_SOP) for v in _values(params, "sop")}))
    clusters = tuple(
        sorted({_number(v.upper().removeprefix("C"), BAD_CLUSTER, v) for v in _values(params, "cluster")})
    )
    since = _time(_first(params, "from", "since"), "from", end_of_day=False)
    until = _time(_first(params, "to", "until"), "to", end_of_day=True)
    if since is not None and until is not None and since >= until:
        raise InvalidInput(EMPTY_WINDOW.format(since=since.isoformat(), until=until.isoformat()))
    return AgreementFilters(fields, sops, clusters, since, until)


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    """Every value of a parameter, repeated (``?sop=2&sop=3``) or comma-separated (``?sop=2,3``)."""
    getlist = getattr(params, "getlist", None)
    raw = getlist(name) if getlist is not None else params.get(name)
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def _first(params: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        values = _values(params, name)
        if values:
            return values[0]
    return None


def _number(text: str, message: str, shown: str | None = None) -> int:
    if not text.isdigit():
        raise InvalidInput(message.format(value=(shown or text)[:40]))
    return int(text)


def _field_name(text: str) -> str:
    if not text.replace("_", "").isalnum() or len(text) > 64:
        raise InvalidInput(BAD_FIELD_NAME.format(value=text[:40]))
    return text


def _time(text: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time.min, tzinfo=UTC)
            return start + timedelta(days=1) if end_of_day else start  # a whole day: 'to' is inclusive
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(BAD_TIME.format(name=name, value=text[:40])) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
