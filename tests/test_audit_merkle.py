"""The Merkle tree against RFC 6962's published test vectors, proofs of every shape checked by the
independent verifier, and that verifier's independence from the rest of souverain."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

from souverain.audit import merkle, verify_proof

# The test vectors of the certificate-transparency reference implementation (merkle_tree_test.cc),
# also used by Trillian: eight leaves, the root of every prefix, some audit paths and consistency proofs.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
}
CONSISTENCY = {
    (1, 8): PATHS[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def test_roots_match_the_reference_vectors() -> None:
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    for size in range(1, 9):
        assert merkle.root(HASHES[:size]).hex() == ROOTS[size - 1], size


def test_proofs_match_the_reference_vectors() -> None:
    for (index, size), path in PATHS.items():
        assert [h.hex() for h in merkle.inclusion_proof(HASHES[:size], index)] == path
    for (old, new), proof in CONSISTENCY.items():
        assert [h.hex() for h in merkle.consistency_proof(HASHES[:new], old)] == proof


def test_frontier_resumes_from_its_peaks() -> None:
    start = merkle.Frontier()
    start.extend(HASHES[:5])
    resumed = merkle.Frontier(start.peaks, start.size)
    resumed.extend(HASHES[5:])
    assert resumed.root().hex() == ROOTS[7]
    with pytest.raises(ValueError, match="peaks"):
        merkle.Frontier(start.peaks[:1], 5)


def test_every_proof_of_small_trees_verifies_and_no_altered_one_does() -> None:
    for size in range(1, 34):
        hashes = [hashlib.sha256(str(i).encode()).digest() for i in range(size)]
        root = merkle.root(hashes)
        for index in range(size):
            path = merkle.inclusion_proof(hashes, index)
            assert verify_proof.verify_inclusion(index, size, hashes[index], path, root)
            if size > 1:
                other = hashes[(index + 1) % size]
                assert not verify_proof.verify_inclusion(index, size, other, path, root)
            if path:
                bent = [*path[:-1], hashlib.sha256(path[-1]).digest()]
                assert not verify_proof.verify_inclusion(index, size, hashes[index], bent, root)
            if index + 1 < size:  # the same leaf claimed at another position
                assert not verify_proof.verify_inclusion(index + 1, size, hashes[index], path, root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(hashes, old)
            old_root = merkle.root(hashes[:old])
            assert verify_proof.verify_consistency(old, size, old_root, root, proof)
            if old < size:
                assert not verify_proof.verify_consistency(old, size, root, old_root, proof)
            forged = merkle.root([*hashes[: old - 1], hashlib.sha256(b"forged").digest()])
            assert not verify_proof.verify_consistency(old, size, forged, root, proof)


def test_the_independent_verifier_imports_nothing_from_souverain() -> None:
    source = Path(verify_proof.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= {
        "__future__",
        "argparse",
        "hashlib",
        "json",
        "sys",
        "collections",
        "pathlib",
        "typing",
        "cryptography",
    }, imported
