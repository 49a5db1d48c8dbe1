"""Merkle tree hashing and proofs in the style of RFC 6962 / RFC 9162 (Certificate Transparency).

Pure functions over leaf hashes (bytes). The tree hash of n leaves is the RFC's MTH: for n > 1, split at
k, the largest power of two smaller than n, and hash MTH(D[0:k]) with MTH(D[k:n]). Equivalently, it is the
right-to-left fold of the perfect subtrees the binary digits of n describe (the "frontier"), which is how
``Frontier`` computes it in O(log n) memory while the leaves stream past. Proofs follow RFC 9162 2.1.3
(inclusion) and 2.1.4 (consistency); ``souverain.audit.verify_proof`` checks them independently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The hash of the empty tree."""


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees covering the leaves so far, left to right: enough to add a leaf
    and to compute the tree hash without keeping the leaves."""

    def __init__(self, peaks: Sequence[bytes] = (), size: int = 0) -> None:
        if len(peaks) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} peaks, not {len(peaks)}")
        self.peaks = list(peaks)
        self.size = size

    def append(self, leaf_hash_: bytes) -> None:
        """Add the next leaf (its hash)."""
        node, n = leaf_hash_, self.size
        while n & 1:  # each trailing one bit is a perfect subtree the new leaf completes
            node = node_hash(self.peaks.pop(), node)
            n >>= 1
        self.peaks.append(node)
        self.size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add several leaves in order."""
        for item in leaf_hashes:
            self.append(item)

    def root(self) -> bytes:
        """MTH of the leaves added so far."""
        if not self.peaks:
            return EMPTY_ROOT
        node = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            node = node_hash(peak, node)
        return node


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of ``leaf_hashes``."""
    frontier = Frontier()
    frontier.extend(leaf_hashes)
    return frontier.root()


def _subtree(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    return root(leaf_hashes[lo:hi])


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 2.1.3.1: the sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaf_hashes)} leaves")
    path: list[bytes] = []
    lo, hi = 0, len(leaf_hashes)
    while hi - lo > 1:  # descend from the root, collecting the subtree beside the leaf at each level
        k = split_point(hi - lo)
        if index - lo < k:
            path.append(_subtree(leaf_hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(_subtree(leaf_hashes, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 2.1.4.1: shows the first ``old_size`` leaves are unchanged."""
    if not 0 < old_size <= len(leaf_hashes):
        raise ValueError(f"no consistency proof from {old_size} to {len(leaf_hashes)} leaves")
    return _subproof(leaf_hashes, 0, len(leaf_hashes), old_size, complete=True)


def _subproof(leaf_hashes: Sequence[bytes], lo: int, hi: int, m: int, complete: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if complete else [_subtree(leaf_hashes, lo, hi)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(leaf_hashes, lo, lo + k, m, complete), _subtree(leaf_hashes, lo + k, hi)]
    return [*_subproof(leaf_hashes, lo + k, hi, m - k, False), _subtree(leaf_hashes, lo, lo + k)]
