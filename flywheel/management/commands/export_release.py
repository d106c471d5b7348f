"""python manage.py export_release --project NAME [--out DIR] [--force] [--dry-run] [filters]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from flywheel.export.records import parse_query
from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand
from flywheel.paths import output_dir
from flywheel.services.export import release_dry_run, release_publish


class Command(FlywheelCommand):
    help = (
        "Build the project's next export release from its final labels (SFT + DPO for TRL, Alpaca + "
        "dataset_info.json for LLaMA-Factory, manifest, data card), check it (minimum size, JSON and "
        "schema of golden answers, PII re-scan, leaks) and publish it atomically."
    )
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", required=True)
        parser.add_argument("--out", metavar="DIR", help="Parent directory (default: DATA_DIR/releases).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Publish below the minimum sample count (other checks still apply).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Run every check; write no release.")
        parser.add_argument("--since", help="Only labels decided at or after this date/time (ISO 8601).")
        parser.add_argument("--until", help="Only labels decided before this date/time (ISO 8601).")
        parser.add_argument("--clusters", help="Comma-separated clusters, e.g. C3,C12 ('none': unclustered).")
        parser.add_argument("--sample-types", help="Comma-separated sample types, e.g. golden,boundary.")
        parser.add_argument("--sop-versions", help="Comma-separated SOP versions, e.g. 2,3.")
        parser.add_argument(
            "--no-pii-cache",
            action="store_true",
            help="Re-scan every text, even those a scrubber of the same configuration found clean before.",
        )

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False)
        query = parse_query(
            since=options.get("since"),
            until=options.get("until"),
            clusters=options.get("clusters"),
            sample_types=options.get("sample_types"),
            sop_versions=options.get("sop_versions"),
        )
        common = {
            "project": project,
            "out_dir": output_dir(options["out"], what="--out directory") if options.get("out") else None,
            "force": options["force"],
            "query": query,
            "progress": self.progress_enabled(options),
            "pii_cache": not options["no_pii_cache"],
        }
        result = release_dry_run(**common) if options["dry_run"] else release_publish(user=None, **common)
        self.stdout.write(result.summary())
