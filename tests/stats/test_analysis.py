"""`analyze` and `examvault stats analyze`: the reference data sets through the CLI, constructed problems
that must be flagged with their numbers, DIF, IRT choices, and input files refused with file/row/column."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from examvault.stats.analysis import analyze
from examvault.stats.flags import FlagThresholds
from tests.conftest import invoke_cli as run_cli  # `stats analyze` needs no bank
from tests.stats.datasets import DATA, SAT12_KEY, load
from tests.stats.test_flags import constructed_exam


def write_csv(path: Path, header: list[str] | None, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        if header is not None:
            w.writerow(header)
        w.writerows(rows)
    return path


LSAT7 = DATA / "LSAT7.csv"
SAT12 = DATA / "SAT12.csv"


# ---------------------------------------------------------------------------------- reference data through the CLI


def test_lsat7_json_expands_the_freq_column_and_matches_the_published_alpha() -> None:
    doc = run_cli("stats", "analyze", str(LSAT7), "--json").json
    assert doc["n_candidates"] == 1000
    assert doc["alpha"] == pytest.approx(0.4534087354, abs=1e-7)
    assert doc["sem"] > 0 and doc["irt"] is None
    assert [i["item"] for i in doc["items"]] == ["Item.1", "Item.2", "Item.3", "Item.4", "Item.5"]  # freq is not an item
    for item in doc["items"]:
        assert {"item", "n", "mean", "p", "r_total", "r_drop", "ul_index", "alpha_if_deleted", "flags"} <= set(item)
        assert "options" not in item and item["n"] == 1000
    assert [round(i["p"], 3) for i in doc["items"]] == [0.828, 0.658, 0.772, 0.606, 0.843]
    np.testing.assert_allclose([i["r_drop"] for i in doc["items"]], [0.245732, 0.246674, 0.313179, 0.222751, 0.174786], atol=1e-6)


def test_lsat7_2pl_matches_mirt_and_rasch_difficulties_are_centred() -> None:
    doc = run_cli("stats", "analyze", str(LSAT7), "--2pl", "--json").json
    irt = doc["irt"]
    assert irt["model"] == "2pl" and irt["converged"]
    np.testing.assert_allclose([i["a"] for i in irt["items"]], [0.988, 1.081, 1.706, 0.7651, 0.7358], atol=0.01)
    np.testing.assert_allclose([i["d"] for i in irt["items"]], [1.8561, 0.808, 1.8043, 0.486, 1.8545], atol=0.01)
    assert irt["loglik"] == pytest.approx(-2658.805, abs=0.01)
    assert all(i["se_a"] > 0 and i["se_d"] > 0 for i in irt["items"])
    # five items: the raw mean squares sit far below 1 (EAP shrinkage), but no misfit is flagged
    assert min(i["outfit"] for i in irt["items"]) < 0.7
    assert not any(f["rule"] == "misfit" for i in doc["items"] for f in i["flags"])

    rasch = run_cli("stats", "analyze", str(LSAT7), "--rasch", "--json").json["irt"]
    difficulty = [i["difficulty"] for i in rasch["items"]]
    assert sum(difficulty) == pytest.approx(0, abs=1e-9)
    assert all(i["se_difficulty"] > 0 for i in rasch["items"]) and "a" not in rasch["items"][0]
    assert np.argsort(difficulty).tolist() == np.argsort([-0.828, -0.658, -0.772, -0.606, -0.843]).tolist()


def test_sat12_with_a_key_file_analyses_options_and_flags_item_32s_key(tmp_path: Path) -> None:
    key = write_csv(tmp_path / "key.csv", ["item", "key"], [[f"Item.{j + 1}", k] for j, k in enumerate(SAT12_KEY)])
    doc = run_cli("stats", "analyze", str(SAT12), "--key", str(key), "--missing-code", "8", "--json").json
    assert doc["n_candidates"] == 600 and len(doc["items"]) == 32
    assert doc["alpha"] == pytest.approx(0.798, abs=0.001)
    item32 = doc["items"][31]
    assert item32["key"] == "5"
    assert {o["option"] for o in item32["options"]} == {"1", "2", "3", "4", "5"}  # 8 is the omit code, not an option
    assert sum(o["count"] for o in item32["options"]) + item32["omitted"]["count"] == 600
    key_errors = [(i["item"], f) for i in doc["items"] for f in i["flags"] if f["rule"] == "key_error"]
    assert [name for name, _ in key_errors] == ["Item.32"]
    flag = key_errors[0][1]
    assert flag["ci"][0] > 0 and flag["n"] == 600 and "distractor 3" in flag["message"]
    # a single row of keys in item order is the same key
    row = write_csv(tmp_path / "row.csv", None, [SAT12_KEY])
    again = run_cli("stats", "analyze", str(SAT12), "--key", str(row), "--missing-code", "8", "--json").json
    assert again["items"] == doc["items"]


# ---------------------------------------------------------------------------------- constructed problems


def _constructed_files(tmp_path: Path, rows: int = 500) -> tuple[Path, Path]:
    responses, key = constructed_exam(rows, seed=7)
    labels = [f"Q{j + 1:02d}" for j in range(20)]
    data = write_csv(tmp_path / "exam.csv", ["准考证号", *labels], [[f"T{r:04d}", *["" if c == 9 else "ABCD"[c - 1] for c in row]]
                                                                   for r, row in enumerate(responses)])  # fmt: skip
    keys = write_csv(tmp_path / "key.csv", ["题号", "答案"], [[label, "ABCD"[k - 1]] for label, k in zip(labels, key, strict=True)])
    return data, keys


def test_constructed_problems_are_flagged_with_their_numbers(tmp_path: Path) -> None:
    data, keys = _constructed_files(tmp_path)
    doc = run_cli("stats", "analyze", str(data), "--key", str(keys), "--id", "准考证号", "--json").json
    assert doc["n_candidates"] == 500 and len(doc["items"]) == 20
    fired = {(i["item"], f["rule"]): f for i in doc["items"] for f in i["flags"]}
    assert {("Q01", "key_error"), ("Q02", "too_easy"), ("Q03", "negative_discrimination"), ("Q04", "too_hard")} <= set(fired)
    assert {item for item, _ in fired} == {"Q01", "Q02", "Q03", "Q04"}  # the sixteen clean items raise nothing
    easy = fired[("Q02", "too_easy")]
    assert easy["threshold"] == 0.95 and easy["ci"][0] > 0.95 and easy["n"] == 500 and easy["ci"][0] < easy["value"] < easy["ci"][1]
    negative = fired[("Q03", "negative_discrimination")]
    assert negative["value"] < 0 and negative["ci"][1] < 0
    hard = fired[("Q04", "too_hard")]
    assert hard["ci"][1] < 0.10
    miskeyed = fired[("Q01", "key_error")]
    assert miskeyed["ci"][0] > 0 and miskeyed["value"] > 0
    q1 = doc["items"][0]
    assert q1["key"] == "A" and [o["option"] for o in q1["options"]] == ["A", "B", "C", "D"]
    assert max(q1["options"], key=lambda o: o["r_drop"])["option"] == "B"


def test_too_few_candidates_flag_nothing_and_skip_irt_unless_forced(tmp_path: Path) -> None:
    data, keys = _constructed_files(tmp_path, rows=80)
    doc = run_cli("stats", "analyze", str(data), "--key", str(keys), "--id", "准考证号", "--2pl", "--json").json
    assert all(i["flags"] == [] for i in doc["items"])
    assert doc["irt"] is None and any("IRT not fitted" in n for n in doc["notes"])
    forced = run_cli("stats", "analyze", str(data), "--key", str(keys), "--id", "准考证号", "--2pl", "--force-irt", "--min-n", "50", "--json").json
    assert forced["irt"]["model"] == "2pl" and forced["thresholds"]["min_n"] == 50
    assert any(f["rule"] == "key_error" for f in forced["items"][0]["flags"])


def test_misfit_is_flagged_on_an_item_the_model_does_not_describe() -> None:
    rng = np.random.default_rng(5)
    theta = rng.standard_normal(1500)
    slope = np.ones(20)
    slope[7] = -1.0
    x = (rng.random((1500, 20)) < 1 / (1 + np.exp(-slope * (theta[:, None] - np.linspace(-1.5, 1.5, 20))))).astype(float)
    result = analyze(x, 1, irt="rasch")
    misfit = [f for f in result.flags if f.rule == "misfit"]
    assert [f.item for f in misfit] == [7]
    assert misfit[0].ci[0] > 1.3 and misfit[0].threshold == 1.3 and "outfit" in misfit[0].message
    reference = result.fit_reference
    assert reference is not None and np.all(reference[2] < 1)  # the model's own outfit on 20 items: below 1
    assert result.to_json()["irt"]["items"][7]["outfit"] > 1.3


def _dif_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    n, k, shifted = 1600, 20, 5
    group = np.where(rng.random(n) < 0.5, "东区", "西区")
    theta = rng.standard_normal(n) + np.where(group == "西区", -0.3, 0.0)  # a real ability gap is not DIF
    b = np.tile(np.linspace(-1.5, 1.5, k), (n, 1))
    b[group == "西区", shifted] += 1.6  # item 6 is harder for 西区 at equal ability
    x = (rng.random((n, k)) < 1 / (1 + np.exp(-1.3 * (theta[:, None] - b)))).astype(int)
    return write_csv(tmp_path / "dif.csv", ["考点", *[f"I{j + 1}" for j in range(k)]], [[g, *row] for g, row in zip(group, x.tolist(), strict=True)])


def test_a_dif_item_gets_a_class_c_flag_and_the_focal_group_defaults_to_the_second_value(tmp_path: Path) -> None:
    path = _dif_file(tmp_path)
    doc = run_cli("stats", "analyze", str(path), "--group", "考点", "--json").json
    assert len(doc["items"]) == 20  # the group column is not an item
    assert doc["dif"]["focal"] == "西区" and doc["dif"]["reference"] == ["东区"]  # sorted: 东 (U+4E1C) < 西 (U+897F)
    flagged = [(i["item"], f) for i in doc["items"] for f in i["flags"] if f["rule"] == "dif"]
    assert [name for name, _ in flagged] == ["I6"]
    flag = flagged[0][1]
    assert flag["value"] <= -1.5 and flag["ci"][1] < -1.0 and flag["n"] == 1600 and "class C" in flag["message"]
    classes = {row["item"]: row["ets_class"] for row in doc["dif"]["items"]}
    assert classes["I6"] == "C" and sum(c == "C" for c in classes.values()) == 1
    # the other way round, the same item favours the focal group
    other = run_cli("stats", "analyze", str(path), "--group", "考点", "--focal", "东区", "--json").json
    assert [f["value"] > 1.5 for i in other["items"] for f in i["flags"] if f["rule"] == "dif"] == [True]


def test_partial_credit_items_with_2pl_fit_the_gpcm(tmp_path: Path) -> None:
    table = load("Science") - 1  # scored 1..4 → 0..3
    path = write_csv(tmp_path / "science.csv", ["Comfort", "Work", "Future", "Benefit"], table.astype(int).tolist())
    doc = run_cli("stats", "analyze", str(path), "--max-points", "3", "--2pl", "--json").json
    assert doc["irt"]["model"] == "gpcm" and any("generalised partial credit" in n for n in doc["notes"])
    item = doc["irt"]["items"][0]
    assert item["categories"] == 4 and len(item["d"]) == 3 and item["a"] > 0


def test_half_points_double_the_categories() -> None:
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(400)
    half = np.clip(np.rint((theta + rng.normal(0, 0.8, 400) + 1.5) * 1.5) / 2, 0, 2)  # 0, 0.5, … 2 points
    right = (rng.random((400, 6)) < 1 / (1 + np.exp(-(theta[:, None] - np.linspace(-1, 1, 6))))).astype(float)
    result = analyze(np.column_stack([right, half]), [1] * 6 + [2], irt="rasch", score_step=0.5)
    assert result.irt is not None and result.irt_model == "pcm"
    assert int(result.irt.n_categories[result.irt_items.index(6)]) == 5  # 0..2 in halves: 0..4
    assert any("doubled" in n for n in result.notes)


def test_weights_are_frequencies_and_the_json_has_no_nan() -> None:
    patterns = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    freq = np.array([30, 40, 50, 0])
    weighted = analyze(patterns, 1, weights=freq, thresholds=FlagThresholds(min_n=10))
    expanded = analyze(np.repeat(patterns, freq, axis=0), 1, thresholds=FlagThresholds(min_n=10))
    assert weighted.n_candidates == 120 and weighted.classical.alpha == expanded.classical.alpha
    constant = analyze(np.ones((5, 2)), 1)
    text = json.dumps(constant.to_json(), allow_nan=False)  # r is undefined for a constant item: null, not NaN
    assert '"r_drop": null' in text


# ---------------------------------------------------------------------------------- refused input


def test_a_non_numeric_score_is_refused_naming_file_row_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "scores.csv", ["Q1", "Q2", "Q3"], [[1, 0, 1], [0, "x", 1], [1, 1, 0]])
    ran = run_cli("stats", "analyze", str(path), "--json", code=3)
    assert ran.stdout == ""
    assert "scores.csv, row 3, column B (Q2)" in ran.stderr and "'x' is not a score" in ran.stderr
    too_high = write_csv(tmp_path / "high.csv", ["Q1", "Q2"], [[1, 0], [0, 2]])
    assert "high.csv, row 3, column B (Q2): score 2 is outside 0..1 (set --max-points)" in run_cli("stats", "analyze", str(too_high), code=3).stderr


def test_a_key_file_missing_an_item_is_refused(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "answers.csv", ["Q1", "Q2", "Q3"], [["A", "B", "C"], ["B", "B", "D"]])
    key = write_csv(tmp_path / "key.csv", ["item", "key"], [["Q1", "A"], ["Q2", "B"]])
    ran = run_cli("stats", "analyze", str(data), "--key", str(key), code=3)
    assert "key.csv: no key for 1 item(s): Q3" in ran.stderr
    unknown = write_csv(tmp_path / "key2.csv", ["item", "key"], [["Q1", "A"], ["Q2", "B"], ["Q3", "C"], ["Q9", "A"]])
    assert "key2.csv, row 5, column A (item): 'Q9' is not an item column" in run_cli("stats", "analyze", str(data), "--key", str(unknown), code=3).stderr
    short_row = write_csv(tmp_path / "key3.csv", None, [["A", "B"], ["C", "D"], ["E", "F"], ["A", "A"]])
    assert "key3.csv" in run_cli("stats", "analyze", str(data), "--key", str(short_row), code=3).stderr


def test_a_group_column_that_is_not_there_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "scores.csv", ["Q1", "Q2"], [[1, 0], [0, 1]])
    ran = run_cli("stats", "analyze", str(path), "--group", "考点", code=3)
    assert "scores.csv, row 1, column 考点: no column named '考点' for --group" in ran.stderr
    assert "Q1, Q2" in ran.stderr
    bad_focal = write_csv(tmp_path / "g.csv", ["g", "Q1", "Q2"], [["a", 1, 0], ["b", 0, 1]])
    assert "--focal 'c' is not a value" in run_cli("stats", "analyze", str(bad_focal), "--group", "g", "--focal", "c", code=3).stderr


def test_max_points_from_a_file_and_bad_frequencies(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", ["Q1", "Q2"], [[1, 4], [0, 2], [1, 0]])
    points = write_csv(tmp_path / "points.csv", ["item", "max_points"], [["Q1", 1], ["Q2", 5]])
    doc = run_cli("stats", "analyze", str(path), "--max-points", str(points), "--json").json
    assert [i["max_points"] for i in doc["items"]] == [1, 5] and doc["items"][1]["p"] == pytest.approx(6 / 15)
    freq = write_csv(tmp_path / "f.csv", ["Q1", "Q2", "freq"], [[1, 0, 3], [0, 1, "two"]])
    assert "f.csv, row 3, column C (freq): 'two' is not a frequency" in run_cli("stats", "analyze", str(freq), code=3).stderr
    assert "the report is .pdf or .xlsx" in run_cli("stats", "analyze", str(path), "--out", str(tmp_path / "r.docx"), code=3).stderr


def test_the_plain_output_is_a_table_and_the_flags(tmp_path: Path) -> None:
    data, keys = _constructed_files(tmp_path, rows=300)
    ran = run_cli("stats", "analyze", str(data), "--key", str(keys), "--id", "准考证号")
    assert "300 candidates, 20 items" in ran.stderr and "flag too_easy: Q02" in ran.stderr
    assert "Q20" in ran.stdout  # the item table
