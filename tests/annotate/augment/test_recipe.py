"""Recipes: what loads, and the errors a lead sees for what does not (every mistake, each naming its key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.augment import Chain, InvalidRecipe, load_recipe, parse_recipe
from annotate.augment.entities import EntitySubstitution
from annotate.augment.noise import Noise
from annotate.augment.paraphrase import Paraphrase
from flywheel.errors import InvalidInput, NotFound

DEMO = Path(__file__).resolve().parents[3] / "fixtures" / "demo_recipe.yaml"


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(InvalidRecipe) as caught:
        parse_recipe(text)
    return caught.value.problems


def test_the_demo_recipe_loads_with_six_variants_per_seed():
    recipe = load_recipe(DEMO)
    assert recipe.name == "demo-clone-generalisation" and recipe.seed == 7
    assert recipe.per_seed == 6 and not recipe.uses_paraphrase
    assert recipe.select.origins == ("annotation",) and recipe.select.limit == 20
    assert [e.augment_type for e in recipe.variants] == [
        "entity_substitution",
        "noise",
        "tone",
        "length",
        "reorder",
    ]


def test_a_full_recipe_builds_its_transforms_with_their_params():
    recipe = parse_recipe(
        """
name: extraction.r2
seed: 11
select: {clusters: [3, C12], task_types: extraction, sample_types: [golden], origins: [annotation, variant]}
variants:
  - transform: entity_substitution
    count: 2
    params: {kinds: [number, color], numbers: all, values: {color: [red, blue]}}
  - chain: [entity_substitution, {transform: noise, params: {ops: [typos], typo_rate: 0.2}}]
  - paraphrase
"""
    )
    assert recipe.select.clusters == (3, 12) and recipe.select.task_types == ("extraction",)
    assert recipe.select.origins == ("annotation", "variant") and recipe.uses_paraphrase
    first, chain, paraphrase = recipe.build(chat=None)
    assert (
        isinstance(first, EntitySubstitution)
        and first.kinds == ("number", "color")
        and first.numbers == "all"
    )
    assert isinstance(chain, Chain) and chain.name == "entity_substitution+noise"
    assert isinstance(chain.steps[1], Noise) and chain.steps[1].ops == ("typos",)
    assert isinstance(paraphrase, Paraphrase) and paraphrase.client is None
    assert recipe.per_seed == 4
    stored = recipe.to_dict()
    assert stored["variants"][0] == {
        "steps": [
            {
                "transform": "entity_substitution",
                "params": {
                    "kinds": ["number", "color"],
                    "numbers": "all",
                    "values": {"color": ["red", "blue"]},
                },
            }
        ],
        "count": 2,
    }


def test_every_mistake_is_reported_at_once_each_naming_its_key():
    found = problems(
        """
name: bad recipe
sed: 3
select: {sample_type: [golden], clusters: [x], limit: 0}
variants:
  - transform: nosie
  - transform: tone
    params: {tones: [formal, angry], volume: 11}
  - transform: noise
    count: 9
    params: {typo_rate: 2}
  - chain: [reorder]
"""
    )
    assert found == (
        "sed: is not a recipe key (did you mean seed?)",
        "name: is required: 1-100 letters, digits, '-', '_' or '.' (got 'bad recipe')",
        "select.sample_type: is not a selection key (did you mean sample_types?)",
        "select.clusters: 'x' is not a cluster number (write 12 or C12)",
        "select.limit: must be a whole number of at least 1 (got 0)",
        "variants[0].transform: 'nosie' is not a transform "
        "(entity_substitution, noise, tone, length, reorder, paraphrase) (did you mean noise?)",
        "variants[1].params.tones: 'angry' is not one of formal, casual, polite, frustrated, terse",
        "variants[1].params.volume: is not an option of this transform",
        "variants[2].count: must be a whole number from 1 to 8 (got 9)",
        "variants[2].params.typo_rate: must be a number from 0.01 to 0.5 (got 2)",
        "variants[3].chain: must list at least two transforms (got a list)",
    )


def test_more_than_eight_variants_per_seed_is_refused():
    text = "name: many\nvariants:\n  - {transform: noise, count: 5}\n  - {transform: tone, count: 4}\n"
    assert problems(text) == (
        "variants: the counts add up to 9 variants per seed; at most 8 "
        "(3-8 keeps a seed from dominating its split)",
    )


def test_yaml_that_does_not_parse_says_where():
    (problem,) = problems("name: x\nvariants: [noise\n")
    assert problem.startswith("the recipe is not valid YAML") and "line 3" in problem


def test_an_empty_recipe_and_a_list_are_refused_plainly():
    assert problems("") == ("the recipe is empty",)
    assert problems("- noise") == ("the recipe must be a mapping with name and variants (got a list)",)
    assert problems("name: x") == ("variants: must be a non-empty list of transforms (got nothing)",)


def test_the_error_is_invalid_input_with_a_hint_to_the_syntax():
    with pytest.raises(InvalidInput) as caught:
        parse_recipe("name: x\nvariants: [warp]")
    assert "annotate/augment/recipe.py" in caught.value.hint
    assert str(caught.value).startswith("The recipe: variants[0].transform: 'warp' is not a transform")


def test_a_missing_recipe_file_is_not_found(tmp_path):
    with pytest.raises(NotFound, match="No recipe file at"):
        load_recipe(tmp_path / "nope.yaml")


def test_paraphrase_params_are_checked_like_any_other():
    found = problems(
        "name: p\nvariants:\n  - {transform: paraphrase, params: {temperature: 3, max_failures: 0}}"
    )
    assert found == (
        "variants[0].params.temperature: must be a number from 0 to 2 (got 3)",
        "variants[0].params.max_failures: must be a whole number from 1 to 100 (got 0)",
    )
