"""Sealing and verifying on the local backend: every tamper the evidence issue names is detected and named."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidence_store.backends import LocalBackend
from evidence_store.export import export_package
from evidence_store.keys import KeyRing, key_id_of, public_pem
from evidence_store.store import CHUNK_SIZE, INTERRUPTED, EvidenceError, EvidenceStore, ItemIn

CONTEXT = {"camera_id": "cam-1", "captured_at": "2026-12-01T08:00:00+08:00", "model_sha256": "ab" * 32}


def open_store(root: Path) -> EvidenceStore:
    return EvidenceStore(LocalBackend(root / "objects"), root / "state", KeyRing(root / "keys"))


def make_items(folder: Path, tag: str = "") -> list[ItemIn]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "first.jpg").write_bytes(b"\xff\xd8first frame" + tag.encode())
    (folder / "clip.mp4").write_bytes(bytes(range(256)) * (3 * CHUNK_SIZE // 256) + b"tail" + tag.encode())
    return [
        ItemIn("frame-first.jpg", "image/jpeg", folder / "first.jpg"),
        ItemIn("clip.mp4", "video/mp4", folder / "clip.mp4"),
    ]


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return open_store(tmp_path / "evidence")


def writable(path: Path) -> Path:
    os.chmod(path, 0o644)
    return path


def test_a_sealed_package_verifies_and_its_id_is_the_manifest_hash(store: EvidenceStore, tmp_path: Path) -> None:
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    assert sealed.created
    assert sealed.package_id == hashlib.sha256(store.manifest_bytes(sealed.package_id)).hexdigest()
    assert (sealed.leaf_index, sealed.tree_head.tree_size) == (0, 1)
    report = store.verify(sealed.package_id)
    assert report.ok, report.problems
    assert "signature by key" in " ".join(report.checks)
    manifest = store.manifest(sealed.package_id)
    assert manifest["context"] == CONTEXT
    clip = next(i for i in manifest["items"] if i["name"] == "clip.mp4")
    assert len(clip["chunks"]) == 4  # 3 MiB and a few bytes


def test_sealing_the_same_content_twice_changes_nothing(store: EvidenceStore, tmp_path: Path) -> None:
    first = store.seal(make_items(tmp_path / "in"), CONTEXT)
    again = store.seal(make_items(tmp_path / "in"), CONTEXT)
    assert (again.package_id, again.leaf_index, again.created) == (first.package_id, 0, False)
    assert store.log.size == 1
    assert len(store.heads()) == 1


def test_each_new_package_is_appended_and_earlier_ones_stay_consistent(store: EvidenceStore, tmp_path: Path) -> None:
    ids = [store.seal(make_items(tmp_path / f"in{i}", str(i)), CONTEXT).package_id for i in range(5)]
    assert store.log.size == 5
    for package_id in ids:
        report = store.verify(package_id)
        assert report.ok, report.problems
    assert store.verify_log() == []
    assert "consistency 1 → 5" in store.verify(ids[0]).checks


def test_a_flipped_byte_in_an_item_is_named_with_its_byte_range(store: EvidenceStore, tmp_path: Path) -> None:
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    clip = next(i for i in store.manifest(sealed.package_id)["items"] if i["name"] == "clip.mp4")
    path = writable(store.backend.path(f"items/{clip['sha256']}"))  # type: ignore[attr-defined]
    data = bytearray(path.read_bytes())
    data[CHUNK_SIZE + 10] ^= 0x01
    path.write_bytes(bytes(data))
    (problem,) = store.verify(sealed.package_id).problems
    assert problem.startswith("item clip.mp4: SHA-256")
    assert f"altered bytes in {CHUNK_SIZE}–{2 * CHUNK_SIZE - 1}" in problem


def test_a_truncated_item_is_named(store: EvidenceStore, tmp_path: Path) -> None:
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    clip = next(i for i in store.manifest(sealed.package_id)["items"] if i["name"] == "clip.mp4")
    path = writable(store.backend.path(f"items/{clip['sha256']}"))  # type: ignore[attr-defined]
    path.write_bytes(path.read_bytes()[:1000])
    (problem,) = store.verify(sealed.package_id).problems
    assert f"1000 bytes, {clip['size']} listed (truncated or extended)" in problem


def test_an_edited_manifest_field_is_named(store: EvidenceStore, tmp_path: Path) -> None:
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    path = writable(store.backend.path(f"packages/{sealed.package_id}.json"))  # type: ignore[attr-defined]
    path.write_bytes(path.read_bytes().replace(b"cam-1", b"cam-2"))
    problems = store.verify(sealed.package_id).problems
    assert any("manifest: its bytes hash to" in p and "(edited)" in p for p in problems)
    assert any("signature: the Ed25519 signature by key" in p for p in problems)


def test_a_replaced_signing_key_is_named(store: EvidenceStore, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    key_id, _ = store.signature(sealed.package_id)
    forged = public_pem(Ed25519PrivateKey.generate().public_key())
    writable(store.backend.path(f"keys/{key_id}.pem")).write_bytes(forged)  # type: ignore[attr-defined]
    problems = store.verify(sealed.package_id).problems
    assert any(f"the published key {key_id} has been replaced" in p for p in problems)


def test_a_package_re_signed_by_another_key_is_named(store: EvidenceStore, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    key_id, _ = store.signature(sealed.package_id)
    intruder = Ed25519PrivateKey.generate()
    record = {
        "algorithm": "Ed25519",
        "key_id": key_id,
        "signature": intruder.sign(store.manifest_bytes(sealed.package_id)).hex(),
    }
    writable(store.backend.path(f"signatures/{sealed.package_id}.json")).write_text(json.dumps(record))  # type: ignore[attr-defined]
    assert any("does not match the manifest bytes" in p for p in store.verify(sealed.package_id).problems)
    assert key_id_of(intruder.public_key()) != key_id


@pytest.mark.parametrize("tamper", ["drop", "reorder", "insert"])
def test_a_dropped_reordered_or_inserted_log_entry_is_named(tmp_path: Path, tamper: str) -> None:
    root = tmp_path / "evidence"
    store = open_store(root)
    ids = [store.seal(make_items(tmp_path / f"in{i}", str(i)), CONTEXT).package_id for i in range(4)]
    leaves = writable(root / "state" / "log" / "leaves.bin")
    entries = [leaves.read_bytes()[i : i + 32] for i in range(0, 4 * 32, 32)]
    if tamper == "drop":
        entries.pop(1)
    elif tamper == "reorder":
        entries[0], entries[1] = entries[1], entries[0]
    else:
        entries.insert(2, hashlib.sha256(b"forged").digest())
    leaves.write_bytes(b"".join(entries))
    store.close()
    reopened = open_store(root)
    problems = reopened.verify(ids[0]).problems + reopened.verify_log()
    named = " ".join(problems)
    assert "entries dropped, reordered or inserted" in named or "rolled back" in named, problems


def test_a_log_rolled_back_to_an_older_state_is_named(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    store = open_store(root)
    store.seal(make_items(tmp_path / "in0", "0"), CONTEXT)
    store.seal(make_items(tmp_path / "in1", "1"), CONTEXT)
    saved = tmp_path / "saved-state"
    shutil.copytree(root / "state", saved)
    store.seal(make_items(tmp_path / "in2", "2"), CONTEXT)
    store.close()
    shutil.rmtree(root / "state")
    shutil.copytree(saved, root / "state")  # the log and its tree heads as they were two packages ago
    problems = open_store(root).verify_log()
    assert any("rolled back" in p for p in problems), problems


def test_a_malformed_package_id_is_refused(store: EvidenceStore) -> None:
    with pytest.raises(EvidenceError, match="is not 64 lowercase hex digits"):
        store.manifest_bytes("../../etc/passwd")
    assert store.verify("0" * 64).problems == [f"package {'0' * 64} does not exist"]


def test_a_package_needs_distinct_readable_items(store: EvidenceStore, tmp_path: Path) -> None:
    items = make_items(tmp_path / "in")
    with pytest.raises(EvidenceError, match="item names must be distinct"):
        store.seal([items[0], items[0]], CONTEXT)
    with pytest.raises(EvidenceError, match="is not a readable file"):
        store.seal([ItemIn("x.jpg", "image/jpeg", tmp_path / "missing.jpg")], CONTEXT)
    with pytest.raises(ValueError, match=r"\$\.context\.score is a float"):
        store.seal(items, {"score": 0.5})
    assert store.log.size == 0


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from evidence_store.backends import LocalBackend
from evidence_store.keys import KeyRing
from evidence_store.store import EvidenceStore, ItemIn

root, stage = Path(sys.argv[1]), sys.argv[2]
class Slow(LocalBackend):
    def put(self, key, data, media_type="application/octet-stream"):
        if key.startswith(stage):
            print("stalled", flush=True)
            time.sleep(60)
        super().put(key, data, media_type)
store = EvidenceStore(Slow(root / "objects"), root / "state", KeyRing(root / "keys"))
items = [ItemIn("a.jpg", "image/jpeg", root.parent / "a.jpg")]
print(store.seal(items, {"n": "1"}).package_id, flush=True)
"""


