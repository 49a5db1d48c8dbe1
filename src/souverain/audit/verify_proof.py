"""Independent check of a souverain audit inclusion proof against a signed checkpoint.

This file depends only on the Python standard library and ``cryptography``: a third party (a court, a
supervisory authority) can copy it and check what ``souverain audit prove SEQ`` printed without trusting
the rest of souverain::

    python verify_proof.py proof.json --public-key souverain-audit.pem

Formats (all hashes lowercase hex):

- leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)`` (RFC 6962 / 9162);
  the proof's ``leaf`` is the event's canonical JSON, in which personal fields appear only as keyed digests;
- inclusion proofs and their verification as in RFC 9162 2.1.3, consistency proofs as in 2.1.4;
- a checkpoint signs, with Ed25519, the UTF-8 text
  ``"souverain-audit-checkpoint/v1\\n{origin}\\n{tree_size}\\n{root_hash}\\n{chain_head}\\n{time}\\n"``.

Pass the public key you obtained from the administration through a channel you trust: the copy inside a
proof document only shows that the document is consistent with itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PROOF_FORMAT = "souverain-audit-inclusion-proof/v1"
CHECKPOINT_HEADER = "souverain-audit-checkpoint/v1"


class ProofError(ValueError):
    """The proof does not hold; the message says which check failed."""


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, tree_size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: whether ``leaf`` (a leaf hash) is at ``index`` in the tree of that size and root."""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: whether the tree of ``second`` leaves extends the tree of ``first`` leaves."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


def checkpoint_message(checkpoint: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers."""
    fields = ("origin", "tree_size", "root_hash", "chain_head", "time")
    return "\n".join([CHECKPOINT_HEADER, *(str(checkpoint[f]) for f in fields), ""]).encode()


def verify_checkpoint(checkpoint: dict[str, Any], public_key_pem: str) -> None:
    """Raise ProofError unless ``checkpoint`` carries a valid Ed25519 signature by that key."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ProofError("the public key is not an Ed25519 key")
    try:
        key.verify(bytes.fromhex(checkpoint["signature"]), checkpoint_message(checkpoint))
    except (InvalidSignature, ValueError) as exc:
        raise ProofError("the checkpoint's signature is not valid for this public key") from exc


def verify_proof(document: dict[str, Any], trusted_public_key_pem: str | None = None) -> None:
    """Raise ProofError unless the event in ``document`` is in the tree its signed checkpoint describes."""
    if document.get("format") != PROOF_FORMAT:
        raise ProofError(f"not a {PROOF_FORMAT} document")
    checkpoint = document["checkpoint"]
    public_key = trusted_public_key_pem or document["public_key"]
    if trusted_public_key_pem is not None and _raw(trusted_public_key_pem) != _raw(document["public_key"]):
        raise ProofError("the document names another public key than the trusted one")
    verify_checkpoint(checkpoint, public_key)
    leaf = leaf_hash(document["leaf"].encode())
    if leaf.hex() != document["leaf_hash"]:
        raise ProofError("the leaf hash does not match the leaf")
    if document["tree_size"] != checkpoint["tree_size"]:
        raise ProofError("the proof is for another tree size than the checkpoint's")
    path = [bytes.fromhex(h) for h in document["path"]]
    root = bytes.fromhex(checkpoint["root_hash"])
    if not verify_inclusion(document["leaf_index"], document["tree_size"], leaf, path, root):
        raise ProofError("the inclusion proof does not lead to the checkpoint's root")


def _raw(pem: str) -> bytes:
    key = serialization.load_pem_public_key(pem.encode())
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: exit 0 when the proof holds, 1 (with the reason) when it does not."""
    parser = argparse.ArgumentParser(description="Check a souverain audit inclusion proof.")
    parser.add_argument("proof", type=Path, help="the JSON printed by `souverain audit prove SEQ`")
    parser.add_argument("--public-key", type=Path, help="the administration's audit public key (PEM)")
    args = parser.parse_args(argv)
    try:
        text = args.proof.read_text(encoding="utf-8")
        trusted = args.public_key.read_text(encoding="utf-8") if args.public_key else None
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"error: cannot read {exc.filename if isinstance(exc, OSError) else 'the file'}: {exc}",
            file=sys.stderr,
        )
        return 2
    try:
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ProofError("the proof is not a JSON object")
        verify_proof(document, trusted)
    except KeyError as exc:
        print(f"INVALID: the document has no {exc} field", file=sys.stderr)
        return 1
    except (ProofError, TypeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(f"valid: event at index {document['leaf_index']} is in the tree of {document['tree_size']} leaves")
    return 0


if __name__ == "__main__":
    sys.exit(main())
