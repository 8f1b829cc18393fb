"""Seating (seating.py) as properties: everyone placed once, rooms within capacity and numbered
without gaps, balanced blocks, work units spread in proportion, fewer colleagues side by side than
sequential seating, and the snake layout the seating chart draws. Then two sittings in a bank."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.bank import Bank
from examvault.registration import seating as S
from examvault.registration.candidates import import_candidates, list_candidates
from examvault.registration.documents import seat_position
from examvault.registration.service import add_room, create_session
from examvault.registration.sittings import seat_session, ticket_problem
from tests.conftest import OCC
from tests.registration.conftest import EXAM_DATE, YEAR, person, write_form

FAST = settings(max_examples=60, deadline=None)


@st.composite
def cohorts(
    draw: st.DrawFn, *, max_n: int = 300, grouped: bool | None = None, min_capacity: int = 1
) -> tuple[list[str], list[int], int]:
    """(units per candidate, room capacities that hold them all, columns): 1–300 candidates in 1–30
    work units of skewed sizes (weights 2^0 … 2^8), in the form's order or grouped by unit."""
    n = draw(st.integers(1, max_n))
    weights = draw(st.lists(st.integers(0, 8), min_size=1, max_size=30))
    total = sum(2**w for w in weights)
    sizes = [n * 2**w // total for w in weights]
    for i in range(n - sum(sizes)):  # the remainder, one each to the first units
        sizes[i % len(sizes)] += 1
    units = [f"单位{u:02d}" for u, k in enumerate(sizes) for _ in range(k)]
    if not (grouped if grouped is not None else draw(st.booleans())):
        units = draw(st.permutations(units))
    caps = draw(st.lists(st.integers(min_capacity, 60), min_size=1, max_size=12))
    if sum(caps) < n:
        caps.append(max(min_capacity, n - sum(caps)))
    return list(units), caps, draw(st.integers(1, 8))


def used_rooms(n: int, caps: list[int]) -> int:
    """The fewest rooms, taken in the order given, that hold n."""
    return next(u for u in range(len(caps) + 1) if sum(caps[:u]) >= n)


def sequential(n: int, caps: list[int]) -> list[S.Placement]:
    """Naive seating: the form's order, cut into the same room blocks."""
    out, start = [], 0
    for room, size in enumerate(S._block_sizes(n, caps)):
        out += [S.Placement(i, room, seat) for seat, i in enumerate(range(start, start + size), start=1)]
        start += size
    return out


# ------------------------------------------------------------------ placement


@FAST
@given(cohorts())
def test_everyone_is_placed_once_within_capacity_with_gapless_seat_numbers(
    cohort: tuple[list[str], list[int], int],
) -> None:
    units, caps, columns = cohort
    placed = S.seat(list(range(len(units))), units, caps, columns)
    assert sorted(p.candidate for p in placed) == list(range(len(units)))
    by_room = Counter(p.room for p in placed)
    assert all(0 <= r < len(caps) and k <= caps[r] for r, k in by_room.items())
    for room in by_room:
        assert sorted(p.seat for p in placed if p.room == room) == list(range(1, by_room[room] + 1))


@FAST
@given(cohorts())
def test_blocks_fill_the_fewest_rooms_evenly(cohort: tuple[list[str], list[int], int]) -> None:
    """The fewest rooms (in the order given) that hold everyone, each used; the sizes are a water level:
    a room holds two fewer than another only when it is full."""
    units, caps, columns = cohort
    n = len(units)
    sizes = S._block_sizes(n, caps)
    u = used_rooms(n, caps)
    assert sum(sizes) == n
    assert all(0 < sizes[r] <= caps[r] for r in range(u)) and not any(sizes[u:])
    assert all(sizes[r] >= min(caps[r], sizes[s] - 1) for r in range(u) for s in range(u))
    if all(c >= math.ceil(n / u) for c in caps[:u]):  # rooms large enough: as even as integers allow
        assert max(sizes[:u]) - min(sizes[:u]) <= 1
    placed = Counter(p.room for p in S.seat(list(range(n)), units, caps, columns))
    assert [placed.get(r, 0) for r in range(len(caps))] == sizes


def test_block_sizes_examples() -> None:
    assert S._block_sizes(61, [30, 30, 30]) == [21, 20, 20]  # not 30/30/1
    assert S._block_sizes(61, [30, 5, 30]) == [28, 5, 28]
    assert S._block_sizes(30, [30, 30, 30]) == [30, 0, 0]
    assert S._block_sizes(31, [10, 40]) == [10, 21]


@FAST
@given(cohorts())
def test_each_unit_has_its_proportional_share_of_each_room(cohort: tuple[list[str], list[int], int]) -> None:
    """A unit of k among n in a room holding s: |count − k·s/n| ≤ (1 − k/n) + (k/n)(U − 1).

    Why: member j of a unit of size k with offset o sits at key (j + o)/k, so the number of its members
    before any point x of the order is k·x + e with e in [−o, 1 − o] (width 1). A room is a run of the
    order between two points; its size is n·Δx + ΔE (E summed over the U units) and the unit's count
    k·Δx + Δe. So count − k·s/n = (1 − k/n)·Δe − (k/n)·ΔE_others, with |Δe| ≤ 1 and |ΔE_others| ≤ U − 1.
    The swaps that follow stay within a room. With two units that is at most 1."""
    units, caps, columns = cohort
    n, sizes = len(units), Counter(units)
    placed = S.seat(list(range(n)), units, caps, columns)
    per_room = Counter(p.room for p in placed)
    count = Counter((units[p.candidate], p.room) for p in placed)
    spread = len(sizes)
    for unit, k in sizes.items():
        bound = (1 - k / n) + (k / n) * (spread - 1) + 1e-9
        for room, s in per_room.items():
            assert abs(count[unit, room] - k * s / n) <= bound, (unit, k, room, s)


@FAST
@given(
    st.integers(2, 200),
    st.integers(1, 199),
    st.lists(st.integers(10, 60), min_size=1, max_size=8),
    st.booleans(),
)
def test_two_units_split_within_one_of_their_share(n: int, k: int, caps: list[int], grouped: bool) -> None:
    k = min(k, n - 1)
    units = ["甲"] * k + ["乙"] * (n - k)
    if not grouped:
        units = units[::2] + units[1::2]
    caps = caps + [max(0, n - sum(caps))] if sum(caps) < n else caps
    placed = S.seat(list(range(n)), units, caps)
    per_room = Counter(p.room for p in placed)
    for room, s in per_room.items():
        mine = sum(1 for p in placed if p.room == room and units[p.candidate] == "甲")
        assert abs(mine - k * s / n) <= 1 + 1e-9


def test_a_dominant_unit_is_spread_over_rooms_and_seats() -> None:
    units = ["甲"] * 30 + [f"单位{i}" for i in range(30)]
    placed = S.seat(list(range(60)), units, [30, 30], columns=5)
    assert all(14 <= k <= 16 for k in Counter(p.room for p in placed if units[p.candidate] == "甲").values())
    by = dict(enumerate(units))
    assert (
        S.adjacent_pairs(placed, by, [30, 30], 5)
        <= 2
        < 25
        <= S.adjacent_pairs(sequential(60, [30, 30]), by, [30, 30], 5)
    )


# ------------------------------------------------------------------ colleagues apart


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cohorts(grouped=True, min_capacity=5))
def test_fewer_colleagues_side_by_side_than_sequential_seating(
    cohort: tuple[list[str], list[int], int],
) -> None:
    """The form grouped by work unit, as employers send it, in rooms of 5 places or more: seating leaves
    no more same-unit neighbours than taking the form's order.

    Not a theorem: with rooms of 1 or 2 places, or a form already interleaved, it can be worse (see the
    xfail below); 22,500 random grouped cohorts in rooms of ≥ 5 found no counter-example, so the
    examples are fixed (derandomize) rather than hunted afresh on every run."""
    units, caps, columns = cohort
    n, by = len(units), dict(enumerate(units))
    placed = S.seat(list(range(n)), units, caps, columns)
    assert S.adjacent_pairs(placed, by, caps, columns) <= S.adjacent_pairs(
        sequential(n, caps), by, caps, columns
    )


