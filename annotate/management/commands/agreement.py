from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from annotate.agreement import agreement_from_csv
from flywheel.management.base import FlywheelCommand

LEVELS = ("nominal", "ordinal", "interval", "ratio")


class Command(FlywheelCommand):
    help = (
        "Agreement statistics of a ratings table in long form (item,annotator,value; an empty value is "
        "missing), printed as JSON: the same computation as the leads' dashboard."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--csv", required=True, metavar="FILE")
        parser.add_argument(
            "--field", required=True, help="The field's name (rows may carry a field column)."
        )
        parser.add_argument("--level", required=True, choices=LEVELS)
        parser.add_argument("--categories", help="Comma-separated category order (ordinal text values).")
        parser.add_argument("--bootstrap", type=int, default=200, help="Resamples for the 95%% CI of alpha.")
        parser.add_argument("--seed", type=int, default=0)

    def run(self, *args: Any, **options: Any) -> None:
        categories = (
            [c.strip() for c in options["categories"].split(",")] if options.get("categories") else None
        )
        report = agreement_from_csv(
            options["csv"],
            field=options["field"],
            level=options["level"],
            categories=categories,
            bootstrap=options["bootstrap"],
            seed=options["seed"],
        )
        self.stdout.write(json.dumps(report, indent=2, allow_nan=False))
