"""manage.py augment / generate: summaries with counts per drop reason; non-zero exit only for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.models import AugmentRun, Sample
from tests.commands import run_command as command

pytestmark = pytest.mark.django_db
DEMO_RECIPE = Path(__file__).resolve().parents[3] / "fixtures" / "demo_recipe.yaml"
GENERATOR = "fixtures.generators.order_extraction:OrderExtraction"


def test_augment_runs_the_demo_recipe_and_prints_what_it_did(world, fast_stack):
    project, _, seeds = world
    code, out, err = command("augment", "--project", "shop", "--recipe", str(DEMO_RECIPE))
    run = AugmentRun.objects.get()
    assert code == 0 and err == ""
    counts = run.counts
    assert out.splitlines()[0] == (
        f"run {run.pk} (recipe demo-clone-generalisation, round 1) succeeded: {counts['seeds']} seeds, "
        f"{counts['attempted']} candidates; {counts['proposed']} proposed for review, 0 already there, "
        f"{sum(counts['dropped'].values())} dropped"
    )
    assert "  dropped: " + ", ".join(f"{r} {n}" for r, n in sorted(counts["dropped"].items())) in out
    assert f"review them at /projects/{project.pk}/augment/runs/{run.pk}/" in out
    assert (
        counts["seeds"] == len(seeds) and Sample.objects.filter(augment_run=run).count() == counts["proposed"]
    )


def test_augment_run_again_is_safe_and_a_round_can_be_chosen(world, fast_stack):
    command("augment", "--project", "shop", "--recipe", str(DEMO_RECIPE))
    first = AugmentRun.objects.get()
    code, out, _ = command("augment", "--project", "shop", "--recipe", str(DEMO_RECIPE))
    assert code == 0 and f"0 proposed for review, {first.counts['proposed']} already there" in out
    code, out, _ = command("augment", "--project", "shop", "--recipe", str(DEMO_RECIPE), "--round", "2")
    assert code == 0 and "round 2" in out and ", 0 already there" in out


def test_a_bad_recipe_exits_65_and_lists_every_problem(world, fast_stack, tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("name: x\nvariants:\n  - nosie\n  - {transform: tone, count: 0}\n")
    code, out, err = command("augment", "--project", "shop", "--recipe", str(recipe))
    assert code == 65 and out == ""
    assert "2 problems in the recipe:" in err and "variants[0].transform: 'nosie' is not a transform" in err
    assert "variants[1].count: must be a whole number from 1 to 8 (got 0)" in err
    assert "hint: Fix the listed keys" in err and not AugmentRun.objects.exists()


def test_a_missing_file_or_project_exits_66(world, fast_stack, tmp_path):
    assert command("augment", "--project", "shop", "--recipe", str(tmp_path / "none.yaml"))[0] == 66
    assert command("augment", "--project", "nope", "--recipe", str(DEMO_RECIPE))[0] == 66


def test_a_paraphrase_recipe_without_an_endpoint_exits_78_before_anything_runs(
    world, fast_stack, tmp_path, settings
):
    settings.PARAPHRASE_BASE_URL = ""
    recipe = tmp_path / "p.yaml"
    recipe.write_text("name: p\nvariants: [paraphrase]\n")
    code, _, err = command("augment", "--project", "shop", "--recipe", str(recipe))
    assert code == 78 and "no paraphrase endpoint is configured" in err and "PARAPHRASE_BASE_URL" in err
    assert not AugmentRun.objects.exists()


def test_a_failing_paraphrase_endpoint_drops_variants_but_the_command_succeeds(
    world, fast_stack, tmp_path, settings, monkeypatch
):
    from annotate.augment.standin import ChatStandin

    recipe = tmp_path / "p.yaml"
    recipe.write_text("name: p\nvariants: [{transform: paraphrase, count: 2}]\n")
    with ChatStandin(api_key="sk-cmd") as chat:
        settings.PARAPHRASE_BASE_URL, settings.PARAPHRASE_MODEL = chat.base_url, "standin"
        settings.PARAPHRASE_API_KEY_ENV, settings.PARAPHRASE_TIMEOUT = "TEST_PARAPHRASE_KEY", 1.5
        monkeypatch.setenv("TEST_PARAPHRASE_KEY", "sk-cmd")
        chat.faults.push("timeout", count=3, seconds=3)
        chat.faults.push("malformed_json", count=2)
        code, out, _ = command("augment", "--project", "shop", "--recipe", str(recipe))
    run = AugmentRun.objects.get()
    assert code == 0 and run.status == "succeeded"
    assert (
        run.counts["dropped"]["paraphrase_timeout"] == 3
        and run.counts["dropped"]["paraphrase_malformed"] == 2
    )
    assert "paraphrase_timeout 3" in out
    stored = Sample.objects.filter(augment_run=run, lineage__augment_type="paraphrase").count()
    assert stored == run.counts["proposed"] == 10 - sum(run.counts["dropped"].values())


def test_generate_draws_pairs_and_prints_what_it_did(extraction, fast_stack, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("cases: [normal, missing_field, conflicting]\nmax_items: 2\n")
    code, out, err = command(
        "generate", "--project", "orders", "--generator", GENERATOR, "--count", "40", "--params", str(params)
    )
    run = AugmentRun.objects.get()
    assert code == 0 and err == ""
    assert out.startswith(f"run {run.pk} (generator {GENERATOR} v1, round 1) succeeded: 40 candidates; ")
    assert run.params["params"] == {"cases": ["normal", "missing_field", "conflicting"], "max_items": 2}
    cases = set(Sample.objects.filter(augment_run=run).values_list("lineage__case", flat=True))
    assert cases <= {"normal", "missing_field", "conflicting"}
    code, out, _ = command(
        "generate", "--project", "orders", "--generator", GENERATOR, "--count", "40", "--params", str(params)
    )
    assert code == 0 and "0 proposed for review" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--generator", "nodots"], 65, "is not a dotted path to a generator"),
        (["--generator", "no.such:Gen"], 78, "cannot be imported"),
        (["--generator", GENERATOR, "--params", "/nonexistent.yaml"], 66, "No params file at"),
        (["--generator", GENERATOR, "--count", "0"], 65, "count must be a whole number"),
    ],
)
def test_a_bad_generator_or_params_exits_non_zero_with_the_reason(
    extraction, fast_stack, args, code, message
):
    full = ["generate", "--project", "orders", "--count", "5", *args]
    got, _, err = command(*full)
    assert got == code and message in err


def test_bad_params_content_exits_65(extraction, fast_stack, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("max_items: 99\n")
    code, _, err = command(
        "generate", "--project", "orders", "--generator", GENERATOR, "--count", "5", "--params", str(params)
    )
    assert code == 65 and "refuses its params: max_items: must be a whole number from 1 to 10" in err
    params.write_text("- a list\n")
    code, _, err = command(
        "generate", "--project", "orders", "--generator", GENERATOR, "--count", "5", "--params", str(params)
    )
    assert code == 65 and "it must be a mapping of params" in err
