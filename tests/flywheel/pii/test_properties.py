from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flywheel.pii import ScrubDoc

PII_BITS = ["Brian Andersson", "kendra@example.com", "212-456-7890", "Berlin", "<PERSON_1>", '"', "\n"]
texts = st.lists(st.one_of(st.sampled_from(PII_BITS), st.text(max_size=12)), max_size=5).map(" ".join)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _same_shape(before: Any, after: Any) -> bool:
    if isinstance(before, dict):
        return (
            isinstance(after, dict)
            and list(before) == list(after)
            and all(_same_shape(before[k], after[k]) for k in before)
        )
    if isinstance(before, list):
        return isinstance(after, list) and len(before) == len(after) and all(map(_same_shape, before, after))
    if isinstance(before, str):
        return isinstance(after, str)
    return after == before and type(after) is type(before)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_scrubbed_json_keeps_the_shape_of_the_input(scrubber, value):
    [result] = scrubber.scrub_many([ScrubDoc(value, scrubber.new_registry())])
    assert _same_shape(value, result.value)
    assert all(count > 0 for count in result.counts.values())
