"""An append-only Merkle log (RFC 9162 §2.1): tree heads, inclusion proofs and consistency proofs.

The tree is the RFC's, over SHA-256::

    leaf hash   = SHA-256(0x00 ‖ leaf input)
    node hash   = SHA-256(0x01 ‖ left ‖ right)
    MTH({})     = SHA-256("")
    MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two smaller than n

Here a leaf input is always the 32-byte SHA-256 digest of a package manifest. The pure functions
(``leaf_hash``, ``node_hash``, ``root_from_leaves``, ``verify_inclusion``, ``verify_consistency``) need no log:
a verifier holding a tree head and a proof runs them alone. ``ProofError`` names what failed.

``MerkleLog`` keeps the log in a folder::

    FOLDER/leaves.bin     the leaf inputs, 32 bytes each, in order (the source of truth)
    FOLDER/level-K.bin    the hash of every complete, aligned block of 2**K leaves, 32 bytes each, in order:
                          level-0.bin holds the leaf hashes, level-K.bin has (size >> K) records

Every range the RFC's recursion visits starts at a multiple of a power of two at least as large as the range, so
it is either one stored block or a left-to-right run of O(log n) stored blocks; a root of any size, and each hash
of a proof, therefore costs O(log n) reads and hashes, never a pass over the leaves. The level files are derived
data: ``open`` truncates any file to whole records (a torn write), completes a level file that is short of the
leaf count from the level below and cuts back one that is long; ``check`` recomputes every level from
``leaves.bin`` and names each stored hash that disagrees; ``rebuild`` rewrites them all.

Files are only appended to; a batch is written to ``leaves.bin`` and fsynced before the levels, so a crash loses
at most the batch in flight and leaves nothing that ``open`` cannot repair. A lock makes one ``MerkleLog`` safe to
share between threads; one process writes a given folder, and since ``open`` repairs the files it finds, a folder
is not opened for writing while another process is writing to it.

A log opened ``read_only`` (a verifier beside the writer, or one killed mid-append) counts only the leaves that
every level file already covers: an append in flight, or one a killed writer left half done, is not part of its
tree (``unindexed`` says how many leaves wait so), and is never taken for damage. ``refresh`` takes in what the
writer has appended since.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from evidence_store.durable import fsync_folder

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_LEAVES_FILE = "leaves.bin"
_MAX_REPORTED_PER_LEVEL = 20


class ProofError(ValueError):
    """A proof that does not verify, or cannot be checked: names the proof and what failed."""


def leaf_hash(data: bytes) -> bytes:
    """The RFC's leaf hash: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC's interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves, straight from the definition: O(n), the reference for everything else."""

    def mth(start: int, end: int) -> bytes:
        if end - start == 1:
            return leaf_hashes[start]
        k = _split(end - start)
        return node_hash(mth(start, start + k), mth(start + k, end))

    return mth(0, len(leaf_hashes)) if leaf_hashes else EMPTY_ROOT


def inclusion_path_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges [start, end) whose MTH make up PATH(index, D[tree_size]), in the proof's order (§2.1.3.1)."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_proof_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges [start, end) whose MTH make up PROOF(old_size, D[new_size]), in order (§2.1.4.1).

    ``old_size == new_size`` gives the empty proof; ``old_size`` 0 or above ``new_size`` is refused.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"a consistency proof needs 0 < old size ≤ new size, not {old_size}→{new_size}")
    ranges: list[tuple[int, int]] = []
    start, end, whole_old_tree = 0, new_size, True
    # SUBPROOF(m, D[start:end], b): the old tree always ends at old_size, so only start and end move.
    while end != old_size:
        k = _split(end - start)
        if old_size - start <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((start, end))
    return ranges[::-1]


def root_from_inclusion(leaf: bytes, index: int, tree_size: int, audit_path: Sequence[bytes]) -> bytes:
    """The root that an audit path leads to from ``leaf`` (a leaf hash), by §2.1.3.2; ProofError if malformed."""
    what = f"inclusion proof for leaf {index} of {tree_size}"
    if tree_size < 1:
        raise ProofError(f"{what}: an empty tree includes no leaf")
    if not 0 <= index < tree_size:
        raise ProofError(f"{what}: the index is outside the tree")
    _check_hash(leaf, f"{what}: the leaf hash")
    for position, value in enumerate(audit_path):
        _check_hash(value, f"{what}: path hash {position}")
    needed = len(inclusion_path_ranges(index, tree_size))
    if len(audit_path) != needed:
        raise ProofError(f"{what}: path has {len(audit_path)} hashes, a tree of {tree_size} needs {needed}")
    fn, sn, r = index, tree_size - 1, leaf
    for position, p in enumerate(audit_path):
        if sn == 0:
            raise ProofError(f"{what}: path hash {position} is past the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"{what}: the path ends below the root")
    return r


def verify_inclusion(leaf: bytes, index: int, tree_size: int, audit_path: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``tree_size`` whose head is ``root``.

    RFC 9162 §2.1.3.2; raises ProofError naming what failed, returns nothing when the proof holds.
    """
    what = f"inclusion proof for leaf {index} of {tree_size}"
    _check_hash(root, f"{what}: the tree head's root")
    computed = root_from_inclusion(leaf, index, tree_size, audit_path)
    if computed != root:
        raise ProofError(f"{what}: computed root {_short(computed)} does not match the tree head's {_short(root)}")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of ``new_size`` with head ``new_root`` extends the one of ``old_size`` with ``old_root``.

    RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; an old size of 0 is refused (every tree
    extends the empty one, there is nothing to prove). Raises ProofError naming what failed.
    """
    what = f"consistency proof {old_size}→{new_size}"
    if old_size < 1:
        raise ProofError(f"{what}: the old size must be at least 1")
    if old_size > new_size:
        raise ProofError(f"{what}: the old tree is larger than the new one")
    _check_hash(old_root, f"{what}: the old root")
    _check_hash(new_root, f"{what}: the new root")
    for position, value in enumerate(proof):
        _check_hash(value, f"{what}: proof hash {position}")
    needed = len(consistency_proof_ranges(old_size, new_size))
    if len(proof) != needed:
        raise ProofError(f"{what}: proof has {len(proof)} hashes, {old_size}→{new_size} needs {needed}")
    if old_size == new_size:
        if old_root != new_root:
            raise ProofError(f"{what}: equal sizes but the roots {_short(old_root)} and {_short(new_root)} differ")
        return
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for position, c in enumerate(path[1:], start=1):
        if sn == 0:
            raise ProofError(f"{what}: proof hash {position} is past the new root")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"{what}: the proof ends below the new root")
    if fr != old_root:
        raise ProofError(f"{what}: old root does not match (computed {_short(fr)}, tree head's {_short(old_root)})")
    if sr != new_root:
        raise ProofError(f"{what}: new root does not match (computed {_short(sr)}, tree head's {_short(new_root)})")


class MerkleLog:
    """An append-only Merkle log in a folder; see the module docstring for the files.

    Open with ``MerkleLog.open(folder)`` (creates the folder when missing) and close it, or use it as a context
    manager. ``hashes_read`` and ``nodes_hashed`` count the stored hashes read and the node hashes computed while
    answering roots and proofs, so that their O(log n) cost can be observed.
    """

    def __init__(self, folder: Path, leaves_fd: int, read_only: bool = False) -> None:
        self.folder = folder
        self.read_only = read_only
        self._leaves_fd = leaves_fd
        self._level_fds: dict[int, int] = {}
        self._lock = threading.RLock()
        self._size = os.fstat(leaves_fd).st_size // HASH_SIZE
        self._index: dict[bytes, int] | None = None
        self._indexed = 0  # leaves taken into _index
        self.repairs: list[str] = []
        self.hashes_read = 0
        self.nodes_hashed = 0

    @classmethod
    def open(cls, folder: Path | str, read_only: bool = False) -> MerkleLog:
        """Open (or create) the log in ``folder``, repairing torn records and out-of-step level files.

        ``read_only`` (a verifier beside the process that appends): nothing is created, repaired or written; a
        torn last record is simply not counted."""
        folder = Path(folder)
        if read_only:
            leaves = folder / _LEAVES_FILE
            if not leaves.exists():
                raise FileNotFoundError(f"no Merkle log in {folder}")
            ro = cls(folder, os.open(leaves, os.O_RDONLY), read_only=True)
            ro.refresh()
            return ro
        folder.mkdir(parents=True, exist_ok=True)
        leaves_path = folder / _LEAVES_FILE
        created = not leaves_path.exists()
        fd = os.open(leaves_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        if created:
            fsync_folder(folder)
        log = cls(folder, fd)
        try:
            log._recover()
        except BaseException:
            log.close()
            raise
        return log

    def close(self) -> None:
        with self._lock:
            for fd in self._level_fds.values():
                os.close(fd)
            self._level_fds.clear()
            if self._leaves_fd >= 0:
                os.close(self._leaves_fd)
                self._leaves_fd = -1

    def __enter__(self) -> MerkleLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def size(self) -> int:
        with self._lock:
            return self._size

    @property
    def unindexed(self) -> int:
        """Leaves a read-only log does not count yet: written to ``leaves.bin`` by an append that has not (or, its
        writer killed, never) finished writing the levels. Always 0 for the writer, whose ``open`` repairs."""
        with self._lock:
            self._check_open()
            return os.fstat(self._leaves_fd).st_size // HASH_SIZE - self._size

    def refresh(self) -> int:
        """A read-only log: take in the leaves the writer has appended since, as far as every level covers them.
        Returns the size."""
        with self._lock:
            self._check_open()
            if self.read_only:
                self._size = self._complete_size()
                if self._indexed > self._size:  # cut back (only damage does that): index again
                    self._index, self._indexed = None, 0
            return self._size

    def append(self, leaf_input: bytes) -> int:
        """Append one leaf input (a 32-byte digest); returns its index."""
        return self.append_many([leaf_input]).start

    def append_many(self, leaf_inputs: Iterable[bytes]) -> range:
        """Append a batch of leaf inputs with one write and one fsync per file; returns their indexes.

        Each level gains the blocks the batch completes; a block's left half may be a hash already stored.
        """
        if self.read_only:
            raise PermissionError(f"the log in {self.folder} was opened read-only")
        batch = list(leaf_inputs)
        for position, value in enumerate(batch):
            _check_leaf_input(value, f"leaf input {position} of the batch")
        with self._lock:
            self._check_open()
            old, new = self._size, self._size + len(batch)
            if not batch:
                return range(old, old)
            leaves = b"".join(batch)
            levels = [_hash_leaves(leaves)]
            below, below_start = levels[0], old
            level = 1
            while (new >> level) > (old >> level):
                first = old >> level
                if 2 * first < below_start:  # the left half was completed by an earlier append
                    below = self._read_hash(level - 1, 2 * first) + below
                count = (new >> level) - first
                below, below_start = _hash_nodes(below[: 2 * HASH_SIZE * count]), first
                levels.append(below)
                level += 1
            try:
                _append_fsync(self._leaves_fd, leaves)
                for level, data in enumerate(levels):
                    _append_fsync(self._level_fd(level), data)
            except BaseException:
                self.close()  # the files may be part-written: reopening repairs them
                raise
            self._size = new
            if self._index is not None and self._indexed == old:
                for offset, value in enumerate(batch):
                    self._index.setdefault(bytes(value), old + offset)
                self._indexed = new
            return range(old, new)

    def leaf_input(self, index: int) -> bytes:
        with self._lock:
            self._check_index(index, self._size)
            return _pread_exact(self._leaves_fd, HASH_SIZE, index * HASH_SIZE, f"{_LEAVES_FILE} record {index}")

    def leaf_hash(self, index: int) -> bytes:
        with self._lock:
            self._check_index(index, self._size)
            return self._read_hash(0, index)

    def find(self, leaf_input: bytes) -> int | None:
        """The index of the first leaf with this input, or None (the index is built on the first call)."""
        with self._lock:
            if self._index is None:
                self._index, self._indexed = {}, 0
            if self._indexed < self._size:  # built on the first call, extended as the log grows
                start = self._indexed
                data = _pread_exact(self._leaves_fd, (self._size - start) * HASH_SIZE, start * HASH_SIZE, _LEAVES_FILE)
                for offset in range(self._size - start):
                    self._index.setdefault(_record(data, offset), start + offset)
                self._indexed = self._size
            index = self._index.get(bytes(leaf_input))
            return index if index is not None and index < self._size else None

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them), from O(log n) stored hashes."""
        with self._lock:
            size = self._size_or_current(size)
            return self._mth(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) (RFC 9162 §2.1.3.1); at most ceil(log2 size) hashes."""
        with self._lock:
            size = self._size_or_current(size)
            self._check_index(index, size)
            return [self._mth(start, end) for start, end in inclusion_path_ranges(index, size)]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1); empty when the sizes are equal, old size 0 refused."""
        with self._lock:
            new_size = self._size_or_current(new_size)
            return [self._mth(start, end) for start, end in consistency_proof_ranges(old_size, new_size)]

    def check(self) -> list[str]:
        """Recompute every level from ``leaves.bin``; one line per stored hash (or file) that disagrees."""
        with self._lock:
            self._check_open()
            problems: list[str] = []
            computed = _hash_leaves(self._read_all(self._leaves_fd, self._size * HASH_SIZE))
            level = 0
            while len(computed):
                problems += self._compare_level(level, computed)
                computed = _hash_nodes(computed[: len(computed) // (2 * HASH_SIZE) * 2 * HASH_SIZE])
                level += 1
            if not self.read_only:  # a writer beside a read-only log may be starting a level file right now
                for number, path in _level_files(self.folder):
                    if number >= level:
                        problems.append(f"{path.name}: a level above the top of a tree of {self._size}")
            return problems

    def rebuild(self) -> None:
        """Rewrite every level file from ``leaves.bin`` (after ``check`` found a bad hash); atomic per file."""
        with self._lock:
            self._check_open()
            for fd in self._level_fds.values():
                os.close(fd)
            self._level_fds.clear()
            computed = _hash_leaves(self._read_all(self._leaves_fd, self._size * HASH_SIZE))
            level = 0
            while len(computed):
                _replace_file(self._level_path(level), computed)
                computed = _hash_nodes(computed[: len(computed) // (2 * HASH_SIZE) * 2 * HASH_SIZE])
                level += 1
            self._remove_levels_from(level)
            fsync_folder(self.folder)

    # -- internals ---------------------------------------------------------------------------------------------

    def _mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range of the RFC's recursion: its binary decomposition into stored blocks."""
        blocks: list[bytes] = []
        while start < end:
            level = (end - start).bit_length() - 1
            if start % (1 << level):
                raise AssertionError(f"range [{start}, {end}) is not one the RFC's recursion visits")
            blocks.append(self._read_hash(level, start >> level))
            start += 1 << level
        result = blocks.pop()
        while blocks:
            result = node_hash(blocks.pop(), result)
            self.nodes_hashed += 1
        return result

    def _read_hash(self, level: int, index: int) -> bytes:
        self.hashes_read += 1
        where = f"level-{level}.bin record {index}"
        return _pread_exact(self._level_fd(level), HASH_SIZE, index * HASH_SIZE, where)

    def _read_all(self, fd: int, length: int) -> bytes:
        return _pread_exact(fd, length, 0, f"{length} bytes of {self.folder}")

    def _level_path(self, level: int) -> Path:
        return self.folder / f"level-{level}.bin"

    def _level_fd(self, level: int) -> int:
        fd = self._level_fds.get(level)
        if fd is None:
            path = self._level_path(level)
            if self.read_only:
                fd = os.open(path, os.O_RDONLY)
                self._level_fds[level] = fd
                return fd
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            if created:
                fsync_folder(self.folder)
            self._level_fds[level] = fd
        return fd

    def _complete_size(self) -> int:
        """The most leaves that ``leaves.bin`` and every level file hold whole: level K needs size >> K records."""
        size = os.fstat(self._leaves_fd).st_size // HASH_SIZE
        level = 0
        while size >> level:
            try:
                records = os.fstat(self._level_fd(level)).st_size // HASH_SIZE
            except FileNotFoundError:  # a level the writer has not begun yet
                records = 0
            size = min(size, ((records + 1) << level) - 1)
            level += 1
        return size

    def _recover(self) -> None:
        """Cut torn records, then bring every level file in step with the leaf count."""
        length = os.fstat(self._leaves_fd).st_size
        if length % HASH_SIZE:
            self.repairs.append(f"{_LEAVES_FILE}: cut a torn record of {length % HASH_SIZE} bytes")
            os.ftruncate(self._leaves_fd, length - length % HASH_SIZE)
            os.fsync(self._leaves_fd)
        self._size = length // HASH_SIZE
        level = 0
        while self._size >> level:
            self._recover_level(level)
            level += 1
        self._remove_levels_from(level)

    def _recover_level(self, level: int) -> None:
        expected = self._size >> level
        fd = self._level_fd(level)
        length = os.fstat(fd).st_size
        name = self._level_path(level).name
        if length != expected * HASH_SIZE:
            kept = min(length // HASH_SIZE, expected)
            if length > kept * HASH_SIZE:
                self.repairs.append(f"{name}: cut {length - kept * HASH_SIZE} bytes past {kept} records")
                os.ftruncate(fd, kept * HASH_SIZE)
            if kept < expected:
                self.repairs.append(f"{name}: computed {expected - kept} missing records")
                if level == 0:
                    source = _pread_exact(
                        self._leaves_fd, (expected - kept) * HASH_SIZE, kept * HASH_SIZE, _LEAVES_FILE
                    )
                    missing = _hash_leaves(source)
                else:
                    source = _pread_exact(
                        self._level_fd(level - 1),
                        (expected - kept) * 2 * HASH_SIZE,
                        kept * 2 * HASH_SIZE,
                        f"level-{level - 1}.bin",
                    )
                    missing = _hash_nodes(source)
                _append_fsync(fd, missing)
            else:
                os.fsync(fd)

    def _remove_levels_from(self, top: int) -> None:
        for level, path in _level_files(self.folder):
            if level >= top:
                fd = self._level_fds.pop(level, None)
                if fd is not None:
                    os.close(fd)
                self.repairs.append(f"{path.name}: removed, above the top of a tree of {self._size}")
                path.unlink()

    def _compare_level(self, level: int, computed: bytes) -> list[str]:
        name = self._level_path(level).name
        stored_length = os.fstat(self._level_fd(level)).st_size
        stored = _pread_exact(self._level_fd(level), min(stored_length, len(computed)), 0, name)
        problems: list[str] = []
        if self.read_only:  # records past the counted size belong to an append in flight (or a killed one)
            stored_length = min(stored_length, len(computed))
        if stored_length != len(computed):
            problems.append(
                f"{name}: {stored_length} bytes, a tree of {self._size} needs {len(computed) // HASH_SIZE} records"
            )
        if stored == computed[: len(stored)]:
            return problems
        bad = [index for index in range(len(stored) // HASH_SIZE) if _record(stored, index) != _record(computed, index)]
        for index in bad[:_MAX_REPORTED_PER_LEVEL]:
            first, last = index << level, ((index + 1) << level) - 1
            leaves = f"leaf {first}" if level == 0 else f"leaves {first}–{last}"
            problems.append(
                f"{name} record {index} ({leaves}): stored {_short(_record(stored, index))}, "
                f"leaves.bin gives {_short(_record(computed, index))}"
            )
        if len(bad) > _MAX_REPORTED_PER_LEVEL:
            problems.append(f"{name}: and {len(bad) - _MAX_REPORTED_PER_LEVEL} more records that disagree")
        return problems

    def _size_or_current(self, size: int | None) -> int:
        self._check_open()
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} is outside a log of {self._size} leaves")
        return size

    def _check_index(self, index: int, size: int) -> None:
        self._check_open()
        if not 0 <= index < size:
            raise IndexError(f"leaf {index} is outside a tree of {size} leaves")

    def _check_open(self) -> None:
        if self._leaves_fd < 0:
            raise ValueError(f"Merkle log {self.folder} is closed")


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _hash_leaves(inputs: bytes) -> bytes:
    sha256, prefix = hashlib.sha256, _LEAF_PREFIX
    return b"".join([sha256(prefix + inputs[i : i + HASH_SIZE]).digest() for i in range(0, len(inputs), HASH_SIZE)])


def _hash_nodes(children: bytes) -> bytes:
    """Hash consecutive pairs of 32-byte hashes (``children`` holds an even number of them)."""
    sha256, prefix, pair = hashlib.sha256, _NODE_PREFIX, 2 * HASH_SIZE
    return b"".join([sha256(prefix + children[i : i + pair]).digest() for i in range(0, len(children), pair)])


def _check_leaf_input(value: object, what: str) -> None:
    if not isinstance(value, bytes | bytearray):
        raise TypeError(f"{what} is a {type(value).__name__}, not bytes")
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} is {len(value)} bytes; a leaf input is a 32-byte SHA-256 digest")


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        size = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else f"a {type(value).__name__}"
        raise ProofError(f"{what} is {size}, not a 32-byte SHA-256 hash")


def _record(data: bytes, index: int) -> bytes:
    return data[index * HASH_SIZE : (index + 1) * HASH_SIZE]


def _short(value: bytes) -> str:
    return value.hex()[:12] + "…"


def _level_files(folder: Path) -> list[tuple[int, Path]]:
    """The level files present in ``folder``, lowest level first."""
    found = []
    for path in folder.glob("level-*.bin"):
        number = path.name.removeprefix("level-").removesuffix(".bin")
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


def _pread_exact(fd: int, length: int, offset: int, what: str) -> bytes:
    parts: list[bytes] = []
    done = 0
    while done < length:
        part = os.pread(fd, length - done, offset + done)
        if not part:
            raise OSError(f"{what}: the file ends {length - done} bytes short")
        parts.append(part)
        done += len(part)
    return b"".join(parts)


def _append_fsync(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def _replace_file(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _append_fsync(fd, data)
    finally:
        os.close(fd)
    os.replace(temporary, path)
