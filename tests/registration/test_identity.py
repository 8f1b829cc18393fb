"""GB 11643 resident ID numbers and phone numbers: published vectors and the properties of MOD 11-2."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.registration.identity import check_digit, id_number_problem, mask_id, phone_problem

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", "360102198506120015"])
def test_valid_numbers(number: str) -> None:
    assert id_number_problem(number, today=TODAY) is None


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check digit is wrong"),  # the standard's example with its X changed
        ("11010519491231002", "17 digits and a final digit or X"),
        ("11010519491231002XX", "17 digits and a final digit or X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "17 digits and a final digit or X"),  # full-width digits are not ASCII
        ("110105194902301234", "not a birth date"),  # 30 February
        ("110105189912310018", "not plausible"),  # born before 1900
        ("110105203001010016", "not plausible"),  # born in the future
        ("990105194912310028", "region code"),  # no province 99
        ("110000194912310026", "region code"),  # ends in 0000
    ],
)
def test_invalid_numbers_say_why_without_quoting_them(number: str, reason: str) -> None:
    problem = id_number_problem(number, today=TODAY)
    assert problem is not None and reason in problem
    assert number[:6] not in problem and number[-4:] not in problem


@settings(max_examples=200, deadline=None)
@given(st.integers(1930, 2005), st.integers(1, 12), st.integers(1, 28), st.integers(0, 999), st.data())
def test_every_single_digit_error_and_swap_is_caught(year: int, month: int, day: int, seq: int, data: st.DataObject) -> None:
    first = f"360102{year:04d}{month:02d}{day:02d}{seq:03d}"
    number = first + check_digit(first)
    assert id_number_problem(number, today=TODAY) is None
    i = data.draw(st.integers(0, 16))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[i]]))
    changed = number[:i] + digit + number[i + 1 :]
    assert id_number_problem(changed, today=TODAY) is not None  # MOD 11-2 detects every single substitution
    j = data.draw(st.integers(0, 16))
    if number[j] != number[j + 1]:
        swapped = number[:j] + number[j + 1] + number[j] + number[j + 2 :]
        assert id_number_problem(swapped, today=TODAY) is not None  # and every adjacent transposition


def test_masking_and_phones() -> None:
    assert mask_id("360102198506120015") == "3601**********0015"
    assert phone_problem("13912345678") is None and phone_problem("0791-86123456") is None and phone_problem("(0791) 86123456") is None
    assert phone_problem("12345678901") is not None and phone_problem("1391234567") is not None
