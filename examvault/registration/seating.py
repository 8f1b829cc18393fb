"""Seating for single-desk rooms: capacity, seat numbers, and colleagues kept apart. Pure.

Candidates from one work unit are spread evenly through the seating order (each unit's members
at evenly spaced fractions of it), and the order is cut into one block per room. So a unit
with k members in R rooms puts about k/R in each, and within a room its members sit about
(room size / their number) seats apart rather than side by side; a local search then swaps desks
that still put colleagues together, and within a room the form's own order, untangled the same way,
is kept when it does better. Rooms get their proportional share first: a narrow room (one or two
places) may hold two colleagues that the form's order would have put in different rooms.

Desks are laid out in `columns` columns from the front; seat numbers snake column by column
(单人单桌, as 座位表 are posted): see `position`, which the seating chart draws from.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    candidate: Hashable
    room: int  # index into the rooms given
    seat: int  # 1-based


def spread_order(units: Sequence[str]) -> list[int]:
    """Indexes of `units` in an order where members of one unit are evenly spaced.

    Each member j of a unit of size k sits at (j + offset) / k; offsets differ between units
    so that units of the same size interleave rather than collide."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        members[u].append(i)
    groups = sorted(members.values(), key=len, reverse=True)
    keyed = []
    for g, idx in enumerate(groups):
        offset = (g * 0.618033988749895) % 1.0  # golden-ratio offsets never line up for long
        keyed += [((j + offset) / len(idx), -len(idx), g, i) for j, i in enumerate(idx)]
    return [i for *_, i in sorted(keyed)]


def seat(candidates: Sequence[Hashable], units: Sequence[str], capacities: Sequence[int], columns: int = 5) -> list[Placement]:
    """Place every candidate: the spread order is cut into consecutive blocks, one per room, of
    balanced sizes (61 candidates in three 30-seat rooms sit 21/20/20, not 30/30/1), so each room
    holds a proportional share of each unit with its members evenly spaced.

    Raises ValueError when the rooms cannot hold everyone."""
    if len(candidates) != len(units):
        raise ValueError("one unit per candidate")
    total = sum(capacities)
    if len(candidates) > total:
        raise ValueError(f"{len(candidates)} candidates and {total} places")
    order = spread_order(units)
    out, start = [], 0
    for room, size in enumerate(_block_sizes(len(candidates), capacities)):
        # Who sits in a room is the spread order's block (each unit's proportional share); where they sit
        # is the better of that order and the form's own, each untangled: an order already interleaved,
        # or a narrow room, can do better as given.
        members = order[start : start + size]
        block = min((_untangle(o, units, capacities[room], columns) for o in (members, sorted(members))),
                    key=lambda b: _clashes([b], units, [capacities[room]], columns))  # fmt: skip
        out += [Placement(candidates[i], room, n) for n, i in enumerate(block, start=1)]
        start += size
    return out


def _clashes(blocks: list[list[int]], units: Sequence[str], capacities: Sequence[int], columns: int) -> int:
    """Same-unit pairs side by side or one behind the other, over every room's block of seats 1…n."""
    return sum(1 for room, block in enumerate(blocks) for s in range(len(block))
               for n in neighbours(s + 1, capacities[room], columns)
               if s + 1 < n <= len(block) and units[block[s]] == units[block[n - 1]])  # fmt: skip


def _untangle(block: list[int], units: Sequence[str], capacity: int, columns: int, passes: int = 3) -> list[int]:
    """Swap desks within a room while that leaves fewer colleagues side by side or one behind the other
    (spacing along the order alone leaves some side by side across columns)."""
    seats = list(block)
    near = [[n - 1 for n in neighbours(s + 1, capacity, columns) if n <= len(seats)] for s in range(len(seats))]

    def clashes(pos: int, unit: str, skip: int = -1) -> int:
        return sum(1 for n in near[pos] if n != skip and units[seats[n]] == unit)

    for _ in range(passes):
        changed = False
        for a in range(len(seats)):
            ua = units[seats[a]]
            here = clashes(a, ua)
            if not here:
                continue
            for b in range(len(seats)):
                ub = units[seats[b]]
                if ub == ua:
                    continue
                before = here + clashes(b, ub)
                after = clashes(b, ua, skip=a) + clashes(a, ub, skip=b)
                if after < before:
                    seats[a], seats[b] = seats[b], seats[a]
                    changed = True
                    break
        if not changed:
            break
    return seats



def _block_sizes(n: int, capacities: Sequence[int]) -> list[int]:
    """How many sit in each room: the fewest rooms that hold everyone, filled evenly up to each capacity."""
    rooms, room_for = [], 0
    for r, cap in enumerate(capacities):
        if room_for >= n:
            break
        if cap > 0:  # a full room takes nobody
            rooms.append(r)
            room_for += cap
    sizes = [0] * len(capacities)
    left = n
    ordered = sorted(rooms, key=lambda r: capacities[r])  # small rooms first: each takes its fair share or less
    for k, r in enumerate(ordered):
        sizes[r] = min(capacities[r], math.ceil(left / (len(ordered) - k)))
        left -= sizes[r]
    return sizes


def grid(capacity: int, columns: int) -> int:
    """Rows of desks in a room of `capacity` laid out in `columns` columns."""
    return math.ceil(capacity / max(1, min(columns, capacity)))


def position(seat_no: int, capacity: int, columns: int) -> tuple[int, int]:
    """(column, row) of a desk, from 0: column 0 is the candidates' left as they face the 讲台, row 0
    nearest it. Numbers snake (蛇形排列): column 0 front to back, column 1 back to front, …"""
    rows = grid(capacity, columns)
    column, step = divmod(seat_no - 1, rows)
    return column, (step if column % 2 == 0 else rows - 1 - step)


def neighbours(seat_no: int, capacity: int, columns: int) -> set[int]:
    """Seats touching `seat_no` in front, behind and to either side."""
    at = {position(s, capacity, columns): s for s in range(1, capacity + 1)}
    col, row = position(seat_no, capacity, columns)
    return {at[p] for p in ((col, row - 1), (col, row + 1), (col - 1, row), (col + 1, row)) if p in at}


def adjacent_pairs(placements: Sequence[Placement], units: dict[Hashable, str], capacities: Sequence[int], columns: int) -> int:
    """How many pairs of same-unit candidates sit side by side or one behind the other: the figure seating minimises."""
    by_room: dict[int, dict[int, str]] = defaultdict(dict)
    for p in placements:
        by_room[p.room][p.seat] = units[p.candidate]
    pairs = 0
    for room, seats in by_room.items():
        for s, u in seats.items():
            pairs += sum(1 for n in neighbours(s, capacities[room], columns) if n > s and seats.get(n) == u)
    return pairs
