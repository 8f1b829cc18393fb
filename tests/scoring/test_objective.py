"""Objective scoring: hand-computed marks for each type and rule, shuffled forms, and properties."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.assembly.forms import form_answer, permutation, to_bank_answer
from examvault.scoring.objective import (
    LETTER_TABLE,
    KeyItem,
    MultiRule,
    ResponseError,
    answer_problem,
    encode_key,
    encode_responses,
    letters_mask,
    normalise,
    score,
    to_bank_letters,
)

PARTIAL = MultiRule("partial", fraction=0.5)

# A small form: two 判断, a 单选, a 多选, a two-blank 填空 with alternatives, a numeric 填空.
KEY = [
    KeyItem(1, "判断", 0.5, "√"),
    KeyItem(2, "判断", 0.5, "×"),
    KeyItem(3, "单选", 1, "C", 4),
    KeyItem(4, "多选", 2, "ABD", 5),
    KeyItem(5, "填空", 2, "36V|安全电压/安全特低电压"),
    KeyItem(6, "填空", 1, "0.5"),
]
RESPONSES = [
    ["√", "×", "C", "ABD", "36V；安全电压", ".50"],  # everything right
    ["×", "", "c", "AB", "36 v|错误答案", "1/2"],  # 判断 wrong, one omitted, 多选 a subset, one blank of two
    [
        "对",
        "错",
        "Ｄ",
        "ABCD",
        "；安全特低电压",
        "5e-1",
    ],  # full-width 判断 words, a wrong 单选, a wrong extra letter
    ["", "", "", "", "", ""],  # nothing answered
    ["T", "f", " C ", "d a", "0036V|安全电压", "0.5"],  # a subset in another order; 0036V is text, not 36V
]
# points per cell, worked out by hand
ALL_OR_NOTHING_POINTS = [
    [0.5, 0.5, 1, 2, 2, 1],
    [0, 0, 1, 0, 1, 0],
    [0.5, 0.5, 0, 0, 1, 1],
    [0, 0, 0, 0, 0, 0],
    [0.5, 0.5, 1, 0, 1, 1],
]
PARTIAL_MULTI = [
    2,
    1,
    0,
    0,
    1,
]  # column 4 under the partial rule: AB and AD earn half of 2, ABCD (C is wrong) 0


def test_hand_computed_all_or_nothing() -> None:
    s = score(KEY, RESPONSES)
    np.testing.assert_array_equal(s.points, np.array(ALL_OR_NOTHING_POINTS, dtype=np.float32))
    np.testing.assert_array_equal(s.total, [7, 2, 3, 0, 4])
    assert s.max_points == 7.0
    assert s.points.dtype == np.float32 and s.total.dtype == np.float64
    np.testing.assert_array_equal(s.numbers, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(
        s.correct,
        [
            [1, 1, 1, 1, 1, 1],
            [0, 0, 1, 0, 0, 0],  # one blank of two is credit, not full credit
            [1, 1, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 1],
        ],
    )
    np.testing.assert_array_equal(s.omitted[1], [0, 1, 0, 0, 0, 0])
    assert s.omitted[3].all() and not s.omitted[[0, 2, 4]].any()


def test_hand_computed_partial_credit_for_multi() -> None:
    s = score(KEY, RESPONSES, multi_rule=PARTIAL)
    expected = np.array(ALL_OR_NOTHING_POINTS, dtype=np.float32)
    expected[:, 3] = PARTIAL_MULTI
    np.testing.assert_array_equal(s.points, expected)
    np.testing.assert_array_equal(s.total, [7, 3, 3, 0, 5])
    assert not s.correct[1, 3] and not s.correct[4, 3]  # partial credit is not full credit
    third = score(KEY, RESPONSES, multi_rule=MultiRule("partial", fraction=0.25))
    assert third.points[1, 3] == 0.5


def test_chosen_holds_the_form_letters_as_bitmasks() -> None:
    s = score(KEY, RESPONSES)
    assert s.chosen.dtype == np.uint16
    np.testing.assert_array_equal(s.chosen[:, 0], [1, 2, 1, 0, 1])  # 判断: 1 = √, 2 = ×
    np.testing.assert_array_equal(s.chosen[:, 2], [0b100, 0b100, 0b1000, 0, 0b100])
    assert [str(LETTER_TABLE[m]) for m in s.chosen[:, 3]] == ["ABD", "AB", "ABCD", "", "AD"]
    assert not s.chosen[:, 4:].any()  # 填空 has no options


def test_the_printed_key_format_scores_like_the_bank_notation() -> None:
    printed = [*KEY[:4], KeyItem(5, "填空", 2, "36V；安全电压 / 安全特低电压"), KEY[5]]
    np.testing.assert_array_equal(score(printed, RESPONSES).points, score(KEY, RESPONSES).points)


def test_fill_in_splits_points_evenly_and_matches_numbers_as_decimals() -> None:
    key = [KeyItem(1, "填空", 1, "1.5|A/B|Ω"), KeyItem(2, "填空", 3, "1000")]
    s = score(key, [["1.50；b；ω", "1e3"], ["1.5|a|Ω", "1,000"], ["|  Ｂ  ", "+1000.0"]])
    assert (
        s.points[0, 0] == pytest.approx(2 / 3)
        and s.points[1, 0] == 1.0
        and s.points[2, 0] == pytest.approx(1 / 3)
    )
    assert s.correct[1, 0] and not s.correct[0, 0]  # Greek keeps its case: ω is not Ω
    np.testing.assert_array_equal(s.points[:, 1], [3, 0, 3])  # "1,000" is text, not a number
    assert not s.omitted[2, 0]


def test_numpy_and_list_inputs_agree_and_none_is_omitted() -> None:
    as_array = score(KEY, np.array(RESPONSES))
    with_none = [[c or None for c in row] for row in RESPONSES]
    as_list = score(KEY, with_none)
    np.testing.assert_array_equal(as_array.points, as_list.points)
    np.testing.assert_array_equal(as_array.chosen, as_list.chosen)
    np.testing.assert_array_equal(as_array.omitted, as_list.omitted)


def test_encoded_inputs_score_the_same() -> None:
    ek = encode_key(KEY)
    er = encode_responses(ek, RESPONSES)
    assert er.shape == (5, 6)
    np.testing.assert_array_equal(
        score(ek, er, multi_rule=PARTIAL).total, score(KEY, RESPONSES, multi_rule=PARTIAL).total
    )


def test_no_candidates() -> None:
    s = score(KEY, np.zeros((0, len(KEY)), dtype="U1"))
    assert s.points.shape == (0, 6) and s.total.shape == (0,)
    assert score(KEY, []).points.shape == (0, 6)


# ---------------------------------------------------------------- a shuffled form


def _shuffling_seed(bank_answer: str, n_options: int) -> int:
    """A seed whose shuffle moves every letter of `bank_answer`, so form and bank letters differ."""
    for seed in range(1, 1000):
        perm = permutation(seed, n_options)
        if (
            all(perm[ord(c) - 65] != ord(c) - 65 for c in bank_answer)
            and form_answer(bank_answer, perm) != bank_answer
        ):
            return seed
    raise AssertionError("no seed shuffles the options")


def test_shuffled_form_key_and_mapping_back_to_bank_letters() -> None:
    single_seed, multi_seed = _shuffling_seed("B", 4), _shuffling_seed("ACE", 6)
    single_key = form_answer("B", permutation(single_seed, 4))
    multi_key = form_answer("ACE", permutation(multi_seed, 6))
    assert single_key != "B" and multi_key != "ACE"
    key = [
        KeyItem(1, "单选", 1, single_key, 4),
        KeyItem(2, "多选", 2, multi_key, 6),
        KeyItem(3, "判断", 1, "×"),
    ]
    wrong_single = next(c for c in "ABCD" if c != single_key)
    s = score(key, [[single_key, multi_key, "×"], ["B", "ACE", "√"], [wrong_single, multi_key[:2], ""]])
    np.testing.assert_array_equal(s.total, [4, 0, 0])  # the bank's letters are wrong on this form

    bank = to_bank_letters(s.chosen, [single_seed, multi_seed, None], [4, 6, 0])
    assert [str(LETTER_TABLE[m]) for m in bank[:, 0]] == [
        "B",
        to_bank_answer("B", permutation(single_seed, 4)),
        to_bank_answer(wrong_single, permutation(single_seed, 4)),
    ]
    assert str(LETTER_TABLE[bank[0, 1]]) == "ACE"
    assert str(LETTER_TABLE[bank[2, 1]]) == to_bank_answer(multi_key[:2], permutation(multi_seed, 6))
    np.testing.assert_array_equal(bank[:, 2], s.chosen[:, 2])  # 判断 passes through
    # one column at a time gives the same
    np.testing.assert_array_equal(to_bank_letters(s.chosen[:, 1], multi_seed, 6), bank[:, 1])
    # an unshuffled column is unchanged
    np.testing.assert_array_equal(to_bank_letters(s.chosen[:, 0], None, 4), s.chosen[:, 0])


def test_to_bank_letters_refuses_mismatched_arguments() -> None:
    with pytest.raises(ValueError, match="one option seed and one option count per column"):
        to_bank_letters(np.zeros((2, 3), np.uint16), [1, 2], [4, 4, 4])
    with pytest.raises(ValueError, match="beyond the 8 option letters"):
        to_bank_letters(np.array([256], np.uint16), 7, 4)


# ---------------------------------------------------------------- single answers


@pytest.mark.parametrize(
    ("type_", "text", "n_options", "problem"),
    [
        ("判断", "√", 0, None),
        ("判断", "（×）", 0, None),
        ("判断", "ｆａｌｓｅ", 0, None),
        ("判断", "", 0, None),
        ("判断", "A", 0, "a 判断 answer is √ or × (also 对/错, T/F)"),
        ("判断", "√×", 0, "a 判断 answer is √ or × (also 对/错, T/F)"),
        ("单选", "b", 4, None),
        ("单选", "AB", 4, "names 2 options; a 单选 takes exactly one"),
        ("单选", "E", 4, "names a letter beyond this item's options A–D"),
        ("单选", "1", 4, "holds a character that is not an option letter"),
        ("多选", "a c d", 4, None),
        ("多选", "A,C、D", 4, None),
        ("多选", "ＡＣＤ", 4, None),
        ("多选", "ACA", 4, "names an option twice"),
        ("多选", "ABF", 5, "names a letter beyond this item's options A–E"),
        ("多选", "A/B", 5, "holds a character that is not an option letter"),
        ("填空", "36V；安全电压", 0, None),
    ],
)
def test_answer_problem(type_: str, text: str, n_options: int, problem: str | None) -> None:
    assert answer_problem(type_, text, n_options) == problem


def test_answer_problem_checks_blanks_and_option_counts() -> None:
    assert answer_problem("填空", "a；b；c", n_blanks=2) == "gives 3 blanks; the item has 2"
    assert answer_problem("填空", "a；b；", n_blanks=2) is None  # a trailing separator is not a blank
    with pytest.raises(ValueError, match="a 单选 item has 2–8 options, not 1"):
        answer_problem("单选", "A", 1)
    with pytest.raises(ValueError, match="not scored here"):
        answer_problem("简答", "anything", 0)


def test_normalise() -> None:
    assert normalise("判断", " 对 ") == "√"
    assert normalise("判断", "x") == "×"
    assert normalise("单选", "ｂ") == "B"
    assert normalise("多选", "d, a;c") == "ACD"
    assert normalise("多选", "  ") == ""
    assert normalise("填空", " 36 V ； 安全电压 ") == "36v|安全电压"
    assert normalise("填空", "Ａ｜ｂ") == "a|b"
    with pytest.raises(ValueError, match="names an option twice"):
        normalise("多选", "AA")
    with pytest.raises(ValueError, match="a 单选 takes exactly one"):
        normalise("单选", "AB")
    assert letters_mask("d a") == 0b1001


def test_invalid_responses_are_located_without_quoting_them() -> None:
    responses = [
        ["√", "×", "C", "AB", "", ""],
        ["Q7", "×", "AB", "ABF", "1；2；3", ""],
        ["Q7", "×", "C", "AB", "", ""],
    ]
    with pytest.raises(ResponseError) as caught:
        encode_responses(KEY, responses)
    problems = [(p.row, p.number, p.count, p.message) for p in caught.value.problems]
    assert problems == [
        (1, 1, 2, "a 判断 answer is √ or × (also 对/错, T/F)"),
        (1, 3, 1, "names 2 options; a 单选 takes exactly one"),
        (1, 4, 1, "names a letter beyond this item's options A–E"),
        (1, 5, 1, "gives 3 blanks; the item has 2"),
    ]
    text = str(caught.value)
    assert "candidate row 2, item 1" in text and "1 more candidate with the same answer" in text
    assert "Q7" not in text and "1；2；3" not in text


def test_a_bad_key_names_the_item_but_not_the_answer() -> None:
    with pytest.raises(
        ValueError, match=r"^key item 9: the key is not a valid 单选 answer among options A–D$"
    ):
        encode_key([KeyItem(9, "单选", 1, "AE", 4)])
    with pytest.raises(ValueError, match="key item 3: a blank of the key is empty"):
        encode_key([KeyItem(3, "填空", 1, "36V||x")])
    with pytest.raises(ValueError, match="key item 2: the key of a 判断 is √ or ×"):
        encode_key([KeyItem(2, "判断", 1, "B")])
    with pytest.raises(ValueError, match="key item 4: points 0 must be more than 0"):
        encode_key([KeyItem(4, "判断", 0, "√")])
    with pytest.raises(ValueError, match="the key has 6 numbered objective items"):
        score(KEY, [["√"] * 5])
    assert "ABD" not in repr(KEY[3]) and "ABD" not in repr(encode_key(KEY))


def test_multi_rule_is_checked() -> None:
    with pytest.raises(ValueError, match="not all-or-nothing or partial"):
        MultiRule("some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="between 0 and 1"):
        MultiRule("partial", fraction=1.5)


# ---------------------------------------------------------------- properties

WORDS = ["36V", "安全电压", "接地", "0.5", "Ω", "abc"]


@st.composite
def key_items(draw: st.DrawFn, number: int) -> KeyItem:
    t = draw(st.sampled_from(["判断", "单选", "多选", "填空"]))
    points = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    if t == "判断":
        return KeyItem(number, t, points, draw(st.sampled_from(["√", "×"])))
    if t == "填空":
        blanks = draw(
            st.lists(
                st.lists(st.sampled_from(WORDS), min_size=1, max_size=2, unique=True), min_size=1, max_size=3
            )
        )
        return KeyItem(number, t, points, "|".join("/".join(alts) for alts in blanks))
    n = draw(st.integers(2, 8))
    if t == "单选":
        return KeyItem(number, t, points, "ABCDEFGH"[draw(st.integers(0, n - 1))], n)
    mask = draw(st.integers(1, (1 << n) - 1))
    return KeyItem(number, t, points, str(LETTER_TABLE[mask]), n)


@st.composite
def answer_for(draw: st.DrawFn, item: KeyItem) -> str:
    """A valid response: omitted, the key, or any other answer (in some spelling)."""
    kind = draw(st.sampled_from(["omitted", "key", "other"]))
    if kind == "omitted":
        return draw(st.sampled_from(["", " "]))
    if kind == "key":
        if item.type == "填空":  # one accepted alternative per blank
            return "；".join(draw(st.sampled_from(b.split("/"))) for b in item.answer.split("|"))
        return item.answer
    if item.type == "判断":
        return draw(st.sampled_from(["√", "×", "对", "错", "t", "F", "Ｔ"]))
    if item.type == "填空":
        return "|".join(draw(st.lists(st.sampled_from([*WORDS, ""]), max_size=item.answer.count("|") + 1)))
    if item.type == "单选":
        return draw(st.sampled_from("abcdefgh"[: item.n_options]))
    mask = draw(st.integers(1, (1 << item.n_options) - 1))
    return ",".join(str(LETTER_TABLE[mask]).lower())


@st.composite
def scored_forms(draw: st.DrawFn) -> tuple[list[KeyItem], list[list[str]]]:
    key = [draw(key_items(n)) for n in range(1, draw(st.integers(1, 8)) + 1)]
    rows = draw(st.integers(1, 12))
    return key, [[draw(answer_for(item)) for item in key] for _ in range(rows)]


@settings(max_examples=150, deadline=None)
@given(scored_forms(), st.sampled_from([0.25, 0.5, 1.0]))
def test_properties_of_scores(form: tuple[list[KeyItem], list[list[str]]], fraction: float) -> None:
    key, responses = form
    strict = score(key, responses)
    partial = score(key, responses, multi_rule=MultiRule("partial", fraction=fraction))
    item_points = np.array([k.points for k in key], dtype=np.float32)
    for s in (strict, partial):
        assert (s.points >= 0).all() and (s.points <= item_points + 1e-6).all()
        np.testing.assert_array_equal(s.total, s.points.sum(axis=1, dtype=np.float64))
        np.testing.assert_array_equal(
            s.points[s.correct], np.broadcast_to(item_points, s.points.shape)[s.correct]
        )
        assert not s.points[s.omitted].any()
    assert (strict.points <= partial.points).all()
    multi = np.array([k.type == "多选" for k in key])
    np.testing.assert_array_equal(strict.points[:, ~multi], partial.points[:, ~multi])


@settings(max_examples=100, deadline=None)
@given(scored_forms(), st.randoms(use_true_random=False))
def test_permuting_candidates_permutes_results(
    form: tuple[list[KeyItem], list[list[str]]], rnd: random.Random
) -> None:
    key, responses = form
    order = list(range(len(responses)))
    rnd.shuffle(order)
    s = score(key, responses, multi_rule=PARTIAL)
    p = score(key, [responses[i] for i in order], multi_rule=PARTIAL)
    for name in ("points", "correct", "omitted", "chosen", "total"):
        np.testing.assert_array_equal(getattr(p, name), getattr(s, name)[order])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 7), min_size=1, max_size=8).flatmap(
        lambda ns: st.tuples(*(key_items(n + 1) for n in range(len(ns))))
    )
)
def test_the_key_as_response_scores_full_points(key: tuple[KeyItem, ...]) -> None:
    """The key's own text for 判断 and choices; one accepted alternative per blank for 填空."""

    def response(k: KeyItem, pick: int, separator: str) -> str:
        return (
            k.answer if k.type != "填空" else separator.join(b.split("/")[pick] for b in k.answer.split("|"))
        )

    responses = [[response(k, 0, "；") for k in key], [response(k, -1, "|") for k in key]]
    for rule in (MultiRule(), PARTIAL):
        s = score(list(key), responses, multi_rule=rule)
        assert s.correct.all()
        np.testing.assert_allclose(s.total, sum(k.points for k in key), rtol=1e-6)


