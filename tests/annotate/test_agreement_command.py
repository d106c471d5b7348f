"""`manage.py agreement`: a lead checks an external pilot round from a CSV."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("agreement", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_a_pilot_csv_gives_the_dashboard_statistics_as_json(tmp_path):
    rows = ["item,annotator,value"]
    for item in range(12):
        rows += [
            f"i{item},ann1,{'good' if item % 3 else 'bad'}",
            f"i{item},ann2,{'good' if item % 3 else 'bad'}",
        ]
    rows += ["i0,ann3,", "i1,ann3,bad"]  # a missing value and one disagreement
    (tmp_path / "pilot.csv").write_text("\n".join(rows) + "\n")
    code, out, _ = run("--csv", str(tmp_path / "pilot.csv"), "--field", "verdict", "--level", "nominal")
    assert code == 0
    report = json.loads(out)
    assert report["n_annotators"] == 3 and report["n_items"] == 12
    assert 0.8 < report["alpha"]["value"] < 1.0
    assert report["alpha"]["ci_low"] <= report["alpha"]["value"] <= report["alpha"]["ci_high"]
    assert report["cohen"]["annotators"] == ["ann1", "ann2", "ann3"]


@pytest.mark.parametrize(
    ("content", "message"),
    [("who,what\nx,y\n", "item"), ("item,annotator,value\ni1,ann1,good\ni1,ann1,bad\n", "i1")],
)
def test_a_bad_csv_exits_65_saying_what_is_wrong(tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    code, _, err = run("--csv", str(tmp_path / "bad.csv"), "--field", "verdict", "--level", "nominal")
    assert code == 65 and message in err
