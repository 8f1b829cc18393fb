"""RFC 6962 / RFC 9162 Merkle hashing and proofs, against a naive recursive reference."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.custody import merkle
from examvault.custody.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------- the reference (RFC 6962 §2.1, verbatim)


def _sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return _sha(b"")
    if len(d) == 1:
        return _sha(b"\x00" + d[0])
    k = _k(len(d))
    return _sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [mth(d[k:])]
    return ref_path(m - k, d[k:]) + [mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True) if 0 < m < len(d) else []


# ---------------------------------------------------------------- helpers


def _tree(leaves: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for leaf in leaves:
        tree.append_hash(leaf_hash(leaf))
    return tree


def _leaves(n: int, seed: int) -> list[bytes]:
    """Distinct leaves (the index is part of each) of random lengths, the empty leaf included."""
    rng = random.Random(seed)
    return [i.to_bytes(2, "big") + rng.randbytes(rng.randrange(0, 40)) for i in range(n)]


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


def _root(tree: MemoryTree, size: int) -> bytes:
    return merkle.root(tree.node, size)


sizes = st.one_of(st.integers(1, 300), st.sampled_from([1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 255, 256, 257]))


# ---------------------------------------------------------------- hashing


def test_domain_separated_hashes() -> None:
    assert leaf_hash(b"") == _sha(b"\x00") == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == _sha(b"\x01" + a + b)
    assert _sha(b"") == EMPTY_ROOT


def test_leaf_and_node_are_domain_separated() -> None:
    a, b = leaf_hash(b"left"), leaf_hash(b"right")
    inner = node_hash(a, b)
    # the 64 bytes of an internal node, offered as a leaf, do not hash to that node
    assert leaf_hash(a + b) != inner
    assert _sha(a + b) != inner
    # and the tree of those two leaves differs from the one-leaf tree holding left‖right
    assert _root(_tree([b"left", b"right"]), 2) == inner
    assert _root(_tree([a + b]), 1) != inner
    # a one-leaf tree's root is never its raw leaf's plain hash
    assert _root(_tree([b"x"]), 1) != _sha(b"x")
    # a proof built on the 64-byte "leaf" does not verify against the real tree
    assert not verify_inclusion(a + b, 0, 1, [], inner)


def test_known_vectors() -> None:
    """The RFC 6962 test tree from certificate-transparency (roots for sizes 1..8)."""
    leaves = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
    roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    tree = _tree(leaves)
    assert [_root(tree, n).hex() for n in range(1, 9)] == roots
    assert _root(tree, 0) == EMPTY_ROOT


def test_memory_tree_reports_completed_nodes() -> None:
    tree = MemoryTree()
    assert tree.append_hash(leaf_hash(b"0")) == [(0, 0, leaf_hash(b"0"))]
    made = tree.append_hash(leaf_hash(b"1"))
    assert made == [(0, 1, leaf_hash(b"1")), (1, 0, node_hash(leaf_hash(b"0"), leaf_hash(b"1")))]
    tree.append_hash(leaf_hash(b"2"))
    made = tree.append_hash(leaf_hash(b"3"))
    assert [(lv, ix) for lv, ix, _ in made] == [(0, 3), (1, 1), (2, 0)]
    assert made[-1][2] == mth([b"0", b"1", b"2", b"3"]) and len(tree) == 4


# ---------------------------------------------------------------- roots and inclusion


@given(n=sizes, seed=st.integers(0, 2**32))
@settings(max_examples=30, deadline=None)
def test_root_and_inclusion(n: int, seed: int) -> None:
    leaves = _leaves(n + 1, seed)  # one more, so the tree of size n+1 exists for the wrong-size checks
    tree = _tree(leaves)
    d = leaves[:n]
    root = _root(tree, n)
    assert root == mth(d)
    bigger, smaller = _root(tree, n + 1), (_root(tree, n - 1) if n > 1 else None)
    rng = random.Random(seed)
    checked_against_reference = set(range(n)) if n <= 40 else {0, n - 1, *rng.sample(range(n), 12)}
    for i in range(n):
        path = inclusion_path(tree.node, i, n)
        if i in checked_against_reference:
            assert path == ref_path(i, d)
        assert verify_inclusion(d[i], i, n, path, root)
        assert not verify_inclusion(d[i] + b"x", i, n, path, root)  # wrong leaf
        assert not verify_inclusion(d[(i + 1) % n], i, n, path, root) or n == 1  # another leaf
        if n > 1:
            assert not verify_inclusion(d[i], (i + 1) % n, n, path, root)  # wrong index
        assert not verify_inclusion(d[i], i, n, path, _flip(root))  # wrong root
        assert not verify_inclusion(d[i], i, n + 1, path, bigger)  # wrong size (with that size's root)
        if smaller is not None and i < n - 1:
            assert not verify_inclusion(d[i], i, n - 1, path, smaller)
        assert not verify_inclusion(d[i], n, n, path, root)  # index out of range
        assert not verify_inclusion(d[i], -1, n, path, root)
        if path:
            assert not verify_inclusion(d[i], i, n, path[:-1], root)  # short path
            assert not verify_inclusion(d[i], i, n, [_flip(path[0]), *path[1:]], root)
        assert not verify_inclusion(d[i], i, n, [*path, root], root)  # long path


@given(leaves=st.lists(st.binary(max_size=20), min_size=1, max_size=40, unique=True))
@settings(max_examples=50, deadline=None)
def test_root_and_inclusion_for_arbitrary_leaves(leaves: list[bytes]) -> None:
    tree = _tree(leaves)
    n = len(leaves)
    assert _root(tree, n) == mth(leaves)
    for i, leaf in enumerate(leaves):
        path = inclusion_path(tree.node, i, n)
        assert verify_inclusion(leaf, i, n, path, mth(leaves))
        for j in range(n):
            if j != i:
                assert not verify_inclusion(leaf, j, n, path, mth(leaves))


def test_inclusion_path_out_of_range() -> None:
    tree = _tree([b"a", b"b"])
    for index, size in ((2, 2), (-1, 2), (0, 0)):
        with pytest.raises(ValueError):
            inclusion_path(tree.node, index, size)


# ---------------------------------------------------------------- consistency


@given(n=sizes, seed=st.integers(0, 2**32), fork_at=st.integers(0, 10**6))
@settings(max_examples=25, deadline=None)
def test_consistency(n: int, seed: int, fork_at: int) -> None:
    leaves = _leaves(n, seed)
    tree = _tree(leaves)
    roots = [_root(tree, m) for m in range(n + 1)]
    assert roots[n] == mth(leaves)
    # a forked history: same size, one leaf differs
    j = fork_at % n
    forked = list(leaves)
    forked[j] += b"!"
    fork_tree = _tree(forked)
    fork_root = _root(fork_tree, n)
    rng = random.Random(seed)
    checked_against_reference = set(range(n + 1)) if n <= 40 else {0, 1, n - 1, n, *rng.sample(range(n + 1), 12)}
    for old in range(n + 1):
        path = consistency_path(tree.node, old, n)
        if old in checked_against_reference:
            assert path == ref_proof(old, leaves)
            assert roots[old] == mth(leaves[:old])
        assert verify_consistency(old, n, roots[old], roots[n], path)
        if old > 0:  # (the empty tree is a prefix of every tree, whatever its root)
            assert not verify_consistency(old, n, roots[old], _flip(roots[n]), path)
            assert not verify_consistency(old, n, _flip(roots[old]), roots[n], path)  # changed old root
        if 0 < old < n:
            assert not verify_consistency(n, old, roots[n], roots[old], path)  # the "new" tree is smaller
            assert not verify_consistency(old, n, roots[old], roots[n], path[:-1])
            assert not verify_consistency(old, n, roots[old], roots[n], [*path, roots[n]])
            assert not verify_consistency(old, n, roots[old], roots[n], [_flip(path[0]), *path[1:]])
            if old < n - 1:  # the proof for size n, claimed for size n-1 (with that tree's root)
                assert not verify_consistency(old, n - 1, roots[old], roots[n - 1], path)
        if j < old:  # the old tree saw leaf j as it was; the forked tree changed it
            fork_path = consistency_path(fork_tree.node, old, n)
            assert not verify_consistency(old, n, roots[old], fork_root, path)
            assert not verify_consistency(old, n, roots[old], fork_root, fork_path)
        elif old > 0:  # a change after the old size is a legitimate extension of it
            assert verify_consistency(old, n, roots[old], fork_root, consistency_path(fork_tree.node, old, n))
    with pytest.raises(ValueError):
        consistency_path(tree.node, n, n - 1)


def test_consistency_same_size_fork() -> None:
    a, b = _tree([b"a", b"b", b"c"]), _tree([b"a", b"B", b"c"])
    assert verify_consistency(3, 3, _root(a, 3), _root(a, 3), [])
    assert not verify_consistency(3, 3, _root(a, 3), _root(b, 3), [])
    assert not verify_consistency(3, 3, _root(a, 3), _root(a, 3), [_root(a, 3)])


def test_consistency_from_the_empty_tree() -> None:
    tree = _tree([b"a", b"b"])
    assert verify_consistency(0, 2, EMPTY_ROOT, _root(tree, 2), [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, _root(tree, 2), [])
    assert not verify_consistency(0, 2, EMPTY_ROOT, _root(tree, 2), [_root(tree, 2)])
    assert not verify_consistency(-1, 2, EMPTY_ROOT, _root(tree, 2), [])


def test_consistency_from_size_zero_checks_the_old_root() -> None:
    tree = _tree([b"a", b"b"])
    assert not verify_consistency(0, 2, b"\xff" * 32, _root(tree, 2), [])


def test_a_path_too_short_for_the_claimed_size_fails() -> None:
    """The final `sn == 0` checks: a proof for a 2-leaf tree, claimed for 3 leaves with the same root."""
    tree = _tree([b"a", b"b", b"c"])
    r1, r2 = _root(tree, 1), _root(tree, 2)
    assert verify_inclusion(b"a", 0, 2, [leaf_hash(b"b")], r2)
    assert not verify_inclusion(b"a", 0, 3, [leaf_hash(b"b")], r2)
    path = consistency_path(tree.node, 1, 2)
    assert verify_consistency(1, 2, r1, r2, path)
    assert not verify_consistency(1, 3, r1, r2, path)
