"""Ratings become a table: codes in the schema's order, holes for missing values, clear errors."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest

from annotate.agreement import Level, Rating, level_for_field, rating_table, set_table, split_choices
from flywheel.errors import InvalidInput

DIFFICULTY = ("easy", "medium", "hard")


def test_the_core_never_imports_django():
    code = "import sys, annotate.agreement; print(any(m.startswith('django') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_table_codes_categories_in_schema_order_and_leaves_missing_ratings_out():
    table = rating_table(
        [
            Rating("t2", "bob", "hard"),
            Rating("t1", "bob", "easy", final="easy"),
            Rating("t1", "ann", "medium", gold="easy"),
            Rating("t2", "ann", None),  # missing
            Rating("t3", "ann", math.nan),  # missing
        ],
        level="ordinal",
        categories=DIFFICULTY,
    )
    assert table.categories == DIFFICULTY
    assert table.items == ("t1", "t2") and table.annotators == ("ann", "bob")
    np.testing.assert_array_equal(table.matrix, [[1, 0], [np.nan, 2]])
    assert table.raters_per_item.tolist() == [2, 1]
    # final and gold are coded like values; the records are sorted by item, then annotator.
    assert np.isnan(table.final[0]) and table.final[1] == 0
    assert table.gold[0] == 0 and np.isnan(table.gold[1])


def test_pairs_are_every_two_ratings_of_one_item():
    rows = [Rating("x", a, "easy") for a in "abcd"] + [Rating("y", a, "hard") for a in "ab"]
    table = rating_table([*rows, Rating("z", "a", "easy")], level="nominal")
    pairs = {(int(i), int(j)) for i, j in zip(table.pairs.i, table.pairs.j, strict=True)}
    assert pairs == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (4, 5)}  # 4C2 + 2C2, z has none


def test_a_value_outside_the_choices_is_named_with_its_item_and_annotator():
    with pytest.raises(InvalidInput) as raised:
        rating_table([Rating("t1", "ann", "extreme")], level="ordinal", categories=DIFFICULTY)
    assert str(raised.value) == (
        "Item 't1', annotator 'ann': value 'extreme' is not one of the field's choices "
        "('easy', 'medium', 'hard')."
    )


def test_a_final_label_outside_the_choices_is_named_too():
    with pytest.raises(InvalidInput, match="final label 'meh' is not one of"):
        rating_table([Rating("t1", "ann", "easy", final="meh")], level="nominal", categories=DIFFICULTY)


def test_an_annotator_rating_an_item_twice_is_refused():
    rows = [Rating("t1", "ann", "easy"), Rating("t1", "ann", "hard")]
    with pytest.raises(InvalidInput, match="Annotator 'ann' rated item 't1' more than once"):
        rating_table(rows, level="nominal")


def test_ordinal_text_needs_the_category_order_but_numbers_carry_their_own():
    with pytest.raises(InvalidInput, match="needs its categories in order"):
        rating_table([Rating("t1", "ann", "easy")], level="ordinal")
    table = rating_table([Rating("t1", "a", 10), Rating("t1", "b", 2)], level="ordinal")
    assert table.categories == (2, 10)


def test_nominal_categories_default_to_the_values_seen_sorted():
    table = rating_table([Rating("t", "a", True), Rating("t", "b", False)], level="nominal")
    assert table.categories == (False, True)


def test_interval_values_must_be_numbers_and_keep_their_value():
    table = rating_table([Rating("t", "a", 1.5), Rating("t", "b", "3")], level="interval")
    assert sorted(table.code.tolist()) == [1.5, 3.0]
    for bad in ("many", True, math.inf):
        with pytest.raises(InvalidInput, match="is not a finite number"):
            rating_table([Rating("t", "a", bad)], level="interval")


def test_a_list_in_a_single_valued_field_is_explained():
    with pytest.raises(InvalidInput, match="is a list; single-valued fields take one value"):
        rating_table([Rating("t", "a", ["x"])], level="nominal", categories=("x",))


def test_an_unknown_level_is_refused_with_the_choices():
    with pytest.raises(InvalidInput, match="expected one of nominal, ordinal, interval, ratio"):
        rating_table([], level="categorical")


def test_times_are_kept_in_utc_and_naive_times_are_taken_as_utc():
    aware = datetime(2025, 1, 1, 12, tzinfo=UTC)
    table = rating_table(
        [Rating("t", "a", "x", when=aware), Rating("t", "b", "x", when=datetime(2025, 1, 1, 13))],
        level="nominal",
    )
    assert table.when.astype("datetime64[h]").astype(str).tolist() == ["2025-01-01T12", "2025-01-01T13"]


def test_multi_choice_values_compare_as_sets_and_split_into_one_binary_field_per_choice():
    rows = [
        Rating("t1", "a", ["tone", "facts"], final=["facts", "tone"]),
        Rating("t1", "b", ["facts", "tone"]),
        Rating("t2", "a", []),
        Rating("t2", "b", ["format"]),
        Rating("t3", "a", None),
    ]
    sets = set_table(rows, choices=("facts", "tone", "format"))
    assert sets.is_sets and sets.choices == ("facts", "tone", "format")
    assert sets.code[0] == sets.code[1] == sets.final[0]  # order of ticking means nothing
    per_choice = split_choices(sets)
    assert list(per_choice) == ["facts", "tone", "format"]
    fmt = per_choice["format"]
    assert fmt.categories == (False, True) and fmt.level is Level.NOMINAL
    np.testing.assert_array_equal(fmt.matrix, [[0, 0], [0, 1]])
    assert fmt.final[0] == 0 and np.isnan(fmt.final[2])


def test_a_multi_choice_value_outside_the_choices_names_the_stray_choice():
    with pytest.raises(InvalidInput, match="value 'rude' is not one of the field's choices"):
        set_table([Rating("t", "a", ["tone", "rude"])], choices=("tone",))
    with pytest.raises(InvalidInput, match="is not a list of choices"):
        set_table([Rating("t", "a", ["tone"]), Rating("t", "b", "tone")], choices=("tone",))


@pytest.mark.parametrize(
    ("field_type", "ordinal", "level"),
    [
        ("choice", False, Level.NOMINAL),
        ("choice", True, Level.ORDINAL),
        ("multi_choice", False, Level.NOMINAL),
        ("bool", False, Level.NOMINAL),
        ("number", False, Level.INTERVAL),
        ("integer", False, Level.INTERVAL),
        ("text", False, None),
        ("json", False, None),
    ],
)
def test_the_field_type_dictates_the_level(field_type, ordinal, level):
    assert level_for_field(field_type, ordinal=ordinal) is level


def test_the_per_choice_tables_share_what_only_items_annotators_and_times_decide():
    rows = [
        Rating("t1", "a", ["tone"], when=datetime(2025, 1, 6, tzinfo=UTC)),
        Rating("t1", "b", ["tone", "facts"], when=datetime(2025, 1, 7, tzinfo=UTC)),
        Rating("t2", "a", [], when=datetime(2025, 1, 14, tzinfo=UTC)),
        Rating("t2", "b", ["facts"]),
    ]
    sets = set_table(rows, choices=("facts", "tone"))
    facts, tone = split_choices(sets).values()
    assert facts.pairs is tone.pairs is sets.pairs and facts.weeks is tone.weeks is sets.weeks
    assert facts.rater_pairs is sets.rater_pairs
    assert sets.weeks.keys.tolist() == [202502, 202503]
    # Codes are the choice's own; what was computed on codes (the memo) is not carried over.
    assert facts.code.tolist() == [0, 1, 0, 1] and tone.code.tolist() == [1, 1, 0, 0]
    assert facts.memo is not sets.memo
