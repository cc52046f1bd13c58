"""A self-contained bundle of one package for a court or a third party, checkable with standard tools.

manifest.json          the exact signed bytes
manifest.sig           the raw 64-byte Ed25519 signature of manifest.json
public_key.pem         the signing key (SubjectPublicKeyInfo)
items/<sha256>         every item
inclusion_proof.json   leaf_index, tree_size, audit_path (hex), root_hash (hex)
tree_head.json         tree_size, root_hash, timestamp, signature (hex), key_id; the key that signed it is
                       tree_head_key.pem (the same file as public_key.pem unless the key was rotated between)
VERIFY.md              how to check all of it with sha256sum, openssl and the RFC 9162 algorithm
"""

from __future__ import annotations

import json
from pathlib import Path

from evidence_store.store import EvidenceError, EvidenceStore, TreeHead

VERIFY_MD = """# Verifying evidence package {package_id}

Everything needed is in this folder; nothing here needs the system that produced it.

## 1. The items are the ones the manifest lists
`manifest.json` lists every item (`items`: name, media type, size, SHA-256). Each is stored as
`items/<sha256>`; this checks every listed item, and only those, against its listed hash:

    python3 -c 'import json; [print(i["sha256"] + "  items/" + i["sha256"]) for i in json.load(open("manifest.json"))["items"]]' | sha256sum -c

Every line must end in `OK`, and there must be one line per listed item. An item over 1 MiB also lists the
SHA-256 of each 1 MiB chunk (`chunks`), which locates damage to a byte range.

## 2. The package id is the manifest's hash
The package id is the SHA-256 of the exact bytes of `manifest.json` (canonical JSON, RFC 8785):

    sha256sum manifest.json        # must print {package_id}

## 3. The manifest is signed by the bureau's key
`manifest.sig` is the raw 64-byte Ed25519 signature of `manifest.json` by `public_key.pem` (key id
`{key_id}` = the first 16 hex digits of the SHA-256 of the raw 32-byte public key):

    openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig

It must print `Signature Verified Successfully`.

## 4. The manifest is in the append-only log
The log is a Merkle tree as in RFC 9162 §2.1. Its leaf input is the 32-byte SHA-256 of `manifest.json`;
leaf hash = SHA-256(0x00 ‖ input); interior node = SHA-256(0x01 ‖ left ‖ right). `inclusion_proof.json` gives
`leaf_index`, `tree_size` and `audit_path`; recompute the root with RFC 9162 §2.1.3.2:

    fn = leaf_index, sn = tree_size - 1, r = leaf hash
    for each p in audit_path:
        if sn == 0: fail
        if fn is odd or fn == sn:
            r = SHA-256(0x01 ‖ p ‖ r)
            if fn is even: shift fn and sn right until fn is odd or fn == 0
        else:
            r = SHA-256(0x01 ‖ r ‖ p)
        shift fn and sn right by one
    at the end sn must be 0 and r must equal root_hash

`root_hash` must equal the one in `tree_head.json`.

## 5. The tree head is signed
`tree_head.json` holds `tree_size`, `root_hash`, `timestamp`, `key_id` and `signature` (hex). The signature
covers the canonical JSON `{{"root_hash":"…","timestamp":"…","tree_size":N}}` (keys in this order, no spaces),
written here as `tree_head.signed`:

    xxd -r -p <<< "$(python3 -c 'import json;print(json.load(open("tree_head.json"))["signature"])')" > tree_head.sig
    openssl pkeyutl -verify -pubin -inkey tree_head_key.pem -rawin -in tree_head.signed -sigfile tree_head.sig

A later tree head of the same log must be consistent with this one (RFC 9162 §2.1.4): the bureau gives a
consistency proof between any two tree sizes (`offsite evidence consistency OLD NEW`), so this package can never
be removed from the log unnoticed.
"""


def export_package(store: EvidenceStore, package_id: str, out: Path) -> Path:
    """Write the bundle into ``out`` (new or empty) and return it."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EvidenceError(f"{out} exists and is not an empty folder")
    report = store.verify(package_id)
    if not report.ok:
        why = report.problems + report.unavailable + report.interrupted
        raise EvidenceError(f"package {package_id} does not verify, not exported: {'; '.join(why)}")
    manifest_bytes = store.manifest_bytes(package_id)
    key_id, signature = store.signature(package_id)
    head = store.latest_head()
    (out / "items").mkdir(parents=True)
    (out / "manifest.json").write_bytes(manifest_bytes)
    (out / "manifest.sig").write_bytes(signature)
    (out / "public_key.pem").write_bytes(store.backend.get(f"keys/{key_id}.pem"))
    for item in json.loads(manifest_bytes)["items"]:
        (out / "items" / item["sha256"]).write_bytes(store.backend.get(f"items/{item['sha256']}"))
    proof = store.proof(package_id, head)
    (out / "inclusion_proof.json").write_text(json.dumps(proof, indent=2) + "\n")
    (out / "tree_head.json").write_text(json.dumps(head.as_json(), indent=2) + "\n")
    (out / "tree_head.signed").write_bytes(TreeHead.signed_bytes_of(head.tree_size, head.root_hash, head.timestamp))
    (out / "tree_head_key.pem").write_bytes(store.backend.get(f"keys/{head.key_id}.pem"))
    (out / "VERIFY.md").write_text(VERIFY_MD.format(package_id=package_id, key_id=key_id))
    return out
