"""Bulk rows into a Django model's table with PostgreSQL ``COPY`` (psycopg), columns from ``_meta``.

Django's field defaults live in Python, not in the database, so a row here is the fields the caller
gives plus every other concrete field's default (``auto_now`` fields get the build time). Ids are
given by the caller, so related rows can point at each other without a round trip; the table's id
sequence is moved past them at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models


class Table:
    """``Table(Trace, ["id", "project_id", ...]).copy(rows)`` writes tuples in that field order."""

    def __init__(self, model: type[models.Model], given: Sequence[str], *, now: datetime) -> None:
        self.model = model
        fields = list(model._meta.concrete_fields)
        by_name = {f.attname: f for f in fields}
        unknown = [name for name in given if name not in by_name]
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {unknown}")
        self.given = list(given)
        self.rest = [f for f in fields if f.attname not in given]
        self.columns = [by_name[name].column for name in self.given] + [f.column for f in self.rest]
        self.tail = tuple(_default(f, now) for f in self.rest)

    def copy(self, rows: Iterable[Sequence[Any]], *, progress: Any = None) -> int:
        table = self.model._meta.db_table
        cols = ", ".join(f'"{c}"' for c in self.columns)
        n = 0
        connection.ensure_connection()
        with connection.connection.cursor() as raw, raw.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row((*row, *self.tail))
                n += 1
                if progress is not None and n % 10_000 == 0:
                    progress.update(10_000)
        if progress is not None:
            progress.update(n % 10_000)
        return n


def _default(field: models.Field, now: datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if isinstance(field, models.ForeignKey) or (field.null and not field.has_default()):
        return None
    value = field.get_default()
    if isinstance(field, models.JSONField):
        return json.dumps(value)
    return value


def move_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
        )


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
