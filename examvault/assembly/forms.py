"""Lay a form out: section order, item order and option shuffling, all from the seed.

Pure. A choice item on a form stores only an `option_seed`; the permutation itself
needs the number of options, which is item content, so it is applied when the
content is opened (rendering, the form's key). The permutation depends on nothing
but (seed, number of options), so the form's key is the bank's key mapped through it
and a form answer maps back to bank letters for scoring and statistics.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from examvault.assembly.blueprint import Blueprint
from examvault.assembly.pool import PoolItem, Unit
from examvault.itembank import domain

LETTERS = domain.OPTION_LETTERS


@dataclass(frozen=True)
class Entry:
    position: int  # 1.. across the paper, in print order
    section: int
    type: str
    item: PoolItem | None  # None: an expert slot (专家命题), filled by an item written for the paper
    points: float  # 0 for the shared stem of a 组合 set
    parent: str | None  # the 组合 set's code for its stem and children
    option_seed: int | None  # choice items on a shuffled form


def lay_out(bp: Blueprint, units: list[Unit], selected: list[int], seed: int, form_index: int) -> list[Entry]:
    rng = np.random.default_rng([seed, form_index, 0x0F0E])
    entries: list[Entry] = []
    chosen = [units[u] for u in selected]
    for n, section in enumerate(bp.sections):
        members = sorted((u for u in chosen if u.section == n), key=lambda u: (u.items[0].point_code or "", u.key))
        if bp.shuffle_items and members:
            members = [members[k] for k in rng.permutation(len(members))]
        for unit in members:
            if unit.parent is not None:
                entries.append(Entry(len(entries) + 1, n, unit.parent.type, unit.parent, 0.0, unit.parent.code, None))
            for item, points in zip(unit.items, unit.paper_points, strict=True):
                shuffle = bp.shuffle_options and item.type in domain.CHOICE_TYPES
                option_seed = int(rng.integers(1, 2**62)) if shuffle else None
                entries.append(Entry(len(entries) + 1, n, item.type, item, points, unit.parent.code if unit.parent else None, option_seed))
        slot_points = float(section.points if section.points is not None else section.total / section.count)
        for _slot in range(section.expert_slots):
            entries.append(Entry(len(entries) + 1, n, section.type, None, slot_points, None, None))
    return entries


def permutation(option_seed: int | None, count: int) -> list[int]:
    """Display slot j shows bank option permutation(...)[j]; identity when not shuffled.

    Fisher–Yates driven by SHA-256 of (seed, step), not by NumPy: the key is recomputed
    from the seed long after printing, and must not change with a library upgrade.
    """
    order = list(range(count))
    if option_seed is None:
        return order
    for i in range(count - 1, 0, -1):
        digest = hashlib.sha256(f"examvault/options/v1:{option_seed}:{i}".encode()).digest()
        j = int.from_bytes(digest, "big") % (i + 1)  # bias below 2⁻²⁵⁰
        order[i], order[j] = order[j], order[i]
    return order


def form_answer(bank_answer: str, perm: list[int]) -> str:
    """Bank letters → the letters a candidate sees on this form (sorted, as keys are)."""
    wanted = {LETTERS.index(c) for c in bank_answer}
    return "".join(LETTERS[j] for j, original in enumerate(perm) if original in wanted)


def to_bank_answer(answer_on_form: str, perm: list[int]) -> str:
    """A form answer → bank letters, so scoring and statistics work on bank items."""
    return "".join(sorted(LETTERS[perm[LETTERS.index(c)]] for c in answer_on_form if c in LETTERS[: len(perm)]))
