"""Domain errors to HTTP, in one place."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flywheel.errors import FlywheelError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, FlywheelError):
        body = {"detail": exc.message, "code": type(exc).__name__}
        if exc.hint:
            body["hint"] = exc.hint
        return Response(body, status=exc.http_status)
    return drf_exception_handler(exc, context)