@FAST
@given(cohorts(max_n=120, grouped=False))
def test_untangling_never_adds_neighbours_to_the_spread_order(
    cohort: tuple[list[str], list[int], int],
) -> None:
    """Each swap `_untangle` makes strictly lowers the same-unit pairs of its room."""
    units, caps, columns = cohort
    n, by = len(units), dict(enumerate(units))
    order = S.spread_order(units)
    before, start = [], 0
    for room, size in enumerate(S._block_sizes(n, caps)):
        before += [S.Placement(i, room, seat) for seat, i in enumerate(order[start : start + size], start=1)]
        start += size
    after = S.seat(list(range(n)), units, caps, columns)
    assert S.adjacent_pairs(after, by, caps, columns) <= S.adjacent_pairs(before, by, caps, columns)


@pytest.mark.parametrize(
    ("units", "caps", "columns"),
    [(list("ABABABA"), [7], 1),
     pytest.param(["甲", "乙", "乙"], [2, 10], 5, marks=pytest.mark.xfail(strict=True, reason="by design: each room takes its "
                  "proportional share of each unit first, so the 2-place room holds both 乙 where the form's order would split them"))],
)  # fmt: skip
def test_seating_is_never_worse_than_sequential(units: list[str], caps: list[int], columns: int) -> None:
    n, by = len(units), dict(enumerate(units))
    placed = S.seat(list(range(n)), units, caps, columns)
    assert (
        S.adjacent_pairs(placed, by, caps, columns)
        <= S.adjacent_pairs(sequential(n, caps), by, caps, columns)
        == 0
    )


# ------------------------------------------------------------------ the layout


