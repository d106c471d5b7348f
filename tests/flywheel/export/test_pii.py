"""The PII gate: re-scans every exported text, reports counts per entity and item keys, never values."""

from __future__ import annotations

from flywheel.export.pii import MemoryScanCache, PiiGate, ScrubberScanner, SqliteScanCache
from flywheel.pii import FakeScrubber, ScrubConfig

KEY = b"test-key"


def gate(cache=None, **kwargs) -> PiiGate:
    return PiiGate(ScrubberScanner(FakeScrubber(key=KEY)), cache, **kwargs)


def test_pii_in_any_text_refuses_with_counts_per_entity_and_the_item_keys_only():
    pii = gate()
    pii.check(
        [
            ("lf:1", ["Where is my order?", "Ask Alice at alice@example.com or Bob."]),
            ("lf:2", ["All fine here."]),
            ("lf:3", ["Call +49 30 1234567 now."]),
        ]
    )
    problem = pii.problem()
    assert problem is not None
    assert "EMAIL_ADDRESS 1, PERSON 2, PHONE_NUMBER 1" in problem
    assert "in 2 exported text(s) of 2 item(s)" in problem and "items: lf:1, lf:3" in problem
    for value in ("Alice", "alice@example.com", "Bob", "1234567"):
        assert value not in problem
    report = pii.report()
    assert report["entities"] == {"EMAIL_ADDRESS": 1, "PERSON": 2, "PHONE_NUMBER": 1}
    assert report["passed"] is False and report["items_flagged"] == 2


def test_the_scrubbers_own_placeholders_are_not_pii():
    pii = gate()
    pii.check([("lf:1", ["<PERSON_1> asked where <LOCATION_2> is; mail <EMAIL_ADDRESS_1>."])])
    assert pii.problem() is None and pii.report()["passed"] is True


def test_a_repeated_text_is_scanned_once_per_release():
    pii = gate()
    system = "You are a helpful support assistant."
    pii.check([(f"k{i}", [system, f"question {i}"]) for i in range(10)])
    pii.check([(f"k{i}", [system]) for i in range(10, 20)])
    assert pii.run_stats()["scanned"] == 11
    assert pii.report()["texts"] == 30 and pii.report()["distinct_texts"] == 11


def test_a_text_found_clean_is_not_scanned_again_by_a_scrubber_of_the_same_configuration(tmp_path):
    path = tmp_path / "clean.sqlite3"
    first = gate(SqliteScanCache(path))
    first.check([("a", ["one", "two"]), ("b", ["Alice is here"])])
    second = gate(SqliteScanCache(path))
    second.check([("a", ["one", "two", "three"]), ("b", ["Alice is here"])])
    assert second.run_stats() == {"scanned": 2, "from_cache": 2}  # "three" and the flagged text
    assert second.problem() is not None  # a finding is never cached
    stricter = PiiGate(
        ScrubberScanner(FakeScrubber(ScrubConfig(allow_list=("two",)), key=KEY)), SqliteScanCache(path)
    )
    stricter.check([("a", ["one", "two"])])
    assert stricter.run_stats() == {"scanned": 2, "from_cache": 0}  # another configuration: re-scanned


def test_the_cache_can_be_bypassed():
    cache = MemoryScanCache()
    gate(cache).check([("a", ["one"])])
    again = gate(cache, use_cache=False)
    again.check([("a", ["one"])])
    assert again.run_stats() == {"scanned": 1, "from_cache": 0}
