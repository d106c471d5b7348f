"""Every annotation of an item side by side: which fields differ, which values are the minority."""

from __future__ import annotations

from annotate.review import compare_votes
from tests.annotate.review.conftest import label


def rows_by_name(schema, votes):
    return {row.name: row for row in compare_votes(schema, votes)}


def test_every_schema_field_is_a_row_with_one_value_per_vote_in_order(schema):
    rows = compare_votes(schema, [label(verdict="good"), label()])
    assert [r.name for r in rows] == list(schema.names)
    verdict = rows[0]
    assert verdict.values == ("good", "bad") and verdict.label == "Verdict" and verdict.type == "choice"


def test_only_fields_with_different_values_differ(schema):
    rows = rows_by_name(schema, [label(verdict="good"), label()])
    assert [name for name, row in rows.items() if row.differs] == ["verdict"]


def test_with_three_votes_the_odd_one_out_is_the_minority(schema):
    rows = rows_by_name(schema, [label(), label(verdict="good"), label()])
    assert rows["verdict"].minority == (False, True, False)
    assert rows["sample_type"].minority == (False, False, False)


def test_with_two_votes_that_differ_neither_is_the_minority(schema):
    rows = rows_by_name(schema, [label(verdict="good"), label()])
    assert rows["verdict"].differs and rows["verdict"].minority == (False, False)


def test_text_that_differs_only_in_spacing_does_not_differ_but_other_text_does(schema):
    rows = rows_by_name(
        schema,
        [
            label(corrected_output="It ships\ntomorrow.", notes="a"),
            label(corrected_output="It ships tomorrow."),
        ],
    )
    assert not rows["corrected_output"].differs
    assert rows["notes"].differs  # "a" against nothing


def test_multi_choice_compares_as_sets_and_an_empty_field_equals_a_missing_one(schema):
    votes = [
        label(error_types=["b", "a"], difficulty=None),
        {**label(error_types=["a", "b"]), "difficulty": ""},
    ]
    rows = rows_by_name(schema, votes)
    assert not rows["error_types"].differs and not rows["difficulty"].differs
    del votes[1]["domain"]
    assert not rows_by_name(schema, votes)["domain"].differs
