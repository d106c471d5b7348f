"""PII scrubbing for ingested traces. Plain Python, no Django.

Raw values never leave this package: not in logs, not in exception messages, and the
placeholder registries persist only keyed digests. Importing the package is cheap; Presidio
and spaCy load when a PresidioScrubber is built.

    scrubber = PresidioScrubber(ScrubConfig(), key=settings_key)
    registry = scrubber.new_registry(persisted_mapping)      # one per trace
    [result] = scrubber.scrub_many([ScrubDoc(trace_json, registry)])
    store(result.value, result.counts, registry.mapping, scrubber.config_hash)
"""

from flywheel.pii.config import DenyPattern, ScrubConfig
from flywheel.pii.fake import FakeScrubber
from flywheel.pii.pipeline import ScrubDoc, ScrubFailed, ScrubResult
from flywheel.pii.placeholders import PlaceholderRegistry
from flywheel.pii.scrubber import PresidioScrubber, Scrubber

__all__ = [
    "DenyPattern",
    "FakeScrubber",
    "PlaceholderRegistry",
    "PresidioScrubber",
    "ScrubConfig",
    "ScrubDoc",
    "ScrubFailed",
    "ScrubResult",
    "Scrubber",
]
