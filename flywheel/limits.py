"""Request limits, checked before any view (or DRF's parsers) reads the body.

Django enforces ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` or ``request.POST``
is read; DRF's JSON parser reads the stream itself and never meets it. This middleware refuses,
from the declared ``Content-Length``, a body over the limit (multipart uploads to the API have
their own, larger one: their files stream to disk) and a query string over
``settings.MAX_QUERY_STRING_BYTES``, with 413 / 414 and a message that says what to do. Nothing
has been read or written by then.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

BODY_TOO_BIG = (
    "The request body is {size:,} bytes; the server accepts at most {limit:,} bytes in one body. "
    "Send less at a time, or send a file as a multipart upload."
)
UPLOAD_TOO_BIG = (
    "The upload is {size:,} bytes; the server accepts at most {limit:,} bytes. "
    "Split the file, or run the matching manage.py command on the server."
)
QUERY_TOO_LONG = (
    "The query string is {size:,} bytes; the server accepts at most {limit:,}. Use fewer or shorter filters."
)
BAD_LENGTH = "The Content-Length header is not a number of bytes."


def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "RequestTooLarge"}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RequestLimits:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = len(request.META.get("QUERY_STRING", "").encode("latin-1", "replace"))
        if query > settings.MAX_QUERY_STRING_BYTES:
            limit = settings.MAX_QUERY_STRING_BYTES
            return _refuse(request, 414, QUERY_TOO_LONG.format(size=query, limit=limit))
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(request, 400, BAD_LENGTH)
        # Files are uploaded only through the API (annotations import); a page's form is fields only.
        multipart = request.path.startswith("/api/") and request.META.get("CONTENT_TYPE", "").startswith(
            "multipart/form-data"
        )
        limit = settings.MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if size > limit:
            message = UPLOAD_TOO_BIG if multipart else BODY_TOO_BIG
            return _refuse(request, 413, message.format(size=size, limit=limit))
        return self.get_response(request)
