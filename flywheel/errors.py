"""One domain error hierarchy for the whole service.

Every error a user can cause says what was wrong and what to do. Messages never quote raw
trace content (it may hold PII). The DRF exception handler maps these to HTTP statuses and
``flywheel.management.base`` maps them to exit codes, each in one place.
"""

from __future__ import annotations


class FlywheelError(Exception):
    """Base of every expected failure. ``hint`` tells the user what to do next."""

    exit_code = 1
    http_status = 400

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class ConfigError(FlywheelError):
    """The service or a project is configured wrongly (a missing env var, a bad setting)."""

    exit_code = 78  # EX_CONFIG


class NotFound(FlywheelError):
    exit_code = 66  # EX_NOINPUT
    http_status = 404


class InvalidInput(FlywheelError):
    """A user-supplied value (a file, a label, an argument) is malformed."""

    exit_code = 65  # EX_DATAERR


class SourceError(FlywheelError):
    """A trace source (Langfuse) failed; the run stopped without losing committed work."""

    exit_code = 69  # EX_UNAVAILABLE
    http_status = 502


class SourceAuthError(SourceError):
    """The source rejected our keys (401/403)."""

    exit_code = 77  # EX_NOPERM


class SourceUnreachable(SourceError):
    """The host did not answer, timed out, or kept failing with 5xx after retries."""


class SourceRateLimited(SourceError):
    """The source kept answering 429 after every retry."""

    exit_code = 75  # EX_TEMPFAIL


class SourceProtocolError(SourceError):
    """The source answered with something that is not what its API promises."""


class Conflict(FlywheelError):
    """The action lost a race (a lease expired, a lock is held)."""

    exit_code = 75
    http_status = 409
