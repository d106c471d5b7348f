"""Failure rules: stored per project, loaded from / dumped to YAML, evaluated over traces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from flywheel.models import Failure, FailureRule, Project, Trace
from flywheel.rules import RuleSet, evaluate, facts_from, load_rules, rules_to_data

RULE_KEYS = ("name", "description", "enabled")


def rule_data(rule: FailureRule) -> dict[str, Any]:
    data: dict[str, Any] = {"name": rule.name, **rule.definition}
    if rule.description:
        data["description"] = rule.description
    if not rule.enabled:
        data["enabled"] = False
    return data


def ruleset_for(project: Project) -> RuleSet:
    """The project's rules, validated as a whole (raises InvalidRules naming every problem)."""
    return load_rules({"rules": [rule_data(rule) for rule in project.failure_rules.all()]})


@dataclass(frozen=True)
class RulesReplaced:
    added: list[str]
    changed: list[str]
    removed: list[str]


@transaction.atomic
def rules_replace(*, project: Project, ruleset: RuleSet) -> RulesReplaced:
    """Makes the stored rules equal to ``ruleset`` (a YAML file in git is the source of truth)."""
    existing = {rule.name: rule for rule in project.failure_rules.all()}
    added, changed = [], []
    for position, data in enumerate(rules_to_data(ruleset)["rules"]):
        fields = {
            "description": data.get("description", ""),
            "enabled": data.get("enabled", True),
            "definition": {k: v for k, v in data.items() if k not in RULE_KEYS},
            "position": position,
        }
        rule = existing.pop(data["name"], None)
        if rule is None:
            FailureRule.objects.create(project=project, name=data["name"], **fields)
            added.append(data["name"])
        elif any(getattr(rule, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(rule, key, value)
            rule.save()
            changed.append(data["name"])
    FailureRule.objects.filter(pk__in=[rule.pk for rule in existing.values()]).delete()
    return RulesReplaced(added=added, changed=changed, removed=sorted(existing))


@dataclass
class Evaluation:
    traces: int = 0
    flagged: int = 0
    new: int = 0
    changed: int = 0
    cleared: int = 0


def failures_evaluate(
    *, project: Project, chunk_size: int = 500, progress: Callable[[int], None] | None = None
) -> Evaluation:
    """Runs the rules over every trace; idempotent (same rules, same traces: nothing changes)."""
    ruleset = ruleset_for(project)
    outcome = Evaluation()
    last_pk = 0
    while True:
        traces = list(
            Trace.objects.filter(project=project, pk__gt=last_pk)
            .order_by("pk")
            .prefetch_related("observations", "scores")[:chunk_size]
        )
        if not traces:
            return outcome
        last_pk = traces[-1].pk
        with transaction.atomic():
            _evaluate_chunk(project, ruleset, traces, outcome)
        if progress:
            progress(len(traces))


def _evaluate_chunk(project: Project, ruleset: RuleSet, traces: list[Trace], outcome: Evaluation) -> None:
    failures = {f.trace_id: f for f in Failure.objects.filter(trace__in=traces)}
    to_create, to_update = [], []
    for trace in traces:
        outcome.traces += 1
        fired = evaluate(ruleset, facts_from(trace, trace.observations.all(), trace.scores.all()))
        failure = failures.get(trace.pk)
        if fired:
            outcome.flagged += 1
        if failure is None:
            if fired:
                to_create.append(Failure(project=project, trace=trace, rules=fired))
                outcome.new += 1
        elif fired and (failure.rules != fired or not failure.active):
            failure.rules, failure.active = fired, True
            to_update.append(failure)
            outcome.changed += 1
        elif not fired and failure.active:
            failure.active = False  # its rules stay: what fired last, for the history
            to_update.append(failure)
            outcome.cleared += 1
    Failure.objects.bulk_create(to_create)
    Failure.objects.bulk_update(to_update, ["active", "rules", "evaluated_at"])