# The encoder groups cells by packed code points (≤ 3 characters) or by string; either way each
# cell must read exactly as `normalise`/`answer_problem` read it on its own.
CHARS = [
    "A",
    "b",
    "Ｃ",
    "d",
    "E",
    " ",
    ",",
    "、",
    "；",
    "√",
    "×",
    "对",
    "x",
    "T",
    "é",
    "e\u0301",
    "Ω",
    "\u3000",
    "\U0001f600",
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([("判断", 0), ("单选", 4), ("多选", 4), ("多选", 8)]),
    st.lists(st.lists(st.sampled_from(CHARS), max_size=5).map("".join), min_size=1, max_size=30),
)
def test_encoding_reads_each_cell_as_the_single_cell_functions_do(
    kind: tuple[str, int], cells: list[str]
) -> None:
    t, n = kind
    key = [KeyItem(1, t, 1, "√" if t == "判断" else "A", n)]
    problems = [answer_problem(t, c, n) for c in cells]
    if any(problems):
        with pytest.raises(ResponseError) as caught:
            encode_responses(key, np.array(cells).reshape(-1, 1))
        first_rows = {cells.index(c) for c, p in zip(cells, problems, strict=True) if p}
        assert {p.row for p in caught.value.problems} == first_rows
        return
    codes = encode_responses(key, np.array(cells).reshape(-1, 1)).codes[:, 0]
    expected = [{"": 0, "√": 1, "×": 2}[normalise(t, c)] if t == "判断" else letters_mask(c) for c in cells]
    np.testing.assert_array_equal(codes, expected)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 2**62), st.integers(2, 8), st.data())
def test_to_bank_letters_inverts_the_form_shuffle(seed: int, n: int, data: st.DataObject) -> None:
    perm = permutation(seed, n)
    bank_masks = data.draw(st.lists(st.integers(0, (1 << n) - 1), min_size=1, max_size=20))
    form_masks = np.array(
        [letters_mask(form_answer(str(LETTER_TABLE[m]), perm)) for m in bank_masks], dtype=np.uint16
    )
    np.testing.assert_array_equal(to_bank_letters(form_masks, seed, n), bank_masks)
    matrix = np.stack([form_masks, form_masks], axis=1)
    np.testing.assert_array_equal(
        to_bank_letters(matrix, [seed, None], [n, n]), np.stack([bank_masks, form_masks], axis=1)
    )
