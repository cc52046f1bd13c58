"""The Merkle log: RFC 9162 §2.1 tree heads and proofs, checked against the RFC's definitions written out here."""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_store.merkle import (
    EMPTY_ROOT,
    MerkleLog,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

SIZES = range(1, 41)


# -- the RFC's definitions, written out independently of the module (over leaf inputs, with hashlib) ---------------


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = largest_power_of_two_below(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = largest_power_of_two_below(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
    if m == len(d):
        return [] if complete else [mth(d)]
    k = largest_power_of_two_below(len(d))
    if m <= k:
        return [*subproof(m, d[:k], complete), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


def digest(i: int) -> bytes:
    return hashlib.sha256(f"package manifest {i}".encode()).digest()


INPUTS = [digest(i) for i in range(max(SIZES))]


@pytest.fixture(scope="module")
def log40(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MerkleLog]:
    """A log of 40 leaves appended one at a time; its earlier sizes stand for every smaller tree."""
    log = MerkleLog.open(tmp_path_factory.mktemp("log40"))
    for value in INPUTS:
        log.append(value)
    yield log
    log.close()


def flip(value: bytes, position: int = 0) -> bytes:
    changed = bytearray(value)
    changed[position] ^= 0x01
    return bytes(changed)


# -- the pure functions -----------------------------------------------------------------------------------------------


def test_leaf_and_node_hashes_carry_the_rfc_domain_prefixes() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert root_from_leaves([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


# The roots of the CT test vectors (RFC 6962's reference implementation, carried on by transparency-dev).
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_root_from_leaves_gives_the_certificate_transparency_test_vector_roots(size: int) -> None:
    leaves = [leaf_hash(bytes.fromhex(leaf)) for leaf in CT_LEAVES[:size]]
    assert root_from_leaves(leaves).hex() == CT_ROOTS[size - 1]
    assert mth([bytes.fromhex(leaf) for leaf in CT_LEAVES[:size]]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize("size", SIZES)
def test_root_from_leaves_is_the_rfc_mth(size: int) -> None:
    assert root_from_leaves([leaf_hash(v) for v in INPUTS[:size]]) == mth(INPUTS[:size])


# -- the log against the definitions: every size, every index, every old size ---------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_the_root_of_every_size_is_the_rfc_mth(log40: MerkleLog, size: int) -> None:
    assert log40.root(size) == mth(INPUTS[:size])


def test_the_root_of_the_empty_tree_is_the_hash_of_nothing(log40: MerkleLog) -> None:
    assert log40.root(0) == EMPTY_ROOT
    assert log40.root() == mth(INPUTS)


@pytest.mark.parametrize("size", SIZES)
def test_every_inclusion_proof_is_the_rfc_path_verifies_and_is_at_most_log2_long(log40: MerkleLog, size: int) -> None:
    root = log40.root(size)
    for index in range(size):
        audit_path = log40.inclusion_proof(index, size)
        assert audit_path == path(index, INPUTS[:size])
        assert len(audit_path) <= math.ceil(math.log2(size))
        verify_inclusion(log40.leaf_hash(index), index, size, audit_path, root)
        assert root_from_inclusion(leaf_hash(INPUTS[index]), index, size, audit_path) == root


@pytest.mark.parametrize("new_size", SIZES)
def test_every_consistency_proof_is_the_rfc_proof_verifies_and_is_at_most_log2_plus_one_long(
    log40: MerkleLog, new_size: int
) -> None:
    new_root = log40.root(new_size)
    for old_size in range(1, new_size + 1):
        consistency = log40.consistency_proof(old_size, new_size)
        assert consistency == proof(old_size, INPUTS[:new_size])
        assert len(consistency) <= math.ceil(math.log2(new_size)) + 1
        verify_consistency(old_size, new_size, log40.root(old_size), new_root, consistency)


def test_equal_sizes_give_an_empty_consistency_proof(log40: MerkleLog) -> None:
    assert log40.consistency_proof(40) == []
    verify_consistency(40, 40, log40.root(), log40.root(), [])


def test_the_log_reads_back_its_leaves(log40: MerkleLog) -> None:
    assert log40.size == 40
    assert [log40.leaf_input(i) for i in range(40)] == INPUTS
    assert [log40.leaf_hash(i) for i in range(40)] == [leaf_hash(v) for v in INPUTS]
    assert log40.find(INPUTS[17]) == 17
    assert log40.find(b"\x00" * 32) is None


# -- tampering: each a ProofError that says what failed ---------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 17))
def test_an_inclusion_proof_verifies_for_its_own_leaf_and_tree_head_only(log40: MerkleLog, size: int) -> None:
    root = log40.root(size)
    for index in range(size):
        audit_path = log40.inclusion_proof(index, size)
        for other in range(size):
            if other != index:
                with pytest.raises(ProofError, match=rf"leaf {other} of {size}"):
                    verify_inclusion(log40.leaf_hash(index), other, size, audit_path, root)
        for other_size in range(index + 1, 17):
            if other_size != size:
                with pytest.raises(ProofError, match=rf"leaf {index} of {other_size}"):
                    verify_inclusion(log40.leaf_hash(index), index, other_size, audit_path, log40.root(other_size))


def test_a_flipped_byte_in_a_path_hash_gives_a_root_that_does_not_match(log40: MerkleLog) -> None:
    audit_path = log40.inclusion_proof(5, 12)
    for position in range(len(audit_path)):
        tampered = [*audit_path]
        tampered[position] = flip(tampered[position], 31)
        with pytest.raises(
            ProofError,
            match=r"inclusion proof for leaf 5 of 12: computed root \w+… does not match the tree head's \w+…",
        ):
            verify_inclusion(log40.leaf_hash(5), 5, 12, tampered, log40.root(12))


def test_a_flipped_leaf_or_root_does_not_verify(log40: MerkleLog) -> None:
    audit_path = log40.inclusion_proof(5, 12)
    with pytest.raises(ProofError, match="does not match"):
        verify_inclusion(flip(log40.leaf_hash(5)), 5, 12, audit_path, log40.root(12))
    with pytest.raises(ProofError, match="does not match"):
        verify_inclusion(log40.leaf_hash(5), 5, 12, audit_path, flip(log40.root(12)))


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (slice(0, 3), "inclusion proof for leaf 5 of 12: path has 3 hashes, a tree of 12 needs 4"),
        (slice(0, 0), "inclusion proof for leaf 5 of 12: path has 0 hashes, a tree of 12 needs 4"),
    ],
)
def test_a_path_that_is_too_short_is_named(log40: MerkleLog, cut: slice, message: str) -> None:
    audit_path = log40.inclusion_proof(5, 12)
    with pytest.raises(ProofError, match=message):
        verify_inclusion(log40.leaf_hash(5), 5, 12, audit_path[cut], log40.root(12))


def test_a_path_that_is_too_long_is_named(log40: MerkleLog) -> None:
    audit_path = [*log40.inclusion_proof(5, 12), log40.root(12)]
    with pytest.raises(ProofError, match="path has 5 hashes, a tree of 12 needs 4"):
        verify_inclusion(log40.leaf_hash(5), 5, 12, audit_path, log40.root(12))


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [
        (0, 0, "inclusion proof for leaf 0 of 0: an empty tree includes no leaf"),
        (12, 12, "inclusion proof for leaf 12 of 12: the index is outside the tree"),
        (-1, 12, "inclusion proof for leaf -1 of 12: the index is outside the tree"),
    ],
)
def test_an_inclusion_proof_outside_the_tree_is_refused(index: int, size: int, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_inclusion(b"\x00" * 32, index, size, [], b"\x00" * 32)


def test_a_hash_that_is_not_32_bytes_is_named() -> None:
    with pytest.raises(ProofError, match="path hash 1 is 31 bytes, not a 32-byte SHA-256 hash"):
        verify_inclusion(b"\x00" * 32, 0, 4, [b"\x00" * 32, b"\x00" * 31], b"\x00" * 32)
    with pytest.raises(ProofError, match="the tree head's root is a str"):
        verify_inclusion(b"\x00" * 32, 0, 1, [], "00" * 32)  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="consistency proof 1→2: the new root is 0 bytes"):
        verify_consistency(1, 2, b"\x00" * 32, b"", [b"\x00" * 32])


@pytest.mark.parametrize(
    ("old_size", "new_size", "message"),
    [
        (7, 13, "consistency proof 7→13: old root does not match"),
        # An old size that is a power of two: the old root is the proof's first hash, the new root shows it.
        (8, 13, "consistency proof 8→13: new root does not match"),
    ],
)
def test_swapped_old_and_new_roots_do_not_verify(log40: MerkleLog, old_size: int, new_size: int, message: str) -> None:
    consistency = log40.consistency_proof(old_size, new_size)
    with pytest.raises(ProofError, match=message):
        verify_consistency(old_size, new_size, log40.root(new_size), log40.root(old_size), consistency)


def test_a_flipped_byte_in_a_consistency_proof_is_caught(log40: MerkleLog) -> None:
    for old_size, new_size in [(8, 13), (5, 12), (3, 7), (16, 40), (39, 40)]:
        consistency = log40.consistency_proof(old_size, new_size)
        for position in range(len(consistency)):
            tampered = [*consistency]
            tampered[position] = flip(tampered[position], 7)
            with pytest.raises(ProofError, match=rf"consistency proof {old_size}→{new_size}: (old|new) root"):
                verify_consistency(old_size, new_size, log40.root(old_size), log40.root(new_size), tampered)


def test_a_consistency_proof_against_another_tree_head_is_caught(log40: MerkleLog) -> None:
    consistency = log40.consistency_proof(6, 13)
    with pytest.raises(ProofError, match="consistency proof 6→13: new root does not match"):
        verify_consistency(6, 13, log40.root(6), log40.root(14), consistency)
    with pytest.raises(ProofError, match="consistency proof 6→13: old root does not match"):
        verify_consistency(6, 13, log40.root(5), log40.root(13), consistency)


@pytest.mark.parametrize("new_size", range(2, 17))
def test_a_consistency_proof_verifies_for_its_own_sizes_only(log40: MerkleLog, new_size: int) -> None:
    for old_size in range(1, new_size):
        consistency = log40.consistency_proof(old_size, new_size)
        for other in range(1, new_size):
            if other != old_size:
                with pytest.raises(ProofError):
                    verify_consistency(other, new_size, log40.root(other), log40.root(new_size), consistency)


def test_a_consistency_proof_of_the_wrong_length_is_named(log40: MerkleLog) -> None:
    consistency = log40.consistency_proof(6, 13)
    assert len(consistency) == 4
    with pytest.raises(ProofError, match="consistency proof 6→13: proof has 3 hashes, 6→13 needs 4"):
        verify_consistency(6, 13, log40.root(6), log40.root(13), consistency[:3])
    with pytest.raises(ProofError, match="consistency proof 6→13: proof has 5 hashes, 6→13 needs 4"):
        verify_consistency(6, 13, log40.root(6), log40.root(13), [*consistency, log40.root(13)])


@pytest.mark.parametrize(
    ("old_size", "new_size", "proof_hashes", "message"),
    [
        (0, 5, 0, "consistency proof 0→5: the old size must be at least 1"),
        (6, 5, 0, "consistency proof 6→5: the old tree is larger than the new one"),
        (5, 5, 1, "consistency proof 5→5: proof has 1 hashes, 5→5 needs 0"),
    ],
)
def test_a_consistency_proof_between_impossible_sizes_is_refused(
    log40: MerkleLog, old_size: int, new_size: int, proof_hashes: int, message: str
) -> None:
    with pytest.raises(ProofError, match=message):
        verify_consistency(old_size, new_size, log40.root(5), log40.root(5), [log40.root(1)] * proof_hashes)


def test_equal_sizes_with_different_roots_are_refused(log40: MerkleLog) -> None:
    with pytest.raises(ProofError, match="consistency proof 5→5: equal sizes but the roots"):
        verify_consistency(5, 5, log40.root(5), log40.root(6), [])


# -- input validation -------------------------------------------------------------------------------------------------


def test_a_leaf_input_must_be_a_32_byte_digest_and_a_bad_batch_writes_nothing(tmp_path: Path) -> None:
    with MerkleLog.open(tmp_path) as log:
        with pytest.raises(ValueError, match="leaf input 0 of the batch is 31 bytes; a leaf input is a 32-byte"):
            log.append(b"x" * 31)
        with pytest.raises(ValueError, match="leaf input 2 of the batch is 33 bytes"):
            log.append_many([digest(0), digest(1), b"x" * 33])
        with pytest.raises(TypeError, match="leaf input 0 of the batch is a str, not bytes"):
            log.append("ab" * 16)  # type: ignore[arg-type]
        assert log.size == 0
        assert (tmp_path / "leaves.bin").stat().st_size == 0
        assert log.append_many([]) == range(0, 0)


def test_sizes_and_indexes_outside_the_log_are_refused(log40: MerkleLog) -> None:
    with pytest.raises(ValueError, match="tree size 41 is outside a log of 40 leaves"):
        log40.root(41)
    with pytest.raises(IndexError, match="leaf 12 is outside a tree of 12 leaves"):
        log40.inclusion_proof(12, 12)
    with pytest.raises(IndexError, match="leaf 40 is outside a tree of 40 leaves"):
        log40.leaf_input(40)
    with pytest.raises(ValueError, match="0 < old size ≤ new size, not 0→40"):
        log40.consistency_proof(0)
    with pytest.raises(ValueError, match="not 9→8"):
        log40.consistency_proof(9, 8)
    with pytest.raises(ValueError, match="tree size 41 is outside"):
        log40.consistency_proof(1, 41)


# -- building: one at a time or in batches, the same files --------------------------------------------------------


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("batches", [[40], [1, 39], [3, 5, 8, 24], [16, 16, 8], [7, 1, 1, 31]])
def test_batches_of_any_split_write_the_same_files_as_single_appends(
    log40: MerkleLog, tmp_path: Path, batches: list[int]
) -> None:
    with MerkleLog.open(tmp_path) as log:
        start = 0
        for count in batches:
            assert log.append_many(INPUTS[start : start + count]) == range(start, start + count)
            start += count
        assert log.check() == []
    assert folder_bytes(tmp_path) == folder_bytes(log40.folder)
    assert sorted(folder_bytes(tmp_path)) == ["leaves.bin", *[f"level-{k}.bin" for k in range(6)]]


def test_concurrent_appends_from_threads_keep_the_log_whole(tmp_path: Path) -> None:
    with MerkleLog.open(tmp_path) as log:

        def append_some(worker: int) -> None:
            for i in range(10):
                log.append(digest(1000 * worker + i))

        threads = [threading.Thread(target=append_some, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert log.size == 40
        assert log.check() == []
        assert log.root() == mth([log.leaf_input(i) for i in range(40)])


# -- persistence and repair -----------------------------------------------------------------------------------------


def build(folder: Path, count: int) -> tuple[bytes, list[bytes]]:
    with MerkleLog.open(folder) as log:
        log.append_many(INPUTS[:count])
        return log.root(), log.inclusion_proof(3)


def test_a_reopened_log_gives_the_same_roots_and_proofs_and_grows_on(log40: MerkleLog, tmp_path: Path) -> None:
    build(tmp_path, 20)
    with MerkleLog.open(tmp_path) as log:
        assert log.repairs == []
        assert log.size == 20
        assert [log.root(n) for n in range(21)] == [log40.root(n) for n in range(21)]
        assert log.inclusion_proof(7) == log40.inclusion_proof(7, 20)
        log.append_many(INPUTS[20:])
        assert log.root() == log40.root()
        assert log.consistency_proof(20) == log40.consistency_proof(20, 40)


def test_a_closed_log_refuses_work(tmp_path: Path) -> None:
    log = MerkleLog.open(tmp_path)
    log.close()
    with pytest.raises(ValueError, match="is closed"):
        log.root()
    with pytest.raises(ValueError, match="is closed"):
        log.append(digest(0))


def test_a_torn_last_leaf_record_is_cut_on_open(tmp_path: Path) -> None:
    root, _ = build(tmp_path, 13)
    with (tmp_path / "leaves.bin").open("ab") as leaves:
        leaves.write(digest(13)[:7])
    with MerkleLog.open(tmp_path) as log:
        assert log.repairs == ["leaves.bin: cut a torn record of 7 bytes"]
        assert log.size == 13
        assert log.root() == root
        assert log.check() == []
    assert (tmp_path / "leaves.bin").stat().st_size == 13 * 32


def test_a_torn_level_record_is_cut_on_open(tmp_path: Path) -> None:
    root, _ = build(tmp_path, 13)
    with (tmp_path / "level-1.bin").open("ab") as level:
        level.write(b"\xab" * 5)
    with MerkleLog.open(tmp_path) as log:
        assert log.repairs == ["level-1.bin: cut 5 bytes past 6 records"]
        assert log.root() == root
        assert log.check() == []


def test_levels_behind_the_leaves_are_completed_on_open(tmp_path: Path) -> None:
    """A crash after leaves.bin was fsynced but before the levels were."""
    root, audit_path = build(tmp_path, 24)
    for name, records in [("level-0.bin", 17), ("level-1.bin", 3)]:
        with (tmp_path / name).open("r+b") as level:
            level.truncate(records * 32)
    (tmp_path / "level-3.bin").unlink()
    (tmp_path / "level-4.bin").unlink()
    with MerkleLog.open(tmp_path) as log:
        assert log.repairs == [
            "level-0.bin: computed 7 missing records",
            "level-1.bin: computed 9 missing records",
            "level-3.bin: computed 3 missing records",
            "level-4.bin: computed 1 missing records",
        ]
        assert log.check() == []
        assert log.root() == root
        assert log.inclusion_proof(3) == audit_path


def test_levels_ahead_of_the_leaves_are_cut_and_stale_levels_removed_on_open(tmp_path: Path) -> None:
    root, _ = build(tmp_path, 9)
    build(tmp_path / "bigger", 33)
    for k in range(6):
        (tmp_path / f"level-{k}.bin").write_bytes((tmp_path / "bigger" / f"level-{k}.bin").read_bytes())
    with MerkleLog.open(tmp_path) as log:
        assert log.repairs == [
            "level-0.bin: cut 768 bytes past 9 records",
            "level-1.bin: cut 384 bytes past 4 records",
            "level-2.bin: cut 192 bytes past 2 records",
            "level-3.bin: cut 96 bytes past 1 records",
            "level-4.bin: removed, above the top of a tree of 9",
            "level-5.bin: removed, above the top of a tree of 9",
        ]
        assert log.root() == root
        assert log.check() == []


def test_a_corrupted_level_hash_is_named_by_check_and_repaired_by_rebuild(tmp_path: Path) -> None:
    root, _ = build(tmp_path, 13)
    level = tmp_path / "level-2.bin"
    data = bytearray(level.read_bytes())
    data[2 * 32 + 4] ^= 0xFF
    level.write_bytes(bytes(data))
    with MerkleLog.open(tmp_path) as log:
        assert log.repairs == []
        assert log.root() != root  # proofs are built from the stored hashes: check() is what finds it
        problems = log.check()
        assert len(problems) == 1
        assert problems[0].startswith("level-2.bin record 2 (leaves 8–11): stored ")
        assert "leaves.bin gives" in problems[0]
        log.rebuild()
        assert log.check() == []
        assert log.root() == root
    assert not list(tmp_path.glob("*.tmp"))


def test_check_names_a_corrupted_leaf_hash_by_its_leaf(tmp_path: Path) -> None:
    build(tmp_path, 5)
    level = tmp_path / "level-0.bin"
    data = bytearray(level.read_bytes())
    data[4 * 32] ^= 0x01
    level.write_bytes(bytes(data))
    with MerkleLog.open(tmp_path) as log:
        assert [p.split(":")[0] for p in log.check()] == ["level-0.bin record 4 (leaf 4)"]


# -- cost: O(log n) per proof and per root ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MerkleLog]:
    log = MerkleLog.open(tmp_path_factory.mktemp("big"))
    inputs = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(200_000)]
    for start in range(0, len(inputs), 65_536):  # batches that do not line up with the blocks
        log.append_many(inputs[start : start + 65_536])
    yield log
    log.close()


@pytest.mark.parametrize("index", [0, 1, 99_999, 131_071, 131_072, 199_998, 199_999])
def test_a_proof_in_a_log_of_200000_reads_and_hashes_only_a_logarithmic_number_of_nodes(
    big_log: MerkleLog, index: int
) -> None:
    assert big_log.size == 200_000
    root = big_log.root()
    big_log.hashes_read = big_log.nodes_hashed = 0
    audit_path = big_log.inclusion_proof(index)
    assert len(audit_path) <= 18  # ceil(log2 200000)
    assert big_log.hashes_read <= 2 * 18
    assert big_log.nodes_hashed <= 18
    verify_inclusion(big_log.leaf_hash(index), index, 200_000, audit_path, root)


def test_a_root_and_a_consistency_proof_in_a_log_of_200000_are_logarithmic(big_log: MerkleLog) -> None:
    big_log.hashes_read = big_log.nodes_hashed = 0
    old_root = big_log.root(123_457)
    assert big_log.hashes_read <= 18
    big_log.hashes_read = big_log.nodes_hashed = 0
    consistency = big_log.consistency_proof(123_457)
    assert len(consistency) <= 19
    assert big_log.hashes_read <= 2 * 19
    verify_consistency(123_457, 200_000, old_root, big_log.root(), consistency)


def test_a_read_only_log_counts_only_the_leaves_every_level_covers_and_refreshes_as_they_are_written(
    tmp_path: Path,
) -> None:
    writer = MerkleLog.open(tmp_path)
    writer.append_many(INPUTS[:5])
    root5 = writer.root()
    writer.close()
    # An append of a sixth leaf killed half-way: leaves.bin and level-0 written, level-1 not yet.
    with (tmp_path / "leaves.bin").open("ab") as leaves:
        leaves.write(INPUTS[5])
    with (tmp_path / "level-0.bin").open("ab") as level0:
        level0.write(leaf_hash(INPUTS[5]))

    reader = MerkleLog.open(tmp_path, read_only=True)

    assert (reader.size, reader.unindexed) == (5, 1)
    assert reader.root() == root5
    assert reader.check() == []
    assert reader.find(INPUTS[5]) is None
    with (tmp_path / "level-1.bin").open("ab") as level1:  # the append goes on
        level1.write(node_hash(leaf_hash(INPUTS[4]), leaf_hash(INPUTS[5])))
    assert reader.refresh() == 6
    assert reader.find(INPUTS[5]) == 5
    assert reader.root() == root_from_leaves([leaf_hash(value) for value in INPUTS[:6]])
    reader.close()
