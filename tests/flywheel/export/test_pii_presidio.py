"""The PII gate on real Presidio: what ingest scrubbed passes, what an annotator typed does not."""

from __future__ import annotations

import pytest

from flywheel.export.pii import PiiGate, ScrubberScanner

pytestmark = pytest.mark.slow


def test_scrubbed_text_passes_and_a_real_name_or_address_in_a_new_answer_refuses(presidio_scrubber):
    registry = presidio_scrubber.new_registry()
    stored, counts = presidio_scrubber.scrub_text(
        "Hi, I'm Kendra Vida from Berlin, mail me at kendra.vida@example.org about order 4711.", registry
    )
    assert counts  # ingest replaced the values with placeholders
    gate = PiiGate(ScrubberScanner(presidio_scrubber))
    gate.check([("lf:1", [stored, "Your order <ID_1> ships tomorrow, <PERSON_1>."])])
    assert gate.problem() is None
    gate.check([("lf:2", ["I have forwarded this to Margaret Thornton at margaret.thornton@example.org."])])
    problem = gate.problem()
    assert problem is not None and "EMAIL_ADDRESS" in problem and "PERSON" in problem and "lf:2" in problem
    assert "Thornton" not in problem and "example.org" not in problem
    assert ScrubberScanner(presidio_scrubber).identity == gate.report()["scanner"]
