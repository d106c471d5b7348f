"""The fast row encoder writes exactly the bytes of the reference row builders in ``formats``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flywheel.export import formats
from flywheel.export.encode import RowEncoder
from tests.flywheel.export.items import ORDER_SCHEMA, make_items

ODD = [
    replace(
        next(make_items(1)),
        item_key="odd:ünïcödé",
        answer='Line\u2028break, "quotes", back\\slash, tab\t and \x85 NEL; emoji 🚀',
        rejected_answer="Nope\u2029",
        domain=None,
        sop_version=None,
        json_schema={**ORDER_SCHEMA, "title": "Bestellung ✓"},
    ),
    replace(next(make_items(1, start=4)), rejected_answer="", difficulty=None, augment_round=2),
]


@pytest.mark.parametrize("item", [*make_items(40), *ODD], ids=lambda i: i.item_key)
def test_every_row_of_an_item_matches_the_reference_builders_byte_for_byte(item):
    lines, alpaca_sft, alpaca_dpo, skipped = RowEncoder("acme-v7").rows(item)
    meta = formats.meta(item, "acme-v7")
    assert lines.sft == formats.dumps_line(formats.sft_row(item, meta))
    dpo = formats.dpo_row(item, meta)
    assert lines.dpo == (formats.dumps_line(dpo) if dpo is not None else None)
    assert lines.content == formats.content_digest(item)
    base, why = formats.alpaca_base(item)
    assert skipped == why
    if base is None:
        assert alpaca_sft is None and alpaca_dpo is None
    else:
        assert alpaca_sft == formats.dumps_line(formats.alpaca_sft(base, item))
        expected = formats.dumps_line(formats.alpaca_dpo(base, item)) if dpo is not None else None
        assert alpaca_dpo == expected


def test_a_cached_lineage_value_is_never_confused_across_types():
    encoder = RowEncoder("acme-v1")
    first = next(make_items(1))
    one = encoder.meta(replace(first, sop_version=1))
    true = encoder.meta(replace(first, sop_version=True))  # type: ignore[arg-type]
    assert '"sop_version": 1,' in one and '"sop_version": true,' in true