def kill_a_seal_midway(root: Path, stage: str) -> None:
    """A child process seals a.jpg (written beside ``root``) into the store at ``root`` and is killed with SIGKILL
    as it writes under ``stage``: what a power cut or kill -9 in the middle of a seal leaves behind."""
    (root.parent / "a.jpg").write_bytes(b"\xff\xd8 the frame")
    child = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(root), stage], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "stalled"
    child.kill()
    child.wait(10)


@pytest.mark.parametrize(("stage", "visible"), [("packages/", False), ("signatures/", True), ("heads/", True)])
def test_a_seal_killed_midway_leaves_the_package_absent_or_complete(tmp_path: Path, stage: str, visible: bool) -> None:
    root = tmp_path / "evidence"
    kill_a_seal_midway(root, stage)
    store = open_store(root)  # recovery runs here
    ids = list(store.package_ids())
    assert store.verify_log() == []
    if visible or ids:
        (package_id,) = ids
        assert store.verify(package_id).ok, store.verify(package_id).problems
        assert store.log.size == 1
    else:
        assert ids == []
    sealed = store.seal([ItemIn("a.jpg", "image/jpeg", tmp_path / "a.jpg")], {"n": "1"})
    assert store.verify(sealed.package_id).ok
    assert store.log.size == 1


