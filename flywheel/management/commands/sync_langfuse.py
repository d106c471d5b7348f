from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from flywheel.errors import NotFound
from flywheel.ingest.runs import summary_line
from flywheel.ingest.sync import sync_langfuse
from flywheel.management.base import FlywheelCommand, parse_when
from flywheel.models import TraceSource

NO_SOURCE = "No trace source named '{name}'."
NO_SOURCE_HINT = (
    "Known sources: {known}. Add one in the admin (Trace sources) or with `manage.py langfuse_source add`."
)


class Command(FlywheelCommand):
    help = "Read new traces, observations and scores from a Langfuse source; scrub PII; store them."
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--source", required=True, help="Name of the trace source.")
        parser.add_argument(
            "--since", help="Start (ISO 8601). Default: the source's watermark minus the overlap."
        )
        parser.add_argument("--until", help="End, exclusive (ISO 8601). Default: now.")

    def run(self, *args: Any, **options: Any) -> None:
        source = TraceSource.objects.select_related("project").filter(name=options["source"]).first()
        if source is None:
            known = ", ".join(TraceSource.objects.values_list("name", flat=True)) or "none"
            raise NotFound(NO_SOURCE.format(name=options["source"]), hint=NO_SOURCE_HINT.format(known=known))
        run = sync_langfuse(
            source=source,
            since=parse_when(options.get("since"), flag="--since"),
            until=parse_when(options.get("until"), flag="--until"),
            progress=self.progress_enabled(options),
        )
        self.stdout.write(summary_line(run))
