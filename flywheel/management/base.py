"""The one place where domain errors become exit codes and a message on stderr."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from flywheel.errors import FlywheelError, InvalidInput

DATABASE_FAILED = (
    "error: the database failed or the connection to it was lost ({kind}). Work committed before it "
    "is kept; once the database is reachable again, re-run the same command to continue."
)
BAD_TIME = "{flag} must be an ISO 8601 date or time (e.g. 2026-11-01 or 2026-11-01T06:00:00Z), got '{value}'."


def lower_priority() -> int:
    """Makes this process (and what it starts) at least ``settings.BATCH_NICENESS`` nice; returns it.

    Batch work (Presidio, embeddings, exports) then takes the CPU the web workers leave, on a
    shared host: a sync beside 20 annotators cost their next-task a doubled p95 at normal priority.
    """
    wanted = settings.BATCH_NICENESS
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if wanted > current:
        os.setpriority(os.PRIO_PROCESS, 0, wanted)
    return os.getpriority(os.PRIO_PROCESS, 0)


class FlywheelCommand(BaseCommand):
    """Subclasses implement ``run(**options)``; errors map to exit codes here, once.

    ``batch = True``: long CPU-heavy work, run at a lower priority (:func:`lower_priority`).
    """

    batch = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="No progress bar (it is off anyway when stderr is no tty).",
        )

    def progress_enabled(self, options: dict[str, Any]) -> bool:
        return not options.get("no_progress") and sys.stderr.isatty()

    def handle(self, *args: Any, **options: Any) -> None:
        if self.batch:
            lower_priority()
        try:
            self.run(*args, **options)
        except FlywheelError as exc:
            self.stderr.write(f"error: {exc.message}")
            if exc.hint:
                self.stderr.write(f"hint: {exc.hint}")
            sys.exit(exc.exit_code)
        except CommandError:
            raise
        except (OperationalError, InterfaceError) as exc:
            if options.get("traceback"):
                raise
            # A restarted or unreachable server is worth a retry, not a bug report (70).
            self.stderr.write(DATABASE_FAILED.format(kind=type(exc).__name__))
            sys.exit(75)  # EX_TEMPFAIL
        except Exception as exc:
            if options.get("traceback"):
                raise
            # The message of an unexpected error may quote raw data; print only its type.
            self.stderr.write(
                f"error: unexpected {type(exc).__name__}. Work committed before it is kept; "
                "re-run the same command to continue, or add --traceback to see where it failed."
            )
            sys.exit(70)  # EX_SOFTWARE

    def run(self, *args: Any, **options: Any) -> None:
        raise NotImplementedError


def parse_when(value: str | None, *, flag: str) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    parsed = parse_datetime(text) or parse_datetime(f"{text}T00:00:00")
    if parsed is None:
        raise InvalidInput(BAD_TIME.format(flag=flag, value=value[:40]))
    return make_aware(parsed) if is_naive(parsed) else parsed
