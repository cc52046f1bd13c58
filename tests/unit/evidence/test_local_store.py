"""The local evidence directory: items under their SHA-256, manifests in canonical JSON, written once."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from evidence_store.local import EvidenceError, ItemIn, LocalEvidenceStore, canonical_json


def items(tmp_path: Path) -> list[ItemIn]:
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8 first frame")
    (tmp_path / "clip.mp4").write_bytes(b"clip bytes" * 1000)
    return [
        ItemIn("frame-first.jpg", "image/jpeg", tmp_path / "a.jpg"),
        ItemIn("clip.mp4", "video/mp4", tmp_path / "clip.mp4"),
    ]


def test_a_package_lists_each_item_by_its_sha256_and_its_id_is_the_manifest_hash(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "store")
    package = store.seal(items(tmp_path), {"camera_id": "cam-1", "model_sha256": "ab" * 32})
    assert package.package_id == hashlib.sha256(package.manifest_bytes).hexdigest()
    listed = {i["name"]: i for i in package.manifest["items"]}
    assert listed["clip.mp4"]["sha256"] == hashlib.sha256(b"clip bytes" * 1000).hexdigest()
    assert listed["clip.mp4"]["size"] == 10_000
    assert (store.items / listed["clip.mp4"]["sha256"]).read_bytes() == b"clip bytes" * 1000
    assert store.read(package.package_id).manifest == package.manifest
    assert store.verify_items(package.package_id) == []


def test_stored_files_are_read_only(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "store")
    package = store.seal(items(tmp_path), {})
    manifest = store.packages / f"{package.package_id}.json"
    for path in [manifest, *store.items.iterdir()]:
        assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_sealing_the_same_content_twice_gives_the_same_package(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "store")
    first = store.seal(items(tmp_path), {"camera_id": "cam-1"})
    second = store.seal(items(tmp_path), {"camera_id": "cam-1"})
    assert first.package_id == second.package_id
    assert len(list(store.packages.iterdir())) == 1
    assert len(list(store.items.iterdir())) == 2


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    assert (
        canonical_json({"b": [1, "二"], "a": {"d": None, "c": True}})
        == '{"a":{"c":true,"d":null},"b":[1,"二"]}'.encode()
    )


def test_a_float_in_a_manifest_is_refused_by_name() -> None:
    with pytest.raises(EvidenceError, match=r"\$\.context\.score is a float"):
        canonical_json({"context": {"score": 0.5}})


def test_an_altered_item_or_manifest_is_named(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "store")
    package = store.seal(items(tmp_path), {})
    clip = next(i for i in package.manifest["items"] if i["name"] == "clip.mp4")
    path = store.items / clip["sha256"]
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[5] ^= 0xFF
    path.write_bytes(bytes(data))
    assert store.verify_items(package.package_id) == [
        f"item clip.mp4: SHA-256 {hashlib.sha256(bytes(data)).hexdigest()[:12]}… does not match {clip['sha256'][:12]}…"
    ]
    manifest = store.packages / f"{package.package_id}.json"
    os.chmod(manifest, 0o644)
    manifest.write_bytes(manifest.read_bytes().replace(b"cam", b"cam"))  # unchanged bytes still verify
    store.read(package.package_id)
    manifest.write_bytes(json.dumps({"items": []}).encode())
    with pytest.raises(EvidenceError, match="do not hash to its id"):
        store.read(package.package_id)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "a" * 63])
def test_a_malformed_package_id_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(EvidenceError, match="is not 64 lowercase hex digits"):
        LocalEvidenceStore(tmp_path).read(bad)


def test_a_writer_killed_mid_item_leaves_no_partial_file_under_a_final_name(tmp_path: Path) -> None:
    """A child process starts storing a large item and is killed; only its temporary file may remain."""
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20) * 64)
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "import evidence_store.local as local\n"
        "real = local.os.fsync\n"
        "def slow(fd):\n"
        "    print('writing', flush=True); time.sleep(30); real(fd)\n"
        "local.os.fsync = slow\n"
        f"local.LocalEvidenceStore(Path({str(tmp_path / 'store')!r})).put_item(Path({str(big)!r}))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    child.kill()
    child.wait(10)
    store = LocalEvidenceStore(tmp_path / "store")
    assert [p.name for p in store.items.iterdir() if not p.name.startswith(".tmp-")] == []
    digest, _ = store.put_item(big)  # the next writer completes it
    assert (store.items / digest).stat().st_size == big.stat().st_size
