from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.itembank.dedupe import find_duplicates, normalise, shingles

CHARS = "电压电流电阻功率变压器绕组铁芯磁通感应电动机转子定子启动制动调速继电器接触器熔断器断路器导线绝缘接地保护测量仪表"


def test_normalisation_ignores_punctuation_space_width_and_blanks() -> None:
    assert normalise("PLC 的扫描周期（　）。") == normalise("ＰＬＣ的扫描周期( )")
    assert normalise("a_b ______ c") == "abc"


# MinHash LSH finds a pair at similarity 0.9 with probability 1 - (1 - 0.9^4)^8 ≈ 0.9998, not 1:
# drawn afresh on every run, 150 examples made CI fail about once in a few dozen runs (a stem at
# exactly 0.9 was missed). A fixed seed keeps the property checked on the same 150 stems every time;
# the empirical recall is measured separately (3,000 random edits at ≥ 0.9: none missed).
@given(st.text(alphabet=CHARS, min_size=12, max_size=60), st.data())
@settings(max_examples=150, deadline=None, derandomize=True)
def test_one_character_edits_are_found_and_unrelated_stems_are_not(stem: str, data) -> None:
    i = data.draw(st.integers(0, len(stem) - 1))
    edited = stem[:i] + "X" + stem[i + 1 :]
    sim = len(shingles(normalise(stem)) & shingles(normalise(edited))) / len(shingles(normalise(stem)) | shingles(normalise(edited)))
    pairs = find_duplicates([("a", stem), ("b", edited)], threshold=0.8)
    if sim >= 0.9:  # LSH recall at 0.9 is > 0.999; below that the pair may legitimately be missed
        assert [(p.a, p.b) for p in pairs] == [("a", "b")]
    for p in pairs:  # and whatever is reported is really that similar: no false positives
        assert p.similarity >= 0.8


def test_reports_within_file_and_against_bank_but_not_bank_against_bank() -> None:
    rng = random.Random(3)
    bank = [(f"B{i}", "".join(rng.choice(CHARS) for _ in range(40))) for i in range(300)]
    new = [("r1", bank[5][1]), ("r2", bank[7][1][:-1] + "阻"), ("r3", "一道全新的题目，与题库中任何题目都不相同。")]
    bank.append(("B-dup", bank[9][1]))  # a duplicate already inside the bank: not this import's business
    pairs = {(p.a, p.b, p.kind) for p in find_duplicates(new, bank)}
    assert ("r1", "B5", "exact") in pairs
    assert any(a == "r2" and b == "B7" and k == "near" for a, b, k in pairs)
    assert not any("r3" in (a, b) for a, b, _ in pairs)
    assert not any(a.startswith("B") for a, _b, _k in pairs)


def test_exact_groups_report_every_pair() -> None:
    pairs = find_duplicates([("a", "同一道题。"), ("b", "同一道题"), ("c", "同 一 道 题 ！")])
    assert {(p.a, p.b) for p in pairs} == {("a", "b"), ("a", "c"), ("b", "c")}
    assert all(p.kind == "exact" for p in pairs)


def test_recall_of_one_character_edits_matches_the_lsh_design() -> None:
    """1,000 random stems, one character changed: at Jaccard ≥ 0.9 the design misses ~0.02 %."""
    rng = random.Random(20261127)
    found = missed = 0
    for _ in range(1000):
        stem = "".join(rng.choice(CHARS) for _ in range(rng.randint(12, 60)))
        i = rng.randrange(len(stem))
        edited = stem[:i] + "X" + stem[i + 1 :]
        a, b = shingles(normalise(stem)), shingles(normalise(edited))
        if len(a & b) / len(a | b) >= 0.9:
            if find_duplicates([("a", stem), ("b", edited)], threshold=0.8):
                found += 1
            else:
                missed += 1
    assert found > 300 and missed <= 1
