"""A package whose items another process stored (a camera worker) is sealed from its manifest: the same package as
sealing the files here would make, once however often it is asked; a manifest naming items the store lacks, or not
a manifest at all, is refused and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence_store.backends import LocalBackend
from evidence_store.store import EvidenceError, ItemsMissing, package_id_of, package_manifest, store_item
from tests.unit.evidence.test_store import make_items, open_store


def test_a_manifest_of_stored_items_seals_as_the_files_would_and_once(tmp_path: Path) -> None:
    items = make_items(tmp_path / "files")
    worker = LocalBackend(tmp_path / "store" / "objects")  # another process, the same objects
    manifest = package_manifest([store_item(worker, item) for item in items], {"event_id": "e-1"})
    store = open_store(tmp_path / "store")

    sealed = store.seal_stored(manifest)
    assert sealed.package_id == package_id_of(manifest)  # known to the worker before sealing
    assert sealed.created
    assert store.verify(sealed.package_id).ok
    again = store.seal_stored(manifest)
    assert (again.package_id, again.created, store.log.size) == (sealed.package_id, False, 1)

    here = open_store(tmp_path / "here")
    assert here.seal(make_items(tmp_path / "files"), {"event_id": "e-1"}).package_id == sealed.package_id


def test_a_manifest_naming_what_the_store_lacks_or_no_manifest_is_refused(tmp_path: Path) -> None:
    items = make_items(tmp_path / "files")
    elsewhere = LocalBackend(tmp_path / "elsewhere")  # stored where this store does not look
    manifest = package_manifest([store_item(elsewhere, item) for item in items], {"event_id": "e-1"})
    store = open_store(tmp_path / "store")
    with pytest.raises(ItemsMissing, match="store it first"):
        store.seal_stored(manifest)
    for bad in ({"format": "other"}, manifest | {"items": []}, manifest | {"items": [{"name": "x", "sha256": "nope"}]},
                manifest | {"items": manifest["items"] * 2}):  # fmt: skip
        with pytest.raises(EvidenceError):
            store.seal_stored(bad)
    assert store.log.size == 0
