"""The index on disk: restarts without rebuilding, reloads that re-read only the changed files.

``INDEX_CACHE_DIR/<corpus folder + settings>/`` holds:

- ``entry.json``: the corpus folder and settings this entry is for (so stale entries can go);
- ``current.json``: which generation is the current one;
- ``gen-*/``: one complete index as plain files, no pickles: ``.npy`` arrays (``np.save`` /
  ``np.load(allow_pickle=False)``), the passage texts as one UTF-8 ``texts.bin``, the file
  names and the vocabulary as JSON, and ``manifest.json`` with the format version, the
  settings, and the size and CRC-32 of every file.

A generation is written into a temporary folder that is renamed into place, then
``current.json`` is replaced (temporary file + ``os.replace``), so a reader sees a whole
generation or none. Loading checks the format version, the settings, every file's size and
checksum and the arrays' shapes; anything off (a truncated or corrupted file, an older
format) counts as no cache, and the index is rebuilt.

File stats (``stats.npy``) are only hints for "this file did not change" (a mismatch means the
file is hashed again), so they may be refreshed in place and are not checksummed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import mmap
import os
import shutil
import time
import uuid
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one process per cache folder there
    fcntl = None  # type: ignore[assignment]

import numpy as np

from .postings import ForwardIndex, Postings
from .segments import Segment

log = logging.getLogger(__name__)

# Bump when the layout or the meaning of any stored array changes.
FORMAT_VERSION = 1
_CHECK_BLOCK = 1 << 23
# A temporary folder younger than this may be another process writing; older ones are leftovers
# of a crash.
_STALE_SECONDS = 3600.0
_MAX_ENTRIES = 16


@dataclass(frozen=True)
class CacheKey:
    """Everything besides the files' contents that decides the index."""

    passage_tokens: int
    k1: float
    b: float
    analyzer: str
    passages: int  # the cleaning and chunking rules' version (passages.PASSAGES_VERSION)
    format: int = FORMAT_VERSION

    def digest(self) -> str:
        return hashlib.blake2b(json.dumps(asdict(self), sort_keys=True).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class StoredIndex:
    segment: Segment
    postings: Postings
    generation: Path


class CacheError(Exception):
    """A stored generation cannot be used (missing, corrupted, other format or settings)."""


_SEGMENT_ARRAYS = ("digests", "file_passages", "text_offsets", "lines")
_FORWARD_ARRAYS = ("term_offsets", "term_ids", "term_freqs", "lengths")
_POSTINGS_ARRAYS = {"postings_offsets": "offsets", "postings_docs": "doc_ids", "postings_weights": "weights", "max_weights": "max_weights"}


class IndexCache:
    def __init__(self, directory: Path, corpus_root: Path, key: CacheKey) -> None:
        self.directory = Path(directory)
        self.root = os.path.realpath(corpus_root)
        self.key = key
        folder = hashlib.blake2b(self.root.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
        self.entry = self.directory / f"{folder}-{key.digest()}"

    # ------------------------------------------------------------------ reading
    def has_stored(self) -> bool:
        """Whether there is a stored index to load (it may still turn out unusable)."""
        return (self.entry / "current.json").exists()

    def load(self) -> StoredIndex | None:
        """The current generation, checked; None (and a log line saying why) if unusable."""
        pointer = self.entry / "current.json"
        if not pointer.exists():
            return None
        try:
            generation = self.entry / json.loads(pointer.read_text(encoding="utf-8"))["generation"]
            return read_generation(generation, self.key)
        except Exception as error:  # noqa: BLE001 - whatever is wrong with a cache, rebuild
            log.warning("Ignoring the index cache in %s (%s: %s); rebuilding", self.entry, type(error).__name__, error)
            return None

    # ------------------------------------------------------------------ writing
    def save(self, segment: Segment, postings: Postings) -> StoredIndex:
        """Write a new generation and make it current."""
        self.entry.mkdir(parents=True, exist_ok=True)
        name = f"gen-{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        temporary = self.entry / (name + ".tmp")
        temporary.mkdir()
        try:
            write_generation(temporary, segment, postings, self.key, self.root)
            os.replace(temporary, self.entry / name)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        entry = json.dumps({"root": self.root, "key": asdict(self.key)}).encode()
        _write_atomically(self.entry / "entry.json", lambda file: file.write(entry))
        with _locked(self.entry / ".lock"):
            current = self._current_name()
            if current is None or _generation_time(name) >= _generation_time(current):
                pointer = json.dumps({"generation": name}).encode()
                _write_atomically(self.entry / "current.json", lambda file: file.write(pointer))
                current = name
            self._remove_older_than(current)
        prune_entries(self.directory, keep=self.entry)
        return StoredIndex(segment, postings, self.entry / name)

    def update_stats(self, stored: StoredIndex, stats: np.ndarray) -> StoredIndex:
        """Record fresh file stats for an unchanged index (the contents were hashed and match).
        They are only hints, so failing to write them (the generation was replaced by another
        process meanwhile, a read-only disk) costs a re-hash next time, never the build."""
        try:
            _write_atomically(stored.generation / "stats.npy", lambda file: np.save(file, stats, allow_pickle=False))
        except OSError as error:
            log.info("Could not refresh the file stats in %s: %s", stored.generation, error)
        return StoredIndex(stored.segment.with_stats(stats), stored.postings, stored.generation)

    def _current_name(self) -> str | None:
        try:
            return str(json.loads((self.entry / "current.json").read_text(encoding="utf-8"))["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _remove_older_than(self, current: str) -> None:
        """Generations older than the current one go (a process still serving one has it in
        memory, not on disk). Two processes sharing the cache (shards) may save at the same
        time: the newest generation wins, under a lock, and a newer one that is not current yet
        is left alone, so neither deletes the generation the other is about to point to."""
        now = time.time()
        newest = _generation_time(current)
        for path in self.entry.iterdir():
            if not path.name.startswith("gen-") or path.name == current:
                continue
            try:
                if path.name.endswith(".tmp") and now - path.stat().st_mtime < _STALE_SECONDS:
                    continue  # another process may be writing it
            except OSError:
                continue  # gone already
            if not path.name.endswith(".tmp") and _generation_time(path.name) > newest:
                continue
            shutil.rmtree(path, ignore_errors=True)


def _generation_time(name: str) -> int:
    """When a generation was started (its name is ``gen-<time_ns>-<pid>-<random>``)."""
    try:
        return int(name.split("-")[1])
    except (IndexError, ValueError):
        return 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (none where ``fcntl`` does not exist)."""
    if fcntl is None:
        yield
        return
    with open(path, "a+b") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def prune_entries(directory: Path, keep: Path) -> None:
    """Drop entries whose corpus folder is gone, and all but the newest ``_MAX_ENTRIES``."""
    entries = []
    for path in directory.iterdir():
        if path == keep or not path.is_dir():
            continue
        try:
            root = json.loads((path / "entry.json").read_text(encoding="utf-8"))["root"]
            used = (path / "current.json").stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or being written
        if not os.path.isdir(root):
            shutil.rmtree(path, ignore_errors=True)
        else:
            entries.append((used, path))
    for _, path in sorted(entries, reverse=True)[_MAX_ENTRIES - 1 :]:
        shutil.rmtree(path, ignore_errors=True)


def write_generation(folder: Path, segment: Segment, postings: Postings, key: CacheKey, root: str) -> None:
    files: dict[str, dict[str, int]] = {}

    def record(name: str, writer) -> None:
        with open(folder / name, "wb") as raw:
            sink = _ChecksumWriter(raw)
            writer(sink)
            files[name] = {"bytes": sink.size, "crc32": sink.crc}

    record("sources.json", lambda f: f.write(json.dumps(segment.sources).encode()))
    record("vocabulary.json", lambda f: f.write(json.dumps(list(segment.forward.vocabulary)).encode()))
    record("texts.bin", lambda f: f.write(segment.texts if isinstance(segment.texts, bytes) else memoryview(np.ascontiguousarray(segment.texts))))
    for name in _SEGMENT_ARRAYS:
        record(f"{name}.npy", lambda f, name=name: np.save(f, getattr(segment, name), allow_pickle=False))
    for name in _FORWARD_ARRAYS:
        record(f"{name}.npy", lambda f, name=name: np.save(f, getattr(segment.forward, name), allow_pickle=False))
    for name, attribute in _POSTINGS_ARRAYS.items():
        record(f"{name}.npy", lambda f, attribute=attribute: np.save(f, getattr(postings, attribute), allow_pickle=False))
    np.save(folder / "stats.npy", segment.stats, allow_pickle=False)
    manifest = {
        "format": FORMAT_VERSION,
        "key": asdict(key),
        "root": root,
        "created": time.time(),
        "files": files,
        "counts": {"files": segment.file_count, "passages": segment.passage_count, "terms": len(segment.forward.vocabulary)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def read_generation(folder: Path, key: CacheKey) -> StoredIndex:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise CacheError(f"format {manifest.get('format')}, this version reads {FORMAT_VERSION}")
    if manifest.get("key") != asdict(key):
        raise CacheError("built with other settings")
    files = manifest["files"]
    sources = json.loads(_read_checked(folder, "sources.json", files).tobytes())
    vocabulary = json.loads(_read_checked(folder, "vocabulary.json", files).tobytes())
    if not isinstance(sources, list) or not isinstance(vocabulary, list):
        raise CacheError("file names or vocabulary are not lists")
    texts = _read_checked(folder, "texts.bin", files)
    arrays = {
        name: _array(_read_checked(folder, f"{name}.npy", files), name)
        for name in (*_SEGMENT_ARRAYS, *_FORWARD_ARRAYS, *_POSTINGS_ARRAYS)
    }
    stats = np.load(folder / "stats.npy", allow_pickle=False)
    forward = ForwardIndex(vocabulary, *(arrays[name] for name in _FORWARD_ARRAYS))
    segment = Segment(sources, arrays["digests"], stats, arrays["file_passages"], texts, arrays["text_offsets"], arrays["lines"], forward)
    postings = Postings(
        vocabulary,
        arrays["postings_offsets"],
        arrays["postings_docs"],
        arrays["postings_weights"],
        arrays["lengths"],
        key.k1,
        key.b,
        max_weights=arrays["max_weights"],
    )
    _check_shapes(segment, postings, texts.shape[0])
    return StoredIndex(segment, postings, folder)


def _read_checked(folder: Path, name: str, files: dict[str, dict[str, int]]) -> np.ndarray:
    """The whole file in memory (one read), after checking its size and CRC-32.

    Read rather than memory-mapped: a mapped file that something else truncates kills the
    process with SIGBUS on the next access, and "a damaged cache is rebuilt, never a crash"
    matters more than the memory (about 1 GB at a million passages).
    """
    expected = files[name]
    path = folder / name
    with open(path, "rb", buffering=0) as file:
        size = os.fstat(file.fileno()).st_size
        if size != expected["bytes"]:
            raise CacheError(f"{name} is {size} bytes, expected {expected['bytes']}")
        data = _buffer(size)
        view = memoryview(data)
        done = 0
        while done < size:
            read = file.readinto(view[done : done + _CHECK_BLOCK])
            if not read:
                raise CacheError(f"{name} ended early")
            done += read
    checksum = 0
    for start in range(0, size, _CHECK_BLOCK):
        checksum = zlib.crc32(view[start : start + _CHECK_BLOCK], checksum)
    if checksum != expected["crc32"]:
        raise CacheError(f"{name} does not match its checksum")
    return data


def _buffer(size: int) -> np.ndarray:
    """Writable memory for a file's bytes. Large buffers are mapped with MAP_POPULATE: the
    kernel hands over all pages at once instead of faulting them in one by one during the
    read, which makes loading a million-passage index 3x faster."""
    populate = getattr(mmap, "MAP_POPULATE", None)
    if populate is None or size < _POPULATE_BYTES:
        return np.empty(size, dtype=np.uint8)
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(memory, dtype=np.uint8)


_POPULATE_BYTES = 1 << 20


def _array(data: np.ndarray, name: str) -> np.ndarray:
    """An .npy file's array, as a view of its bytes (no copy, no pickles)."""
    header = io.BytesIO(data[: min(data.shape[0], 1 << 16)].tobytes())
    version = np.lib.format.read_magic(header)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(header)
    if fortran_order or dtype.hasobject:
        raise CacheError(f"{name}.npy is not a plain array")
    count = int(np.prod(shape, dtype=np.int64))
    start = header.tell()
    if start + count * dtype.itemsize != data.shape[0]:
        raise CacheError(f"{name}.npy has {data.shape[0] - start} bytes of data for shape {shape}")
    return data[start:].view(dtype).reshape(shape)


def _check_shapes(segment: Segment, postings: Postings, texts_size: int) -> None:
    files, passages = segment.file_count, segment.passage_count
    forward = segment.forward
    expectations = {
        "digests": segment.digests.shape == (files, 16),
        "stats": segment.stats.shape == (files, 4),
        "file_passages": segment.file_passages.shape == (files + 1,) and int(segment.file_passages[-1]) == passages,
        "lines": segment.lines.shape == (passages, 2),
        "text_offsets": segment.text_offsets.shape == (passages + 1,) and int(segment.text_offsets[-1]) == texts_size,
        "term_offsets": forward.term_offsets.shape == (passages + 1,) and int(forward.term_offsets[-1]) == forward.term_ids.shape[0],
        "term_freqs": forward.term_freqs.shape == forward.term_ids.shape,
        "lengths": forward.lengths.shape == (passages,),
        "postings_offsets": postings.offsets.shape == (len(forward.vocabulary) + 1,)
        and int(postings.offsets[-1]) == postings.doc_ids.shape[0] == postings.weights.shape[0] == forward.term_ids.shape[0],
        "max_weights": postings.max_weights.shape == (len(forward.vocabulary),),
    }
    wrong = [name for name, ok in expectations.items() if not ok]
    if wrong:
        raise CacheError(f"inconsistent arrays: {', '.join(wrong)}")


class _ChecksumWriter:
    """A write-only file that keeps the CRC-32 and size of what passes through."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.crc = 0
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data) if isinstance(data, bytes) else data.nbytes
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through ``write(file)`` into a temporary file renamed into place, so a
    reader sees the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temporary, "wb") as file:
            write(file)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