@pytest.mark.parametrize("stage", ["packages/", "signatures/", "heads/"])
def test_a_reader_between_a_killed_seal_and_the_next_writer_names_an_interrupted_seal_not_tampering(
    tmp_path: Path, stage: str
) -> None:
    root = tmp_path / "evidence"
    kill_a_seal_midway(root, stage)

    reader = EvidenceStore(LocalBackend(root / "objects"), root / "state", KeyRing(root / "keys"), read_only=True)
    reports = [reader.verify(package_id) for package_id in reader.package_ids()] + [reader.log_report()]

    assert [p for r in reports for p in r.problems] == []
    interrupted = [line for r in reports for line in r.interrupted]
    assert interrupted
    assert all(line.endswith(INTERRUPTED) for line in interrupted)
    reader.close()
    writer = open_store(root)
    assert writer.log_report().ok
    assert writer.interrupted_seals() == set()


def test_the_next_writer_removes_the_temporary_files_of_killed_writes(store: EvidenceStore, tmp_path: Path) -> None:
    store.seal(make_items(tmp_path / "in"), CONTEXT)
    store.close()
    root = tmp_path / "evidence"
    left = [
        root / "objects" / "items" / ".tmp-k1",
        root / "state" / "pending" / ".tmp-k2",
        root / "state" / "log" / "level-0.bin.tmp",
    ]
    for path in left:
        path.write_bytes(b"half an object")

    reopened = open_store(root)

    assert [path for path in left if path.exists()] == []
    assert reopened.log_report().ok


