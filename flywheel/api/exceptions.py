"""Domain errors to HTTP, in one place."""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flywheel.errors import FlywheelError

log = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = (
    "The database is unavailable or the connection to it was lost; the request did not complete."
)
DATABASE_UNAVAILABLE_HINT = (
    "Try again in a moment. If you were submitting an answer, submit it again: an unfinished submit "
    "saves nothing."
)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, FlywheelError):
        body = {"detail": exc.message, "code": type(exc).__name__}
        if exc.hint:
            body["hint"] = exc.hint
        return Response(body, status=exc.http_status)
    if isinstance(exc, OperationalError | InterfaceError):
        # A restarted or unreachable database: the client should retry, not see a 500 page. Only the
        # type is logged; the driver's message can quote the query's values.
        log.error(
            "database unavailable during %s: %s",
            getattr(context.get("request"), "path", "?"),
            type(exc).__name__,
        )
        body = {
            "detail": DATABASE_UNAVAILABLE,
            "hint": DATABASE_UNAVAILABLE_HINT,
            "code": "DatabaseUnavailable",
        }
        return Response(body, status=503, headers={"Retry-After": "5"})
    return drf_exception_handler(exc, context)
