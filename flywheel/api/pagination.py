"""The API's pagination: DRF's limit/offset, with the bounds DRF leaves open.

``?limit=`` is capped at :data:`MAX_LIMIT` rows (a client wanting more pages through them), and
an ``?offset=`` past any real table is clipped: DRF passes any integer to the database, where
one over its 64-bit range is a server error (SQLite: "datatype mismatch"), not an empty page.
"""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 1000
MAX_OFFSET = 10**12  # far past any table this service holds, far below the databases' 2**63


class Pagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
