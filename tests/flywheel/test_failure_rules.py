"""Failure rules in the service: YAML in and out, evaluation over stored traces, idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from flywheel.admin import FailureRuleForm
from flywheel.models import Failure, FailureRule, Observation, Score
from flywheel.services.rules import failures_evaluate
from tests.factories import ProjectFactory, SourceFactory, TraceFactory

pytestmark = pytest.mark.django_db

RULES = """\
rules:
  - name: thumbs-down
    score: {name: user-feedback, op: "<", value: 1}
  - name: broken-json
    description: Extraction answers must be JSON.
    all:
      - tag: extraction
      - output_not_json: true
  - name: errored
    level: ERROR
"""


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("failure_rules", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def conversation(answer: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": "Order 2 mugs to <LOCATION_1>"},
        {"role": "assistant", "content": answer},
    ]


@pytest.fixture
def project(tmp_path):
    project = ProjectFactory(name="acme")
    source = SourceFactory(project=project)
    unhappy = TraceFactory(source=source, external_id="unhappy", conversation=conversation("No."))
    Score.objects.create(trace=unhappy, external_id="s1", name="user-feedback", value=0)
    extraction = {"source": source, "tags": ["extraction"]}
    TraceFactory(**extraction, external_id="broken", conversation=conversation('{"sku": '))
    TraceFactory(**extraction, external_id="fine-json", conversation=conversation("{}"))
    crashed = TraceFactory(source=source, external_id="crashed", conversation=conversation("..."))
    Observation.objects.create(trace=crashed, external_id="o1", level="ERROR")
    TraceFactory(source=source, external_id="fine", conversation=conversation("Done."))
    (tmp_path / "rules.yaml").write_text(RULES)
    return project


def fired() -> dict[str, list[str]]:
    return dict(Failure.objects.filter(active=True).values_list("trace__external_id", "rules"))


def test_rules_load_from_yaml_and_dump_back_to_the_same_rules(project, tmp_path):
    code, out, _ = call("load", str(tmp_path / "rules.yaml"), "--project", "acme")
    assert code == 0 and "3 added" in out
    assert list(FailureRule.objects.values_list("name", flat=True)) == [
        "thumbs-down",
        "broken-json",
        "errored",
    ]
    code, dumped, _ = call("dump", "--project", "acme")
    (tmp_path / "again.yaml").write_text(dumped)
    code, out, _ = call("load", str(tmp_path / "again.yaml"), "--project", "acme")
    assert "0 added, 0 changed, 0 removed" in out


def test_each_flagged_trace_records_exactly_the_rules_that_fired(project, tmp_path):
    call("load", str(tmp_path / "rules.yaml"), "--project", "acme")
    result = failures_evaluate(project=project)
    expected = {"unhappy": ["thumbs-down"], "broken": ["broken-json"], "crashed": ["errored"]}
    assert fired() == expected
    assert (result.traces, result.flagged, result.new) == (5, 3, 3)


def test_re_evaluating_is_idempotent_and_follows_a_rule_change(project, tmp_path):
    call("load", str(tmp_path / "rules.yaml"), "--project", "acme")
    failures_evaluate(project=project)
    again = failures_evaluate(project=project)
    assert (again.new, again.changed, again.cleared) == (0, 0, 0)

    (tmp_path / "fewer.yaml").write_text(RULES.split("  - name: errored")[0])
    _, out, _ = call("load", str(tmp_path / "fewer.yaml"), "--project", "acme")
    assert "1 removed" in out
    after = failures_evaluate(project=project)
    assert (after.new, after.changed, after.cleared) == (0, 0, 1)
    assert set(fired()) == {"unhappy", "broken"}
    assert Failure.objects.get(trace__external_id="crashed").active is False  # kept, for history


def test_an_invalid_rules_file_exits_65_naming_the_rule_and_field_and_changes_nothing(project, tmp_path):
    (tmp_path / "bad.yaml").write_text('rules:\n  - name: slow\n    latency_ms: {op: "=>", value: 5}\n')
    code, _, err = call("load", str(tmp_path / "bad.yaml"), "--project", "acme")
    assert code == 65
    assert "rule 'slow'" in err and "op" in err
    assert FailureRule.objects.count() == 0


def test_the_admin_form_refuses_an_invalid_rule_with_the_engines_message(project):
    data = {"project": project.pk, "name": "leak", "position": 0}
    form = FailureRuleForm(data={**data, "definition": '{"output_regex": "(a+)+"}'})
    assert not form.is_valid()
    assert "leak" in str(form.errors)
    ok = FailureRuleForm(data={**data, "definition": '{"output_regex": "lives at"}'})
    assert ok.is_valid(), ok.errors
