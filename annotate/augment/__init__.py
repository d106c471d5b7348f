"""Growing the reviewed set, plain Python (no Django): seed variants and programmatic data.

The domain notes call it clone generalisation: a reviewed seed becomes a few variants that
change how the input is expressed, never the task's meaning or the answer's contract.

- :mod:`~annotate.augment.recipe` reads a recipe (which seeds, which transforms) with readable errors;
- transforms (:class:`Transform`: ``apply(item, rng) -> Variant | Drop``, deterministic given
  ``rng``): :mod:`~annotate.augment.entities`, :mod:`~annotate.augment.noise`,
  :mod:`~annotate.augment.style` (tone, length, reorder), :mod:`~annotate.augment.paraphrase`
  (an OpenAI-compatible endpoint through :mod:`~annotate.augment.client`);
- :mod:`~annotate.augment.contract` holds every variant to its seed's answer contract;
- :mod:`~annotate.augment.programmatic` is the plug-in interface for generated data;
- :mod:`~annotate.augment.standin` is a fake chat endpoint for tests and the demo.

The service (:mod:`annotate.services.augment`) selects seeds, scrubs, de-duplicates and stores.
"""

from annotate.augment.base import Chain, Transform
from annotate.augment.client import ChatClient, ChatConfig, ChatError
from annotate.augment.contract import check_contract, json_shape
from annotate.augment.diff import Piece, word_diff
from annotate.augment.programmatic import Generator, Pair, as_pair, check_json, load_generator
from annotate.augment.recipe import (
    MAX_VARIANTS_PER_SEED,
    Entry,
    InvalidRecipe,
    Recipe,
    load_recipe,
    parse_recipe,
)
from annotate.augment.records import Drop, DropReason, SeedItem, Variant, derived_rng

__all__ = [
    "MAX_VARIANTS_PER_SEED",
    "Chain",
    "ChatClient",
    "ChatConfig",
    "ChatError",
    "Drop",
    "DropReason",
    "Entry",
    "Generator",
    "InvalidRecipe",
    "Pair",
    "Piece",
    "Recipe",
    "SeedItem",
    "Transform",
    "Variant",
    "as_pair",
    "check_contract",
    "check_json",
    "derived_rng",
    "json_shape",
    "load_generator",
    "load_recipe",
    "parse_recipe",
    "word_diff",
]