def test_keys_rotate_and_old_packages_keep_verifying(store: EvidenceStore, tmp_path: Path) -> None:
    old = store.seal(make_items(tmp_path / "in0", "0"), CONTEXT)
    first_key = store.keys.active().key_id
    rotated = store.keys.rotate()
    new = store.seal(make_items(tmp_path / "in1", "1"), CONTEXT)
    assert rotated.key_id != first_key
    assert store.signature(new.package_id)[0] == rotated.key_id
    assert [k.active for k in store.keys.entries()] == [False, True]
    assert store.verify(old.package_id).ok
    assert store.verify(new.package_id).ok


def test_the_export_bundle_checks_out_with_standard_tools(store: EvidenceStore, tmp_path: Path) -> None:
    for i in range(3):
        store.seal(make_items(tmp_path / f"pre{i}", f"p{i}"), CONTEXT)
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    store.seal(make_items(tmp_path / "post", "post"), CONTEXT)
    out = export_package(store, sealed.package_id, tmp_path / "bundle")
    names = {p.name for p in out.iterdir()}
    assert {
        "manifest.json",
        "manifest.sig",
        "public_key.pem",
        "items",
        "inclusion_proof.json",
        "tree_head.json",
        "VERIFY.md",
    } <= names
    assert len((out / "manifest.sig").read_bytes()) == 64
    digest = subprocess.run(["sha256sum", "manifest.json"], cwd=out, capture_output=True, text=True, check=True)
    assert digest.stdout.split()[0] == sealed.package_id
    for item in (out / "items").iterdir():
        check = subprocess.run(["sha256sum", str(item)], capture_output=True, text=True, check=True)
        assert check.stdout.split()[0] == item.name
    openssl = ["openssl", "pkeyutl", "-verify", "-pubin", "-rawin"]
    signed = subprocess.run(
        [*openssl, "-inkey", "public_key.pem", "-in", "manifest.json", "-sigfile", "manifest.sig"],
        cwd=out, capture_output=True, text=True,
    )  # fmt: skip
    assert "Signature Verified Successfully" in signed.stdout, signed.stdout + signed.stderr
    head = json.loads((out / "tree_head.json").read_text())
    (out / "tree_head.sig").write_bytes(bytes.fromhex(head["signature"]))
    signed_head = subprocess.run(
        [*openssl, "-inkey", "tree_head_key.pem", "-in", "tree_head.signed", "-sigfile", "tree_head.sig"],
        cwd=out, capture_output=True, text=True,
    )  # fmt: skip
    assert "Signature Verified Successfully" in signed_head.stdout
    proof = json.loads((out / "inclusion_proof.json").read_text())
    assert (proof["leaf_index"], proof["tree_size"]) == (3, 5)
    assert rfc9162_root(sealed.package_id, proof) == proof["root_hash"] == head["root_hash"]


def rfc9162_root(package_id: str, proof: dict[str, object]) -> str:
    """RFC 9162 §2.1.3.2, written from the RFC as VERIFY.md gives it: the root from a leaf and its audit path."""
    fn, sn = int(proof["leaf_index"]), int(proof["tree_size"]) - 1  # type: ignore[call-overload]
    r = hashlib.sha256(b"\x00" + bytes.fromhex(package_id)).digest()
    for p in (bytes.fromhex(h) for h in proof["audit_path"]):  # type: ignore[attr-defined]
        assert sn != 0
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return r.hex()


def test_a_correction_is_a_new_package_linked_to_the_one_it_corrects(store: EvidenceStore, tmp_path: Path) -> None:
    original = store.seal(make_items(tmp_path / "in"), CONTEXT)
    (tmp_path / "note.txt").write_text("the camera clock was 2 minutes fast")
    note = [ItemIn("correction.txt", "text/plain", tmp_path / "note.txt")]
    correction = store.seal(note, {"kind": "correction"}, {"corrects": original.package_id})
    assert store.manifest(correction.package_id)["links"] == {"corrects": original.package_id}
    assert store.verify(correction.package_id).ok
    assert store.verify(original.package_id).ok  # the original is untouched
    with pytest.raises(EvidenceError, match="is not in this store's log"):
        store.seal(note, {"kind": "correction"}, {"corrects": "f" * 64})


