"""The Scrubber interface and its real adapter on Presidio + spaCy.

Cheap to import: Presidio is loaded when a PresidioScrubber is constructed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from flywheel.pii.config import ScrubConfig
from flywheel.pii.filters import keep_result, trimmed_start
from flywheel.pii.pipeline import ScrubDoc, ScrubResult, scrub_docs
from flywheel.pii.placeholders import PlaceholderRegistry
from flywheel.pii.spans import Detection, allow_list_regex

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

__all__ = ["PresidioScrubber", "ScrubDoc", "ScrubResult", "Scrubber"]

# Longer strings are analysed in pieces cut at a line break (else a space). spaCy refuses texts
# over 1M characters and its memory grows with length; NER needs a paragraph of context, not
# a book. An entity cut in two at a boundary is the (rare) price.
MAX_CHUNK_CHARS = 10_000
# Starting spaCy workers costs ~0.5 s (128 texts of ~300 chars took as long with 2 workers as
# with 1); workers are only started when each gets at least this many batches.
MIN_BATCHES_PER_PROCESS = 2


@runtime_checkable
class Scrubber(Protocol):
    config_hash: str

    def scrub_many(self, docs: Sequence[ScrubDoc]) -> list[ScrubResult]: ...

    def scrub_text(self, text: str, registry: PlaceholderRegistry) -> tuple[str, dict[str, int]]: ...


class PresidioScrubber:
    """Presidio analyzer (spaCy NER + pattern recognizers) and our own placeholder step.

    ``key`` is the HMAC key of the placeholder registries (see placeholders.py); it must be the
    same across runs for persisted mappings to stay valid.
    """

    def __init__(self, config: ScrubConfig | None = None, *, key: bytes) -> None:
        from flywheel.pii import engine  # heavy import, see the module docstring

        self.config = config or ScrubConfig()
        PlaceholderRegistry(key)  # rejects a bad key now rather than at the first trace
        self._key = key
        self.config_hash = self.config.config_hash()
        self._analyzer: AnalyzerEngine = engine.get_analyzer(self.config)
        self._allow = allow_list_regex(self.config.allow_list)
        self._entities = list(self.config.resolved_entities)

    @property
    def versions(self) -> dict[str, str]:
        """Library and model versions, for the audit manifest next to config_hash."""
        from importlib.metadata import version

        nlp_engine = cast("SpacyNlpEngine", self._analyzer.nlp_engine)  # engine.py builds a spaCy one
        meta = nlp_engine.get_nlp(self.config.language).meta
        return {
            "presidio-analyzer": version("presidio-analyzer"),
            "spacy": version("spacy"),
            "spacy_model": f"{self.config.spacy_model}=={meta.get('version', 'unknown')}",
        }

    def new_registry(self, mapping: Mapping[str, str] | None = None) -> PlaceholderRegistry:
        return PlaceholderRegistry(self._key, mapping)

    def scrub_many(self, docs: Sequence[ScrubDoc]) -> list[ScrubResult]:
        return scrub_docs(docs, self._detect, self._allow)

    def scrub_text(self, text: str, registry: PlaceholderRegistry) -> tuple[str, dict[str, int]]:
        [result] = self.scrub_many([ScrubDoc(text, registry)])
        return result.value, result.counts

    def _detect(self, texts: list[str]) -> list[list[Detection]]:
        pieces = [
            (index, offset, piece) for index, text in enumerate(texts) for offset, piece in _chunks(text)
        ]
        config = self.config
        enough = len(pieces) >= MIN_BATCHES_PER_PROCESS * config.batch_size * config.n_process
        n_process = config.n_process if enough else 1
        # One spaCy pipe over all pieces (the NER model is most of the cost), then Presidio's
        # recognizers per piece on the precomputed artifacts: BatchAnalyzerEngine's recipe.
        artifacts = self._analyzer.nlp_engine.process_batch(
            [piece for _, _, piece in pieces],
            language=config.language,
            batch_size=config.batch_size,
            n_process=n_process,
        )
        found: list[list[Detection]] = [[] for _ in texts]
        for (index, offset, piece), (_, nlp_artifacts) in zip(pieces, artifacts, strict=True):
            results = self._analyzer.analyze(
                text=piece,
                language=config.language,
                entities=self._entities,
                score_threshold=config.score_threshold,
                nlp_artifacts=nlp_artifacts,
            )
            doc = nlp_artifacts.tokens
            for r in results:
                if keep_result(r.entity_type, piece[r.start : r.end]):
                    start = trimmed_start(r.entity_type, doc, r.start, r.end)
                    found[index].append(Detection(start + offset, r.end + offset, r.entity_type, r.score))
        return found


def _chunks(text: str) -> list[tuple[int, str]]:
    pieces = []
    start = 0
    while len(text) - start > MAX_CHUNK_CHARS:
        window_start, window_end = start + MAX_CHUNK_CHARS // 2, start + MAX_CHUNK_CHARS
        cut = text.rfind("\n", window_start, window_end)
        if cut < 0:
            cut = text.rfind(" ", window_start, window_end)
        end = cut + 1 if cut >= 0 else window_end
        pieces.append((start, text[start:end]))
        start = end
    pieces.append((start, text[start:]))
    return pieces
