"""Augmentation recipes: which reviewed seeds, and which variants of each. YAML (or JSON)::

    name: order-variants            # required; names the run (letters, digits, - _ .)
    description: Entity swaps and noise for the extraction cluster.
    seed: 7                         # the random seed: same recipe, same seeds, same variants
    select:                         # which final samples are seeds (all optional)
      clusters: [3, C12]            # cluster numbers
      task_types: [extraction]      # lineage task_type
      sample_types: [golden, boundary]
      origins: [annotation]         # default: human-labeled samples only (variant, programmatic too)
      limit: 200                    # at most this many seeds (oldest first)
    variants:                       # per seed; counts add up to at most 8 (the notes say 3-8)
      - transform: entity_substitution
        count: 2
        params: {kinds: [number, product], numbers: all, values: {color: [red, blue, green]}}
      - transform: noise
        params: {ops: [typos, casing], max_ops: 2, typo_rate: 0.1}
      - transform: tone
        params: {tones: [formal, frustrated]}
      - transform: length
        params: {mode: [longer]}
      - transform: reorder
      - transform: paraphrase       # needs PARAPHRASE_BASE_URL; params: temperature, model, instruction
      - chain: [entity_substitution, {transform: noise, params: {ops: [typos]}}]

Transforms and their params are documented in their modules (:mod:`annotate.augment.entities`,
:mod:`~annotate.augment.noise`, :mod:`~annotate.augment.style`, :mod:`~annotate.augment.paraphrase`).
Loading reports every mistake at once, each naming its key (``variants[1].params.tones: ...``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.augment.base import Chain, Transform
from annotate.augment.client import ChatClient
from annotate.augment.entities import EntitySubstitution
from annotate.augment.noise import Noise
from annotate.augment.params import Params
from annotate.augment.paraphrase import Paraphrase
from annotate.augment.style import Length, Reorder, Tone
from annotate.labeling.serialize import read_document
from flywheel.errors import InvalidInput, NotFound
from flywheel.rules.parse import got, suggest

MAX_VARIANTS_PER_SEED = 8
SAMPLE_TYPES = ("golden", "negative", "boundary", "generic")
ORIGINS = ("annotation", "variant", "programmatic")
HINT = (
    "Fix the listed keys; the syntax is in annotate/augment/recipe.py, "
    "an example in fixtures/demo_recipe.yaml."
)
NO_FILE = "No recipe file at {path}."
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_TOP_KEYS = ("name", "description", "seed", "select", "variants")
_ENTRY_KEYS = ("transform", "params", "count", "chain")
_SELECT_KEYS = ("clusters", "task_types", "sample_types", "origins", "limit")

Factory = Callable[[Params, ChatClient | None], Transform]
TRANSFORMS: dict[str, Factory] = {
    "entity_substitution": lambda p, chat: EntitySubstitution.from_params(p),
    "noise": lambda p, chat: Noise.from_params(p),
    "tone": lambda p, chat: Tone.from_params(p),
    "length": lambda p, chat: Length.from_params(p),
    "reorder": lambda p, chat: Reorder.from_params(p),
    "paraphrase": Paraphrase.from_params,
}


class InvalidRecipe(InvalidInput):
    def __init__(self, problems: list[str]) -> None:
        many = f"{len(problems)} problems in the recipe:\n- " if len(problems) > 1 else "The recipe: "
        super().__init__(many + "\n- ".join(problems), hint=HINT)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Selection:
    clusters: tuple[int, ...] = ()
    task_types: tuple[str, ...] = ()
    sample_types: tuple[str, ...] = ()
    origins: tuple[str, ...] = ("annotation",)
    limit: int | None = None


@dataclass(frozen=True)
class Step:
    transform: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    steps: tuple[Step, ...]
    count: int = 1

    @property
    def augment_type(self) -> str:
        return "+".join(step.transform for step in self.steps)


@dataclass(frozen=True)
class Recipe:
    name: str
    variants: tuple[Entry, ...]
    select: Selection = Selection()
    seed: int = 0
    description: str = ""

    @property
    def per_seed(self) -> int:
        return sum(entry.count for entry in self.variants)

    @property
    def uses_paraphrase(self) -> bool:
        return any(step.transform == "paraphrase" for entry in self.variants for step in entry.steps)

    def build(self, *, chat: ChatClient | None = None) -> list[Transform]:
        """Fresh transforms, one per entry (a chain for several steps); params were checked at load."""
        built: list[Transform] = []
        for entry in self.variants:
            steps = [TRANSFORMS[s.transform](Params(s.params, "", []), chat) for s in entry.steps]
            built.append(steps[0] if len(steps) == 1 else Chain(steps))
        return built

    def to_dict(self) -> dict[str, Any]:
        """The recipe as stored on its run (and so in every variant's lineage)."""
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "select": {
                "clusters": list(self.select.clusters),
                "task_types": list(self.select.task_types),
                "sample_types": list(self.select.sample_types),
                "origins": list(self.select.origins),
                "limit": self.select.limit,
            },
            "variants": [
                {
                    "steps": [{"transform": s.transform, "params": dict(s.params)} for s in e.steps],
                    "count": e.count,
                }
                for e in self.variants
            ],
        }


