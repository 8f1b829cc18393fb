"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs. Pure: no I/O.

Proof generation reads only the hashes of perfect, aligned subtrees (`node(level, index)`),
so a tree of any size answers a proof with O(log n) lookups whether those hashes sit in a
list or in the database.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

NodeLookup = Callable[[int, int], bytes]  # (level, index) → hash of leaves [index·2^level, (index+1)·2^level)
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree(node: NodeLookup, start: int, end: int) -> bytes:
    """MTH(D[start:end]), where start is aligned as RFC 6962's recursion leaves it."""
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        return node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree(node, start, start + k), subtree(node, start + k, end))


def root(node: NodeLookup, size: int) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree(node, 0, size)


def inclusion_path(node: NodeLookup, index: int, size: int) -> list[bytes]:
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree(node, start + k, end))
            end = start + k
        else:
            path.append(subtree(node, start, start + k))
            start += k
    return path[::-1]


def consistency_path(node: NodeLookup, old: int, new: int) -> list[bytes]:
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to the smaller size {new}")
    if old in (0, new):
        return []
    path: list[bytes] = []
    start, end, whole = 0, new, True
    m = old
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            path.append(subtree(node, start + k, end))
            end = start + k
        else:
            path.append(subtree(node, start, start + k))
            m -= k
            start += k
            whole = False
    if not whole:
        path.append(subtree(node, start, end))
    return path[::-1]


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root_hash)


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, with the trivial cases (empty old tree, equal sizes) made explicit."""
    if not 0 <= old <= new:
        return False
    if old == 0:
        return not path and hmac.compare_digest(old_root, EMPTY_ROOT) and (new > 0 or hmac.compare_digest(new_root, EMPTY_ROOT))
    if old == new:
        return not path and hmac.compare_digest(old_root, new_root)
    if not path:
        return False
    proof = list(path)
    if old & (old - 1) == 0:
        proof.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


class MemoryTree:
    """Perfect-subtree hashes kept level by level: appending costs O(1) amortised."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    def __len__(self) -> int:
        return len(self.levels[0])

    def append_hash(self, h: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the (level, index, hash) nodes it completed, leaf included."""
        made = [(0, len(self.levels[0]), h)]
        self.levels[0].append(h)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            pair = self.levels[level][-2:]
            if level + 1 == len(self.levels):
                self.levels.append([])
            parent = node_hash(pair[0], pair[1])
            made.append((level + 1, len(self.levels[level + 1]), parent))
            self.levels[level + 1].append(parent)
            level += 1
        return made

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]