def test_the_local_backend_has_no_legal_hold_and_says_so(store: EvidenceStore, tmp_path: Path) -> None:
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    with pytest.raises(EvidenceError, match="has no legal hold"):
        store.set_legal_hold(sealed.package_id, True)


def test_a_second_sealing_process_is_refused_and_a_reader_is_not(store: EvidenceStore, tmp_path: Path) -> None:
    from evidence_store.store import StoreBusy

    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    root = store.state_dir.parent
    child = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, '.');"
         "from pathlib import Path; from tests.unit.evidence.test_store import open_store;"
         f"open_store(Path({str(root)!r}))"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    assert child.returncode != 0
    assert "is in use by process" in child.stderr
    reader = EvidenceStore(store.backend, store.state_dir, store.keys, read_only=True)
    assert reader.verify(sealed.package_id).ok
    with pytest.raises(EvidenceError, match="opened read-only"):
        reader.seal(make_items(tmp_path / "other", "x"), CONTEXT)
    assert StoreBusy.__mro__[1] is EvidenceError


def test_a_key_slipped_into_the_published_keys_is_not_trusted(store: EvidenceStore, tmp_path: Path) -> None:
    """A forger with write access but without the instance's private key: own key, own manifest, own log entry."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from evidence_store.canonical import canonical_json
    from evidence_store.store import TreeHead

    store.seal(make_items(tmp_path / "in"), CONTEXT)
    forger = Ed25519PrivateKey.generate()
    forged_id = key_id_of(forger.public_key())
    pem = public_pem(forger.public_key())
    (store.keys.folder / "public" / f"{forged_id}.pem").write_bytes(pem)
    store.backend.put(f"keys/{forged_id}.pem", pem)
    manifest = canonical_json({"format": "offsite-evidence-package/1", "items": [], "context": {"forged": True}})
    package_id = hashlib.sha256(manifest).hexdigest()
    store.backend.put(f"packages/{package_id}.json", manifest)
    record = {"algorithm": "Ed25519", "key_id": forged_id, "signature": forger.sign(manifest).hex()}
    store.backend.put(f"signatures/{package_id}.json", canonical_json(record))
    store.log.append(bytes.fromhex(package_id))
    size, root = store.log.size, store.log.root()
    stamp = "2026-12-01T08:00:00.000000+00:00"
    head = TreeHead(size, root, stamp, forged_id, forger.sign(TreeHead.signed_bytes_of(size, root, stamp)))
    with (store.state_dir / "heads.jsonl").open("ab") as out:
        out.write(canonical_json(head.as_json()) + b"\n")
    problems = store.verify(package_id).problems
    assert any(f"key {forged_id} is not one of this instance's signing keys" in p for p in problems), problems
    assert any("is not one of this instance's signing keys" in p for p in store.verify_log())


def test_a_key_added_to_the_ring_without_its_predecessors_endorsement_is_not_trusted(
    store: EvidenceStore, tmp_path: Path
) -> None:
    store.seal(make_items(tmp_path / "in"), CONTEXT)
    rotated = store.keys.rotate()
    (store.keys.folder / "endorsements" / f"{rotated.key_id}.sig").unlink()
    sealed = store.seal(make_items(tmp_path / "in2", "2"), CONTEXT)
    problems = store.verify(sealed.package_id).problems
    assert any(f"key {rotated.key_id} is not endorsed by key" in p for p in problems), problems


def test_an_item_is_read_back_by_name_only_while_it_matches_its_hash(store: EvidenceStore, tmp_path: Path) -> None:
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    media_type, data = store.item(sealed.package_id, "frame-first.jpg")
    assert (media_type, data) == ("image/jpeg", b"\xff\xd8first frame")
    with pytest.raises(EvidenceError, match=r"has no item 'nothing\.jpg'"):
        store.item(sealed.package_id, "nothing.jpg")
    first = next(i for i in store.manifest(sealed.package_id)["items"] if i["name"] == "frame-first.jpg")
    writable(store.backend.path(f"items/{first['sha256']}")).write_bytes(b"\xff\xd8other")  # type: ignore[attr-defined]
    with pytest.raises(EvidenceError, match="does not match its SHA-256"):
        store.item(sealed.package_id, "frame-first.jpg")