def load_recipe(path: str | Path) -> Recipe:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(NO_FILE.format(path=file), hint="Give the path of a recipe YAML file.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidRecipe([f"the file {file} cannot be read ({type(error).__name__})"]) from None
    return parse_recipe(text)


def parse_recipe(source: str | Mapping[str, Any]) -> Recipe:
    if isinstance(source, str):
        try:
            data = read_document(source, what="recipe")
        except ValueError as error:
            raise InvalidRecipe([str(error)]) from None
    else:
        data = source
    if not isinstance(data, Mapping):
        raise InvalidRecipe([f"the recipe must be a mapping with name and variants (got {got(data)})"])
    problems: list[str] = []
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"{key}: is not a recipe key{suggest(key, _TOP_KEYS)}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"name: is required: 1-100 letters, digits, '-', '_' or '.' (got {got(name)})")
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(f"description: must be text (got {got(description)})")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.append(f"seed: must be a whole number (got {got(seed)})")
    select = _selection(data.get("select"), problems)
    entries = _entries(data.get("variants"), problems)
    total = sum(e.count for e in entries)
    if entries and total > MAX_VARIANTS_PER_SEED:
        problems.append(
            f"variants: the counts add up to {total} variants per seed; at most {MAX_VARIANTS_PER_SEED} "
            "(3-8 keeps a seed from dominating its split)"
        )
    if problems:
        raise InvalidRecipe(problems)
    return Recipe(
        name=str(name), variants=tuple(entries), select=select, seed=int(seed), description=str(description)
    )


def _selection(raw: Any, problems: list[str]) -> Selection:
    if raw is None:
        return Selection()
    if not isinstance(raw, Mapping):
        problems.append(f"select: must be a mapping (got {got(raw)})")
        return Selection()
    for key in raw:
        if key not in _SELECT_KEYS:
            problems.append(f"select.{key}: is not a selection key{suggest(key, _SELECT_KEYS)}")
    clusters = []
    for item in _list(raw, "clusters", problems):
        number = item[1:] if isinstance(item, str) and item[:1] in "Cc" else item
        if isinstance(number, str) and number.isdigit():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            problems.append(f"select.clusters: {got(item)} is not a cluster number (write 12 or C12)")
        else:
            clusters.append(number)
    task_types = [_text(i, "select.task_types", problems) for i in _list(raw, "task_types", problems)]
    sample_types = _choices(raw, "sample_types", SAMPLE_TYPES, problems)
    origins = _choices(raw, "origins", ORIGINS, problems) or ["annotation"]
    limit = raw.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        problems.append(f"select.limit: must be a whole number of at least 1 (got {got(limit)})")
        limit = None
    return Selection(
        tuple(clusters), tuple(t for t in task_types if t), tuple(sample_types), tuple(origins), limit
    )


def _entries(raw: Any, problems: list[str]) -> list[Entry]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"variants: must be a non-empty list of transforms (got {got(raw)})")
        return []
    entries = []
    for index, item in enumerate(raw):
        path = f"variants[{index}]"
        if isinstance(item, str):
            item = {"transform": item}
        if not isinstance(item, Mapping):
            problems.append(f"{path}: must be a mapping with a transform or a chain (got {got(item)})")
            continue
        for key in item:
            if key not in _ENTRY_KEYS:
                problems.append(f"{path}.{key}: is not a key of a variant{suggest(key, _ENTRY_KEYS)}")
        count = item.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_VARIANTS_PER_SEED:
            problems.append(
                f"{path}.count: must be a whole number from 1 to {MAX_VARIANTS_PER_SEED} (got {got(count)})"
            )
            count = 1
        if ("chain" in item) == ("transform" in item):
            problems.append(f"{path}: give either transform (one) or chain (several in a row)")
            continue
        if "transform" in item:
            step = _step({"transform": item["transform"], "params": item.get("params")}, path, problems)
            steps = [step] if step else []
        else:
            if "params" in item:
                problems.append(f"{path}.params: a chain's params go on each of its steps")
            chain = item["chain"]
            if not isinstance(chain, list) or len(chain) < 2:
                problems.append(f"{path}.chain: must list at least two transforms (got {got(chain)})")
                continue
            found = [_step(s, f"{path}.chain[{i}]", problems) for i, s in enumerate(chain)]
            steps = [s for s in found if s]
            if len(steps) != len(found):
                continue
        if steps:
            entries.append(Entry(tuple(steps), count))
    return entries


def _step(raw: Any, path: str, problems: list[str]) -> Step | None:
    spec = {"transform": raw} if isinstance(raw, str) else raw
    if not isinstance(spec, Mapping):
        problems.append(f"{path}: must be a transform name or {{transform, params}} (got {got(raw)})")
        return None
    for key in spec:
        if key not in ("transform", "params"):
            problems.append(f"{path}.{key}: is not a key of a step{suggest(key, ['transform', 'params'])}")
    name = spec.get("transform")
    if name not in TRANSFORMS:
        known = ", ".join(TRANSFORMS)
        problems.append(
            f"{path}.transform: {got(name)} is not a transform ({known}){suggest(name, TRANSFORMS)}"
        )
        return None
    params_path = f"{path}.params"
    TRANSFORMS[name](Params(spec.get("params"), params_path, problems), None)  # checks every param
    raw_params = spec.get("params")
    return Step(name, dict(raw_params) if isinstance(raw_params, Mapping) else {})


def _list(raw: Mapping[str, Any], key: str, problems: list[str]) -> list[Any]:
    value = raw.get(key, [])
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, list):
        problems.append(f"select.{key}: must be a list (got {got(value)})")
        return []
    return value


def _text(value: Any, path: str, problems: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{path}: {got(value)} is not a name")
        return ""
    return value.strip()


def _choices(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], problems: list[str]) -> list[str]:
    out = []
    for item in _list(raw, key, problems):
        if item in allowed:
            out.append(item)
        else:
            problems.append(
                f"select.{key}: {got(item)} is not one of {', '.join(allowed)}{suggest(item, allowed)}"
            )
    return out
