"""python manage.py augment --project NAME --recipe FILE.yaml [--round N]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.urls import reverse

from annotate.augment.recipe import load_recipe
from annotate.services.augment import augment_run, seeds_select
from annotate.services.augment_build import run_summary
from flywheel.ingest.batching import progress_bar
from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand


class Command(FlywheelCommand):
    help = (
        "Expand reviewed seeds into variants with a recipe (fixtures/demo_recipe.yaml is an example). "
        "Variants wait for a lead's review; re-running the same recipe and round adds nothing twice. "
        "Exits non-zero only for a bad recipe or project, never because variants were dropped."
    )
    batch = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--project", required=True)
        parser.add_argument("--recipe", required=True, metavar="FILE.yaml")
        parser.add_argument("--round", type=int, default=1, help="augment_round of the variants (default 1).")

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False)
        recipe = load_recipe(options["recipe"])
        selected = seeds_select(project=project, selection=recipe.select).count()
        total = min(selected, recipe.select.limit) if recipe.select.limit else selected
        bar = progress_bar(desc="seeds", enabled=self.progress_enabled(options), unit="seed")
        bar.total = total
        with bar:
            run = augment_run(project=project, recipe=recipe, round=options["round"], progress=bar.update)
        self.stdout.write(run_summary(run))
        self.stdout.write(f"review them at {reverse('augment-run', args=[project.pk, run.pk])}")
