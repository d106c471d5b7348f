from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser

from flywheel.errors import InvalidInput
from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand, parse_when
from flywheel.models import TraceSource


class Command(FlywheelCommand):
    help = "Add or list Langfuse API sources. The secret key stays in an environment variable."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Add a source (or update the one with that name).")
        add.add_argument("--project", required=True)
        add.add_argument("--name", required=True)
        add.add_argument("--base-url", default="https://cloud.langfuse.com")
        add.add_argument("--public-key", required=True)
        add.add_argument("--secret-key-env", default="LANGFUSE_SECRET_KEY", help="NAME of the env var.")
        add.add_argument("--since", help="Where the first sync starts (ISO 8601).")
        add.add_argument("--create-project", action="store_true")
        sub.add_parser("list", help="List sources with their watermark.")

    def run(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for source in TraceSource.objects.select_related("project"):
                mark = source.watermark.isoformat() if source.watermark else "never synced"
                self.stdout.write(
                    f"{source.name}\t{source.project.name}\t{source.kind}\t{source.base_url}\t{mark}"
                )
            return
        project = resolve_project(options["project"], create=options["create_project"])
        source = TraceSource.objects.filter(name=options["name"]).first() or TraceSource(name=options["name"])
        source.project = project
        source.kind = TraceSource.Kind.LANGFUSE
        source.base_url = options["base_url"]
        source.public_key = options["public_key"]
        source.secret_key_env = options["secret_key_env"]
        source.initial_since = parse_when(options.get("since"), flag="--since")
        try:
            source.full_clean()
        except ValidationError as exc:
            raise InvalidInput(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        source.save()
        self.stdout.write(f"source '{source.name}' of project '{project.name}' saved")
