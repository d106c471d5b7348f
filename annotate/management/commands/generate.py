"""python manage.py generate --project NAME --generator DOTTED.PATH --count N [--params FILE] [--seed N]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.urls import reverse

from annotate.labeling.serialize import read_document
from annotate.services.augment import generate_run
from annotate.services.augment_build import run_summary
from flywheel.errors import InvalidInput, NotFound
from flywheel.ingest.batching import progress_bar
from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand

NO_PARAMS_FILE = "No params file at {path}."
BAD_PARAMS_FILE = "The params file {path}: {problem}"


class Command(FlywheelCommand):
    help = (
        "Generate rule-based training rows with a generator plug-in (see annotate/augment/programmatic.py; "
        "example: fixtures.generators.order_extraction:OrderExtraction). Valid, new rows wait for a lead's "
        "review. Exits non-zero only for a bad generator, params or project, never because rows were dropped."
    )
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", required=True)
        parser.add_argument("--generator", required=True, metavar="DOTTED.PATH", help="package.module:Name")
        parser.add_argument("--count", type=int, required=True, help="How many pairs to draw.")
        parser.add_argument("--params", metavar="FILE.yaml", help="The generator's params (a mapping).")
        parser.add_argument("--seed", type=int, default=0, help="Random seed (same seed, same pairs).")

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False)
        params = _params(options.get("params"))
        bar = progress_bar(desc="pairs", enabled=self.progress_enabled(options), unit="pair")
        bar.total = options["count"]
        with bar:
            run = generate_run(
                project=project,
                generator=options["generator"],
                count=options["count"],
                params=params,
                seed=options["seed"],
                progress=bar.update,
            )
        self.stdout.write(run_summary(run))
        self.stdout.write(f"review them at {reverse('augment-run', args=[project.pk, run.pk])}")


def _params(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    file = Path(path)
    if not file.is_file():
        raise NotFound(NO_PARAMS_FILE.format(path=file))
    try:
        data = read_document(file.read_text(encoding="utf-8"), what="params file")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(BAD_PARAMS_FILE.format(path=file, problem=error)) from None
    if not isinstance(data, dict):
        raise InvalidInput(BAD_PARAMS_FILE.format(path=file, problem="it must be a mapping of params"))
    return data
