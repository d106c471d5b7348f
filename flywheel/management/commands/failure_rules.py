from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from flywheel.errors import NotFound
from flywheel.ingest.importing import resolve_project
from flywheel.management.base import FlywheelCommand
from flywheel.rules import dump_rules, load_rules
from flywheel.services.rules import rules_replace, ruleset_for

NO_FILE = "No such rules file: {path}"


class Command(FlywheelCommand):
    help = "Load a project's failure rules from a YAML file (replacing them), or dump them as YAML."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="Replace the project's rules with the file's.")
        load.add_argument("file")
        load.add_argument("--project", required=True)
        dump = sub.add_parser("dump", help="Print the project's rules as YAML.")
        dump.add_argument("--project", required=True)

    def run(self, *args: Any, **options: Any) -> None:
        project = resolve_project(options["project"], create=False)
        if options["action"] == "dump":
            self.stdout.write(dump_rules(ruleset_for(project)), ending="")
            return
        path = Path(options["file"])
        if not path.is_file():
            raise NotFound(NO_FILE.format(path=path))
        result = rules_replace(project=project, ruleset=load_rules(path.read_text(encoding="utf-8")))
        self.stdout.write(
            f"rules of '{project.name}': {len(result.added)} added, {len(result.changed)} changed, "
            f"{len(result.removed)} removed. Run `manage.py cluster_failures --project {project.name}` "
            "to re-evaluate."
        )