@FAST
@given(st.integers(1, 150), st.integers(1, 12))
def test_seats_snake_column_by_column(capacity: int, columns: int) -> None:
    rows = S.grid(capacity, columns)
    pos = {s: S.position(s, capacity, columns) for s in range(1, capacity + 1)}
    assert len(set(pos.values())) == capacity  # one desk per place
    assert all(0 <= c < min(columns, capacity) and 0 <= r < rows for c, r in pos.values())
    assert pos[1] == (0, 0)  # front-left
    for s in range(1, capacity):
        (c1, r1), (c2, r2) = pos[s], pos[s + 1]
        assert abs(c1 - c2) + abs(r1 - r2) == 1  # the next number is always a neighbour
        if c1 == c2:
            assert r2 - r1 == (
                1 if c1 % 2 == 0 else -1
            )  # even columns run front to back, odd ones back to front
    assert all(seat_position(s, capacity, columns) == pos[s] for s in pos)  # the chart draws the same room


@FAST
@given(st.integers(1, 150), st.integers(1, 12))
def test_neighbours_are_symmetric_and_touch(capacity: int, columns: int) -> None:
    pos = {s: S.position(s, capacity, columns) for s in range(1, capacity + 1)}
    near = {s: S.neighbours(s, capacity, columns) for s in pos}
    for s, ns in near.items():
        assert s not in ns and len(ns) <= 4
        assert ns == {t for t in pos if abs(pos[s][0] - pos[t][0]) + abs(pos[s][1] - pos[t][1]) == 1}
        assert all(s in near[t] for t in ns)


def test_neighbours_in_a_thirty_desk_room() -> None:
    # 5 columns of 6: seat 1 front-left, 6 back-left, 7 back of column 2, 12 its front
    assert S.neighbours(1, 30, 5) == {2, 12}
    assert S.neighbours(6, 30, 5) == {5, 7}
    assert S.neighbours(8, 30, 5) == {5, 7, 9, 17}
    assert S.neighbours(30, 30, 5) == {19, 29}


def test_adjacent_pairs_counts_each_pair_once() -> None:
    placed = [S.Placement("a", 0, 1), S.Placement("b", 0, 2), S.Placement("c", 0, 12), S.Placement("d", 1, 1)]
    units = {"a": "甲", "b": "甲", "c": "甲", "d": "甲"}
    assert S.adjacent_pairs(placed, units, [30, 30], 5) == 2  # 1–2 and 1–12; d sits in another room


# ------------------------------------------------------------------ refusals


def test_rooms_too_small_are_refused() -> None:
    with pytest.raises(ValueError, match="31 candidates and 30 places"):
        S.seat(list(range(31)), ["甲"] * 31, [10, 20])
    with pytest.raises(ValueError, match="one unit per candidate"):
        S.seat(list(range(3)), ["甲"] * 2, [10])


def test_a_full_room_does_not_lose_candidates() -> None:
    placed = S.seat(list(range(5)), ["甲"] * 5, [0, 10])
    assert sorted(p.candidate for p in placed) == list(range(5))


# ------------------------------------------------------------------ in a bank


def _sitting(planned: Bank, tmp_path: Path, rows: list[dict[str, str]]) -> str:
    import_candidates(planned, YEAR, write_form(tmp_path / "form.xlsx", rows))
    code = f"{YEAR}-05-电工-3"
    create_session(planned, code, occupation=OCC, level=3, exam_date=EXAM_DATE, plan_year=YEAR, site_code="360101",
                   times={"theory": "09:00-10:30", "skill": "13:30-16:30"})  # fmt: skip
    return code


def test_seating_the_rest_after_a_limited_first_round(planned: Bank, tmp_path: Path) -> None:
    code = _sitting(planned, tmp_path, [person(i) for i in range(1, 16)])
    add_room(planned, code, "理论01", kind="theory", capacity=10)
    add_room(planned, code, "理论02", kind="theory", capacity=20)
    add_room(planned, code, "实操01", kind="skill", capacity=30)
    assert seat_session(planned, code, limit=10)["seated"] == 10  # fills 理论01
    r = seat_session(planned, code)
    assert r["seated"] == 5
    assert {x["room"]: x["candidates"] for x in r["rooms"]} == {"理论01": 10, "理论02": 5, "实操01": 15}
    rows = list_candidates(planned, year=YEAR)
    theory = sorted((s["room"], s["seat"]) for c in rows for s in c["seats"] if s["part"] == "theory")
    assert theory == [("理论01", n) for n in range(1, 11)] + [("理论02", n) for n in range(1, 6)]
    # the second round's ticket numbers continue after the first's
    assert sorted(int(c["ticket"][6:11]) for c in rows) == list(range(1, 16))


def test_a_candidate_who_sits_only_the_skill_test_gets_a_ticket_of_their_own(
    planned: Bank, tmp_path: Path
) -> None:
    # 理论01 seats 1–5; the skill stations 实操01–03 take 10 each, so 实操01 holds skill-only candidates at seats 1–10
    rows = [person(i) for i in range(1, 6)] + [
        person(i, 理论知识="免考", 操作技能="补考") for i in range(6, 31)
    ]
    code = _sitting(planned, tmp_path, rows)
    r = seat_session(planned, code)
    assert r["seated"] == 30
    tickets = [c["ticket"] for c in list_candidates(planned, year=YEAR)]
    assert all(ticket_problem(t) is None for t in tickets)
    assert sorted(int(t[6:11]) for t in tickets) == list(range(1, 31))
